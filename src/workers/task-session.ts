/**
 * One task on a child worker (pi-process.ts): a fresh session (but on a new process), its assignment, its prompt; its
 * events read, its transcript and stderr written, its timeout, turn limit, review and stops. It ends once its work is
 * done: reusable when its answer was accepted and the worker is alive (its task's processes reaped, its temp
 * emptied); any other end stops the worker, and the task ends once the worker has exited.
 */
import { AsyncResource } from "node:async_hooks";
import type { WriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { HEARTBEAT_LINE, WORKER_PI_LINE } from "../util/identity.js";
import { redact } from "../util/redact.js";
import type { PiProcess } from "./pi-process.js";
import { PiStreamReader } from "./pi-stream.js";
import { reapSandboxLeftovers, reapTask } from "./reaper.js";
import {
	type FailureKind,
	failure,
	reviewAnswer,
	StopRequest,
	stopped,
	type TaskSpec,
	type WorkerChannel,
	type WorkerEvent,
	type WorkerFailure,
	type WorkerOutcome,
	type WorkerRequest,
} from "./runtime.js";
import { killGroup } from "./spawn.js";
import { TaskTimer } from "./task-timer.js";

/**
 * Stops asked of the worker itself before its group is killed (after `STOP_GRACE_MS`), so its transcript ends with
 * its own last events: a timeout or a turn limit. A cancel kills at once (it must be quick), as does a dead heartbeat
 * (the worker does not answer) or a transcript that cannot be written.
 */
const ASKED_TO_STOP = new Set<FailureKind>(["timed_out", "turn_limit"]);
const STOP_GRACE_MS = 3000;

const STDERR_LINES_KEPT = 40;
const SAYS_WHAT_FAILED =
	/\b(?:error|not found|no api key|failed|cannot|can't|denied|invalid|refused|fatal|exception)\b/i;

/**
 * The line of a dead worker's stderr that says what went wrong: the last one that reads as an error and is not a
 * stack frame or a continuation (indented), else the last line. pi ends its errors with lines of doc paths.
 */
export function meaningfulLine(lines: string[]): string {
	const telling = lines.filter((l) => !/^\s/.test(l) && SAYS_WHAT_FAILED.test(l));
	return (telling.at(-1) ?? lines.at(-1) ?? "").trim();
}

export interface TaskEnd {
	outcome: WorkerOutcome;
	/** Whether the worker may serve another task. */
	reusable: boolean;
}

export interface TaskFiles {
	transcript: WriteStream;
	stderrLog: WriteStream;
}

export class TaskSession {
	/** Resolves once the task's work is done (its processes reaped, its files closed). */
	readonly done: Promise<TaskEnd>;
	private readonly timer: TaskTimer;
	private readonly reader = new PiStreamReader();
	/** The last lines of stderr that are not pi-crew's own. */
	private readonly stderrTail: string[] = [];
	/** Set when we stop the worker ourselves; it wins over how the process happened to exit. */
	private ended: WorkerFailure | undefined;
	private grace: NodeJS.Timeout | undefined;
	private holding = true;
	/**
	 * Set once the worker has taken this task (its fresh session and assignment answered): pi's events before that are
	 * not this task's (a previous task's last ones, or lines a leftover process forged) and are dropped.
	 */
	private assigned = false;
	private resolve: (end: TaskEnd) => void = () => undefined;
	/** What the engine may say to the worker, only while this task holds it. */
	private readonly said: WorkerChannel = {
		steer: (text) => this.held().then(() => this.worker.channel.steer(text)),
		followUp: (text) => this.held().then(() => this.worker.channel.followUp(text)),
	};
	private readonly onAbort = () =>
		this.stop(
			stopped(this.signal.reason instanceof StopRequest ? this.signal.reason : new StopRequest("cancel", "cancelled")),
		);

	constructor(
		private readonly worker: PiProcess,
		private readonly spec: TaskSpec,
		private readonly files: TaskFiles,
		private readonly signal: AbortSignal,
		private readonly onEvent: (event: WorkerEvent) => void,
	) {
		this.done = new Promise<TaskEnd>((resolve) => {
			this.resolve = resolve;
		});
		this.timer = new TaskTimer(spec.timeoutMs, () =>
			this.stop(failure("timed_out", `timed out after ${Math.round(spec.timeoutMs / 1000)}s`)),
		);
		const crew = spec.crew;
		// Answered in this task's context (its correlation span), whoever started the worker.
		worker.channel.answer =
			crew && AsyncResource.bind((request: WorkerRequest) => this.timer.paused(() => crew.request(request)));
		for (const stream of [files.transcript, files.stderrLog])
			stream.on("error", (err) =>
				this.stop(failure("io_failed", `cannot write the task's transcript: ${err.message}`)),
			);
		this.attach();
		signal.addEventListener("abort", this.onAbort, { once: true });
		if (signal.aborted) this.onAbort();
		if (worker.pid) onEvent({ type: "spawned", pid: worker.pid });
		this.begin().then(
			// The worker takes messages once its prompt is accepted (a steer before it would have no run to join).
			() => spec.channel?.(this.said),
			(err: Error) => this.stop(failure("spawn_failed", `pi refused the task: ${err.message}`)),
		);
	}

	/**
	 * Hands the worker its task over stdin: a fresh session unless it is a new process, then the assignment (its task
	 * id and system prompt, for the guard), then the prompt.
	 */
	private async begin(): Promise<void> {
		const { channel } = this.worker;
		if (this.worker.served > 1) await channel.newSession();
		await channel.assign({ taskId: this.spec.taskId, systemPromptPath: this.spec.systemPromptPath });
		this.assigned = true;
		await channel.prompt(this.spec.prompt);
	}

	private held(): Promise<void> {
		return this.holding ? Promise.resolve() : Promise.reject(new Error("the task has ended"));
	}

	/**
	 * Transcript and stderr are written line by line, secrets redacted (a chunk may split a secret; a line not). The
	 * transcript keeps each message and tool result once, complete: pi's streamed pieces of one (a message's deltas, a
	 * tool's partial output) could each hold a piece of a secret that no redactor sees whole.
	 */
	private attach(): void {
		const { spec, reader, files } = this;
		this.worker.attach({
			activity: () => this.onEvent({ type: "activity" }),
			line: (line) => {
				if (!this.assigned) return;
				if (!isPartialUpdate(line)) files.transcript.write(`${redact(line)}\n`);
				for (const event of reader.push(line)) {
					if (event.type === "turn" && spec.maxTurns && reader.turns > spec.maxTurns)
						this.stop(failure("turn_limit", `exceeded maxTurns (${spec.maxTurns}) of agent ${spec.agent}`));
					else if (event.type === "settled") this.settle();
					else if (event.type !== "turn") this.onEvent(event);
				}
			},
			stderr: (clean) => {
				files.stderrLog.write(`${clean}\n`);
				if (clean.startsWith(HEARTBEAT_LINE) || clean.startsWith(WORKER_PI_LINE)) return;
				this.stderrTail.push(clean);
				if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
			},
			exit: (code, sig, error) => this.exited(code, sig, error),
		});
	}

	private stop(why: WorkerFailure) {
		if (this.ended) return;
		this.ended = why;
		const { pid, channel } = this.worker;
		if (!pid) return;
		if (!ASKED_TO_STOP.has(why.kind)) return killGroup(pid);
		// Asked first: pi aborts its turn and tool calls, writes its last events, and exits once its stdin closes.
		this.grace = setTimeout(() => killGroup(pid), STOP_GRACE_MS);
		channel.abort().then(
			() => channel.close(),
			() => killGroup(pid),
		);
	}

	/**
	 * Nothing more will come from this prompt (retries, steers and follow-ups included): done, unless its answer waits
	 * for approval, when the worker stays held (its session kept) for the feedback of a rejection.
	 */
	private settle() {
		const { spec } = this;
		spec.channel?.(undefined);
		const draft = spec.review && !this.ended ? this.reader.outcome() : undefined;
		if (!spec.review || draft?.kind !== "succeeded") return this.accept();
		void reviewAnswer(spec.review, draft.answer, this.timer).then((word) => {
			if (this.ended) return;
			if ("approved" in word) return this.accept();
			if ("failed" in word) return this.stop(word.failed);
			this.worker.channel.prompt(word.feedback).then(
				() => spec.channel?.(this.said),
				(err: Error) => this.stop(failure("crashed", `the worker did not take the feedback: ${err.message}`)),
			);
		});
	}

	/** Its answer stands: the worker is free for another task. Otherwise it ends (stdin closed), and its exit decides. */
	private accept() {
		const outcome = this.reader.outcome();
		if (this.ended || outcome.kind !== "succeeded" || this.worker.exited) return this.worker.channel.close();
		this.finish(outcome, true);
	}

	private exited(code: number | null, sig: NodeJS.Signals | null, error: Error | undefined) {
		if (error)
			this.ended ??= failure("spawn_failed", `cannot start pi (${this.worker.program.command}): ${error.message}`);
		if (this.ended) return this.finish(this.ended, false);
		if (code !== 0 || sig) {
			const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
			const tail = meaningfulLine(this.stderrTail).slice(0, 300);
			return this.finish(failure("crashed", `worker ${how}${tail ? `: ${tail}` : ""}`), false);
		}
		this.finish(this.reader.outcome(), false);
	}

	private finish(outcome: WorkerOutcome, reusable: boolean): void {
		if (!this.holding) return;
		this.holding = false;
		clearTimeout(this.grace);
		this.spec.channel?.(undefined);
		this.timer.clear();
		this.signal.removeEventListener("abort", this.onAbort);
		this.worker.detach();
		this.worker.channel.answer = undefined;
		// Nothing a task started may outlive it: background jobs of its bash calls included.
		void Promise.all([this.reap(reusable), closeStream(this.files.transcript), closeStream(this.files.stderrLog)]).then(
			() => this.resolve({ outcome, reusable }),
		);
	}

	/**
	 * Kills what the task started, then, for a worker that serves another task, empties its temp (once nothing of this
	 * task can write there). In the sandbox that is every process of the worker's pid namespace but the worker: a
	 * process that dropped the task's marker from its environment is found there too.
	 */
	private async reap(reusable: boolean): Promise<void> {
		await reapTask(this.spec.runId, this.spec.taskId);
		if (!reusable) return;
		if (this.worker.sandboxed && this.worker.pid) await reapSandboxLeftovers(this.worker.pid);
		await this.worker.clearScratch();
	}
}

/** pi's events that stream a piece of what a later event holds whole (`message_end`, `tool_execution_end`). */
const PARTIAL_UPDATE = /^\s*\{\s*"type"\s*:\s*"(?:message_update|tool_execution_update)"/;

/** Whether a line of pi's JSON output is a streamed piece of a message or a tool's output. */
function isPartialUpdate(line: string): boolean {
	return PARTIAL_UPDATE.test(line);
}

/** Ends a file stream; resolves once it is closed, or has failed (the failure already stopped the worker). */
export async function closeStream(stream: WriteStream): Promise<void> {
	stream.end();
	await finished(stream).catch(() => undefined);
}
