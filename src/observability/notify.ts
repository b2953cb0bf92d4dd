/**
 * Notifications outside pi (config `notify`): the run's coordinator sends each run end and each dead letter, as it
 * appends them to the log, to a program (the event as JSON on stdin, no shell) and/or a webhook (POST JSON). Each
 * delivery has a timeout; a failure is reported, never fatal. Only events this coordinator writes are sent, so a resume
 * never repeats what an earlier coordinator sent; the `id` (run and log sequence) lets a receiver drop a repeat.
 */
import { spawn } from "node:child_process";
import { crewHome } from "../config/home.js";
import type { EffectiveConfig } from "../config/resolve.js";
import type { CrewEvent, RunState } from "../store/events.js";
import { report } from "../util/background.js";
import { correlatedLine } from "../util/correlation.js";
import { commandShown, redactStrings, urlShown } from "../util/redact.js";
import { killGroup } from "../workers/spawn.js";

type NotifyConfig = NonNullable<EffectiveConfig["notify"]>;

/** What a receiver gets: the run, what happened, and where to look. Repository text in it is redacted. */
export interface Notification {
	schemaVersion: 1;
	/** `<runId>:<seq>`: the event's place in the run's log, the same however often it is delivered. */
	id: string;
	event: "run.finished" | "task.deadlettered";
	ts: string;
	runId: string;
	repo: string;
	team: string;
	workflow: string;
	/** The goal's first line, at most GOAL_CHARS. */
	goal: string;
	/** The run's status (run.finished), or `failed` for the dead-lettered task. */
	status: string;
	reason?: string;
	taskId?: string;
	role?: string;
	tokens: number;
	/** One line for people (a chat message, a desktop notification). */
	text: string;
}

const GOAL_CHARS = 200;
/** How much of a failing program's stderr the report keeps. */
const STDERR_CHARS = 300;

/** The notification an event calls for, if any. */
function notificationFor(event: CrewEvent, state: RunState, repo: string): Notification | undefined {
	if (event.type !== "run.finished" && event.type !== "task.deadlettered") return undefined;
	const base = {
		schemaVersion: 1 as const,
		id: `${event.runId}:${event.seq}`,
		ts: event.ts,
		runId: event.runId,
		repo,
		team: state.team,
		workflow: state.workflow,
		goal: (state.goal.split("\n")[0] ?? "").slice(0, GOAL_CHARS),
		tokens: state.usage.total,
	};
	const run = `pi-crew run ${event.runId} (${state.team})`;
	if (event.type === "run.finished") {
		const { status, reason } = event.data;
		const why = reason ? `: ${reason.split("\n")[0]}` : "";
		return redactStrings({
			...base,
			event: event.type,
			status,
			...(reason ? { reason } : {}),
			text: `${run} ${status}${why}`,
		});
	}
	const taskId = event.taskId ?? "";
	const role = state.tasks.get(taskId)?.role;
	return redactStrings({
		...base,
		event: event.type,
		status: "failed",
		reason: event.data.reason,
		taskId,
		...(role ? { role } : {}),
		text: `${run}: task ${taskId} dead-lettered (${event.data.reason}: ${event.data.detail.split("\n")[0]}); requeue: pi-crew deadletter requeue ${event.runId}`,
	});
}

/**
 * Runs `[program, ...args]` with `body` on stdin, in pi-crew's home (never the repository: a clone's files are not
 * the user's programs); resolves when it exits 0 within `timeoutMs`. The program gets a process group of its own,
 * killed whole at the deadline; nothing waits past the deadline for its stderr to close, since a child it left behind
 * may hold it open indefinitely (and, waited for, keep the coordinator from ever exiting).
 */
function runCommand(command: readonly string[], body: string, timeoutMs: number): Promise<void> {
	const [program, ...args] = command;
	return new Promise((resolve, reject) => {
		const child = spawn(program as string, args, {
			cwd: crewHome(),
			stdio: ["pipe", "ignore", "pipe"],
			detached: true,
		});
		let stderr = "";
		/** How it exited; unset while it runs. */
		let ended: string | undefined;
		const failed = () => {
			const tail = stderr.trim() ? `: ${stderr.trim()}` : "";
			return new Error(`${ended ?? `stopped after ${timeoutMs} ms (timeoutMs)`}${tail}`);
		};
		const deadline = setTimeout(() => {
			if (child.pid) killGroup(child.pid);
			settle(failed());
		}, timeoutMs);
		const settle = (err?: Error) => {
			clearTimeout(deadline);
			child.stdin.destroy();
			child.stderr.destroy();
			if (err) reject(err);
			else resolve();
		};
		child.stderr.on("data", (d: Buffer) => {
			stderr = (stderr + d.toString()).slice(-STDERR_CHARS);
		});
		child.on("error", settle);
		child.on("exit", (code, signal) => {
			// Success needs nothing more; a failure waits (at most to the deadline) for the rest of its stderr.
			if (code === 0) settle();
			else ended = signal ? `killed by ${signal}` : `exit ${code}`;
		});
		// After a failed exit (a successful one has settled): its stderr is complete.
		child.on("close", () => settle(failed()));
		// A program that does not read its stdin is no failure of the delivery.
		child.stdin.on("error", () => undefined);
		child.stdin.end(body);
	});
}

async function post(url: string, body: string, timeoutMs: number): Promise<void> {
	const res = await fetch(url, {
		method: "POST",
		headers: { "content-type": "application/json", "user-agent": "pi-crew" },
		body,
		signal: AbortSignal.timeout(timeoutMs),
		redirect: "error",
	});
	await res.body?.cancel();
	if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/** Sends the notifications of one coordinator's run; `end()` waits for those in flight (each bounded by its timeout). */
export class ExternalNotifier {
	private readonly pending = new Set<Promise<void>>();

	constructor(
		private readonly config: NotifyConfig | undefined,
		private readonly repo: string,
	) {}

	observe(event: CrewEvent, state: RunState): void {
		const { config } = this;
		if (!config) return;
		const notification = notificationFor(event, state, this.repo);
		if (!notification) return;
		const body = `${JSON.stringify(notification)}\n`;
		const { command, webhook, timeoutMs } = config;
		if (command)
			this.track(runCommand(command, body, timeoutMs), `notify.command ${commandShown(command)}`, notification);
		if (webhook) this.track(post(webhook, body, timeoutMs), `notify.webhook ${urlShown(webhook)}`, notification);
	}

	private track(delivery: Promise<void>, what: string, n: Notification): void {
		const done = delivery
			.catch((err: Error) =>
				report(
					correlatedLine(`pi-crew: ${what} failed for ${n.event} ${n.id}: ${err.message} (the run is not affected)`),
				),
			)
			.finally(() => this.pending.delete(done));
		this.pending.add(done);
	}

	async end(): Promise<void> {
		await Promise.all([...this.pending]);
	}
}
