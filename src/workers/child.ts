/**
 * The `child` runtime: each task runs in a real `pi` process in RPC mode (pi-process.ts), in its own process group so
 * that a timeout or a cancel stops its whole tree, taken from the run's warm pool (pool.ts). stdin carries the
 * conversation (a fresh session, the task's assignment, its prompt, then steers and follow-ups: rpc-channel.ts);
 * stdout is pi's JSONL event stream (the task's session events kept as its transcript), stderr goes to a file.
 */
import type { WriteStream } from "node:fs";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { HEARTBEAT_LINE, WORKER_PI_LINE } from "../util/identity.js";
import { redact } from "../util/redact.js";
import { openAppend } from "../util/safe-fs.js";
import type { PiProcess } from "./pi-process.js";
import { PiStreamReader } from "./pi-stream.js";
import { POOL_DEFAULTS, type PoolOptions, shapeOf, WorkerPool } from "./pool.js";
import { reapTask } from "./reaper.js";
import {
	type FailureKind,
	failure,
	type Program,
	reviewAnswer,
	StopRequest,
	stopped,
	type TaskSpec,
	TRANSCRIPT_FILE,
	type WorkerChannel,
	type WorkerEvent,
	type WorkerFailure,
	type WorkerOutcome,
	type WorkerRuntime,
	type WorkerShape,
} from "./runtime.js";
import type { SandboxChoice } from "./sandbox.js";
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

export class ChildRuntime implements WorkerRuntime {
	readonly name = "child";
	readonly unsandboxed?: string;
	private readonly sandbox: SandboxChoice["sandbox"];
	private readonly pool: WorkerPool;

	/**
	 * @param allowEnv variables workers get besides the essentials and their model's credentials (config `env.allow`)
	 * @param sandbox the OS sandbox each worker runs in (none: the config's `off`, or `auto` where none can start)
	 * @param pool how its warm workers are kept (config `workers`, the run's concurrency)
	 */
	constructor(
		allowEnv: readonly string[] = [],
		{ sandbox, unavailable }: SandboxChoice = {},
		pool: Partial<PoolOptions> = {},
	) {
		this.sandbox = sandbox;
		if (unavailable) this.unsandboxed = unavailable;
		this.pool = new WorkerPool({ ...POOL_DEFAULTS, ...pool }, { allowEnv, sandbox });
	}

	sandboxed(): boolean {
		return this.sandbox !== undefined;
	}

	confine(program: Program, place: Pick<TaskSpec, "cwd" | "repo">, tmp: string, env: NodeJS.ProcessEnv) {
		return this.sandbox ? this.sandbox.wrap(program.command, program.args, place, tmp, env) : Promise.resolve(program);
	}

	warm(shape: WorkerShape): void {
		this.pool.warm(shape);
	}

	close(): Promise<void> {
		return this.pool.close();
	}

	async run(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void): Promise<WorkerOutcome> {
		// The attempt's directory was made link-free; its files are never opened through a link either.
		const transcript = (await openAppend(spec.taskDir, join(spec.taskDir, TRANSCRIPT_FILE))).createWriteStream();
		const stderrLog = (await openAppend(spec.taskDir, join(spec.taskDir, "stderr.log"))).createWriteStream();
		const worker = await this.pool.take(shapeOf(spec)).catch(async (err: Error) => {
			await Promise.all([closeStream(transcript), closeStream(stderrLog)]);
			throw err;
		});
		worker.served++;
		const { outcome, reusable } = await runOnWorker(worker, spec, { transcript, stderrLog }, signal, onEvent);
		if (reusable) this.pool.give(worker);
		return outcome;
	}
}

/**
 * One task on a worker: a fresh session (but on a new process), its assignment, its prompt; its events read, its
 * transcript and stderr written, its timeout, turn limit, review and stops. Resolves once its work is done: reusable
 * when its answer was accepted and the worker is alive (its task's processes reaped, its temp emptied); any other
 * end stops the worker, and resolves once it has exited.
 */
