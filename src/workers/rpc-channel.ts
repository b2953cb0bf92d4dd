/**
 * A child worker's conversation: pi's RPC commands written to its stdin (`prompt`, `steer`, `follow_up`, `abort`),
 * each settled by the `response` pi writes back on stdout with the same id (pi's docs/rpc.md); and the calls of
 * pi-crew's tools the worker makes the other way, as dialogs (crew-tools.ts), answered by the run.
 */
import type { Writable } from "node:stream";
import { CREW_REQUEST, type CrewReply, parseRequest } from "./crew-tools.js";
import type { WorkerChannel, WorkerRequest } from "./runtime.js";

interface Pending {
	resolve: (data: unknown) => void;
	reject: (err: Error) => void;
}

/** The records of pi's RPC stdout that are protocol, not session events: kept out of the transcript. */
const PROTOCOL = /^\s*\{[^{]*"type"\s*:\s*"(?:response|extension_ui_request)"/;

/** Dialogs an extension may open; nobody sits at a worker, so each is dismissed as pi's JSON mode would. */
const DIALOGS = new Set(["select", "confirm", "input", "editor"]);

/**
 * Crew requests of one worker open at once. Its crew tools run alone in their turn (crew-tools.ts), so a worker
 * whose calls come from its tools never has two: more are lines it forged (its bash can write to pi's stdout).
 */
const MAX_OPEN_REQUESTS = 1;

/** The pi command (the worker guard's) that hands a pooled worker its next task, before the task's prompt. */
export const ASSIGN_COMMAND = "pi-crew-task";

/** What `ASSIGN_COMMAND` carries (JSON). */
export interface Assignment {
	taskId: string;
	/** The file appended to the worker's system prompt for this task (identity + the agent's instructions). */
	systemPromptPath: string;
}

/** The conversation with one child worker: the engine's `WorkerChannel`, plus what only the runtime sends. */
export class RpcChannel implements WorkerChannel {
	private next = 0;
	private readonly pending = new Map<string, Pending>();
	private closed = false;
	private open = 0;

	/** Who answers the worker's crew tool calls (none: each is refused): the task it serves sets it. */
	answer: ((request: WorkerRequest) => Promise<string>) | undefined;

	constructor(private readonly stdin: Writable) {
		// A worker that died has no reader: its pipe's error is the close that follows, not a crash of the coordinator.
		stdin.on("error", () => this.close());
	}

	prompt(text: string): Promise<void> {
		return this.send({ type: "prompt", message: text }).then(() => undefined);
	}

	/** A fresh session in the same process (pi's `new_session`): nothing of the previous task's conversation stays. */
	async newSession(): Promise<void> {
		const data = (await this.send({ type: "new_session" })) as { cancelled?: unknown } | undefined;
		if (data?.cancelled === true) throw new Error("an extension refused the new session");
	}

	/** Hands the worker its next task (the guard's command); resolves once the guard has taken it. */
	async assign(assignment: Assignment): Promise<void> {
		const data = (await this.send({ type: "prompt", message: `/${ASSIGN_COMMAND} ${JSON.stringify(assignment)}` })) as
			| { disposition?: unknown }
			| undefined;
		// Anything else would have become a prompt to the model.
		if (data?.disposition !== "handled") throw new Error(`pi did not run the /${ASSIGN_COMMAND} command`);
	}

	steer(text: string): Promise<void> {
		return this.send({ type: "steer", message: text }).then(() => undefined);
	}

	followUp(text: string): Promise<void> {
		return this.send({ type: "follow_up", message: text }).then(() => undefined);
	}

	/** Asks pi to abort its turn (the model call, the tool calls): how the runtime stops a worker on a timeout. */
	abort(): Promise<void> {
		return this.send({ type: "abort" }).then(() => undefined);
	}

	/**
	 * Takes a line of pi's stdout that is protocol (a command's response, an extension's UI request) and answers it;
	 * false for a session event, which the caller reads and keeps. A worker can write any line to pi's stdout: one
	 * this cannot read is not protocol, never a crash of the coordinator.
	 */
	take(line: string): boolean {
		try {
			return this.protocol(line);
		} catch {
			return false;
		}
	}

	private protocol(line: string): boolean {
		if (!PROTOCOL.test(line)) return false;
		let record: {
			type?: unknown;
			id?: unknown;
			success?: unknown;
			error?: unknown;
			method?: unknown;
			title?: unknown;
			data?: unknown;
			placeholder?: unknown;
		};
		try {
			record = JSON.parse(line);
		} catch {
			return false;
		}
		if (record.type === "extension_ui_request") {
			if (typeof record.id !== "string" || !DIALOGS.has(record.method as string)) return true;
			if (record.method === "input" && record.title === CREW_REQUEST) this.request(record.id, record.placeholder);
			else this.write({ type: "extension_ui_response", id: record.id, cancelled: true });
			return true;
		}
		if (record.type !== "response") return false;
		const waiting = typeof record.id === "string" ? this.pending.get(record.id) : undefined;
		if (!waiting) return true;
		this.pending.delete(record.id as string);
		if (record.success === true) waiting.resolve(record.data);
		else waiting.reject(new Error(typeof record.error === "string" ? record.error : "pi refused the command"));
		return true;
	}

	/** Ends the conversation: pi shuts down in order once its stdin is closed; what was still unanswered fails. */
	close(): void {
		if (this.closed) return;
		this.closed = true;
		this.stdin.end();
		for (const waiting of this.pending.values()) waiting.reject(new Error("the worker has ended"));
		this.pending.clear();
	}

	/** A crew tool's call: the run's answer, or why there is none, goes back as the dialog's value. */
	private request(id: string, text: unknown): void {
		void this.reply(parseRequest(text)).then((r) =>
			this.write({ type: "extension_ui_response", id, value: JSON.stringify(r) }),
		);
	}

	private async reply(request: WorkerRequest | undefined): Promise<CrewReply> {
		if (!request) return { error: "pi-crew could not read the request" };
		const answer = this.answer;
		if (!answer) return { error: `this worker cannot use ${request.type} in this run` };
		if (this.open >= MAX_OPEN_REQUESTS)
			return { error: "another request of this worker is still open: pi-crew takes one at a time" };
		this.open++;
		try {
			return { answer: await answer(request) };
		} catch (err) {
			return { error: (err as Error).message };
		} finally {
			this.open--;
		}
	}

	private send(command: Record<string, unknown>): Promise<unknown> {
		if (this.closed) return Promise.reject(new Error("the worker has ended"));
		const id = `crew-${++this.next}`;
		return new Promise<unknown>((resolve, reject) => {
			this.pending.set(id, { resolve, reject });
			this.write({ ...command, id });
		});
	}

	private write(record: Record<string, unknown>): void {
		if (!this.closed) this.stdin.write(`${JSON.stringify(record)}\n`);
	}
}