function runOnWorker(
	worker: PiProcess,
	spec: TaskSpec,
	{ transcript, stderrLog }: { transcript: WriteStream; stderrLog: WriteStream },
	signal: AbortSignal,
	onEvent: (event: WorkerEvent) => void,
): Promise<{ outcome: WorkerOutcome; reusable: boolean }> {
	const { channel, pid } = worker;
	const timer = new TaskTimer(spec.timeoutMs, () =>
		stop(failure("timed_out", `timed out after ${Math.round(spec.timeoutMs / 1000)}s`)),
	);
	const crew = spec.crew;
	channel.answer = crew && ((request) => timer.paused(() => crew.request(request)));
	// What the engine may say to the worker, only while this task holds it.
	let holding = true;
	const said: WorkerChannel = {
		steer: (text) => (holding ? channel.steer(text) : Promise.reject(new Error("the task has ended"))),
		followUp: (text) => (holding ? channel.followUp(text) : Promise.reject(new Error("the task has ended"))),
	};
	const reader = new PiStreamReader();
	const stderrTail: string[] = []; // the last lines of stderr that are not pi-crew's own
	// Set when we stop the worker ourselves; it wins over how the process happened to exit.
	let ended: WorkerFailure | undefined;
	let grace: NodeJS.Timeout | undefined;
	const stop = (why: WorkerFailure) => {
		if (ended) return;
		ended = why;
		if (!pid) return;
		if (!ASKED_TO_STOP.has(why.kind)) return killGroup(pid);
		// Asked first: pi aborts its turn and tool calls, writes its last events, and exits once its stdin closes.
		grace = setTimeout(() => killGroup(pid), STOP_GRACE_MS);
		channel.abort().then(
			() => channel.close(),
			() => killGroup(pid),
		);
	};
	for (const stream of [transcript, stderrLog])
		stream.on("error", (err) => stop(failure("io_failed", `cannot write the task's transcript: ${err.message}`)));
	let finish: (outcome: WorkerOutcome, reusable: boolean) => void = () => undefined;
	const done = new Promise<{ outcome: WorkerOutcome; reusable: boolean }>((resolve) => {
		finish = (outcome, reusable) => {
			holding = false;
			clearTimeout(grace);
			spec.channel?.(undefined);
			timer.clear();
			signal.removeEventListener("abort", onAbort);
			worker.detach();
			channel.answer = undefined;
			// Nothing a task started may outlive it: background jobs of its bash calls included.
			void Promise.all([
				reapTask(spec.runId, spec.taskId),
				...(reusable ? [worker.clearScratch()] : []),
				closeStream(transcript),
				closeStream(stderrLog),
			]).then(() => resolve({ outcome, reusable }));
		};
	});
	// Its answer is accepted: the worker goes back to its pool. Otherwise it ends (stdin closed), and the exit decides.
	const accept = () => {
		const outcome = reader.outcome();
		if (ended || outcome.kind !== "succeeded" || worker.exited) return channel.close();
		finish(outcome, true);
	};
	// Nothing more will come from this prompt (retries, steers and follow-ups included): done, unless its answer
	// waits for approval, when the worker stays held (its session kept) for the feedback of a rejection.
	const settle = () => {
		spec.channel?.(undefined);
		const draft = spec.review && !ended ? reader.outcome() : undefined;
		if (!spec.review || draft?.kind !== "succeeded") return accept();
		void reviewAnswer(spec.review, draft.answer, timer).then((word) => {
			if (ended) return;
			if ("approved" in word) return accept();
			if ("failed" in word) return stop(word.failed);
			channel.prompt(word.feedback).then(
				() => spec.channel?.(said),
				(err: Error) => stop(failure("crashed", `the worker did not take the feedback: ${err.message}`)),
			);
		});
	};
	// Transcript and stderr are written line by line, secrets redacted (a chunk may split a secret; a line not).
	// The transcript keeps each message and tool result once, complete: pi's streamed pieces of one (a message's
	// deltas, a tool's partial output) could each hold a piece of a secret that no redactor sees whole.
	worker.attach({
		activity: () => onEvent({ type: "activity" }),
		line: (line) => {
			if (!isPartialUpdate(line)) transcript.write(`${redact(line)}\n`);
			for (const event of reader.push(line)) {
				if (event.type === "turn" && spec.maxTurns && reader.turns > spec.maxTurns)
					stop(failure("turn_limit", `exceeded maxTurns (${spec.maxTurns}) of agent ${spec.agent}`));
				else if (event.type === "settled") settle();
				else if (event.type !== "turn") onEvent(event);
			}
		},
		stderr: (clean) => {
			stderrLog.write(`${clean}\n`);
			if (!clean.startsWith(HEARTBEAT_LINE) && !clean.startsWith(WORKER_PI_LINE)) {
				stderrTail.push(clean);
				if (stderrTail.length > STDERR_LINES_KEPT) stderrTail.shift();
			}
		},
		exit: (code, sig, error) => {
			if (error) ended ??= failure("spawn_failed", `cannot start pi (${worker.program.command}): ${error.message}`);
			if (ended) return finish(ended, false);
			if (code !== 0 || sig) {
				const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
				const tail = meaningfulLine(stderrTail).slice(0, 300);
				return finish(failure("crashed", `worker ${how}${tail ? `: ${tail}` : ""}`), false);
			}
			finish(reader.outcome(), false);
		},
	});
	const onAbort = () =>
		stop(stopped(signal.reason instanceof StopRequest ? signal.reason : new StopRequest("cancel", "cancelled")));
	signal.addEventListener("abort", onAbort, { once: true });
	if (signal.aborted) onAbort();
	if (pid) onEvent({ type: "spawned", pid });
	void begin(worker, spec).then(
		// The worker takes messages once its prompt is accepted (a steer before it would have no run to join).
		() => spec.channel?.(said),
		(err: Error) => stop(failure("spawn_failed", `pi refused the task: ${err.message}`)),
	);
	return done;
}

/**
 * Hands the worker its task over stdin: a fresh session unless it is a new process, then the assignment (its task
 * id and system prompt, for the guard), then the prompt.
 */
async function begin(worker: PiProcess, spec: TaskSpec): Promise<void> {
	if (worker.served > 1) await worker.channel.newSession();
	await worker.channel.assign({ taskId: spec.taskId, systemPromptPath: spec.systemPromptPath });
	await worker.channel.prompt(spec.prompt);
}

/** pi's events that stream a piece of what a later event holds whole (`message_end`, `tool_execution_end`). */
const PARTIAL_UPDATE = /^\s*\{\s*"type"\s*:\s*"(?:message_update|tool_execution_update)"/;

/** Whether a line of pi's JSON output is a streamed piece of a message or a tool's output. */
function isPartialUpdate(line: string): boolean {
	return PARTIAL_UPDATE.test(line);
}

/** Ends a file stream; resolves once it is closed, or has failed (the failure already stopped the worker). */
async function closeStream(stream: WriteStream): Promise<void> {
	stream.end();
	await finished(stream).catch(() => undefined);
}
