/**
 * The `child` runtime: each task is a real `pi` process in RPC mode, in its own process group so that a timeout or a
 * cancel stops its whole tree. stdin carries the conversation (the prompt, then steers and follow-ups: rpc-channel.ts)
 * and is closed once pi has settled, which ends the process; stdout is pi's JSONL event stream (its session events
 * kept as the transcript), stderr goes to a file.
 */
import type { WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join } from "node:path";
import { finished } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { trustArgs } from "../config/trust.js";
import { isScripted } from "../scripted/scenario.js";
import { HEARTBEAT_LINE, WORKER_PI_LINE } from "../util/identity.js";
import { LineRedactor, redact } from "../util/redact.js";
import { openAppend } from "../util/safe-fs.js";
import { piCommand } from "./host-pi.js";
import { JsonlFramer, PiStreamReader } from "./pi-stream.js";
import { reapTask } from "./reaper.js";
import { RpcChannel } from "./rpc-channel.js";
import {
	type FailureKind,
	failure,
	type Program,
	reviewAnswer,
	StopRequest,
	stopped,
	type TaskSpec,
	TRANSCRIPT_FILE,
	type WorkerEvent,
	type WorkerFailure,
	type WorkerOutcome,
	type WorkerRuntime,
} from "./runtime.js";
import type { SandboxChoice } from "./sandbox.js";
import { killGroup, spawnProgram, withScratch } from "./spawn.js";
import { TaskTimer } from "./task-timer.js";
import { workerEnv } from "./worker-env.js";

const SELF = fileURLToPath(import.meta.url);
const HERE = dirname(SELF);
// `.js` from dist/, `.ts` when run from source (tests): the extensions sit beside this module either way.
const EXT = extname(SELF);
export const GUARD_EXTENSION = join(HERE, `guard-extension${EXT}`);
export const SCRIPTED_EXTENSION = join(HERE, "..", "scripted", `extension${EXT}`);

/** pi's arguments for a task; the prompt is not among them: it is the conversation's first command. */
export function piArgs(spec: TaskSpec): string[] {
	const args = ["--mode", "rpc", "--no-session", "--no-extensions", ...trustArgs(spec.projectTrusted)];
	args.push("-e", GUARD_EXTENSION);
	if (isScripted(spec.model)) args.push("-e", SCRIPTED_EXTENSION);
	for (const extension of spec.extensions ?? []) args.push("-e", extension);
	if (spec.model) args.push("--model", spec.model);
	if (spec.thinking) args.push("--thinking", spec.thinking);
	// Skills named by the agent or step: exactly these, none of pi's discovered ones.
	if (spec.skills) args.push("--no-skills", ...spec.skills.flatMap((path) => ["--skill", path]));
	if (spec.tools)
		args.push(
			spec.tools.length > 0 ? "--tools" : "--no-tools",
			...(spec.tools.length > 0 ? [spec.tools.join(",")] : []),
		);
	args.push("--append-system-prompt", spec.systemPromptPath);
	return args;
}

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

	/**
	 * @param allowEnv variables workers get besides the essentials and their model's credentials (config `env.allow`)
	 * @param sandbox the OS sandbox each worker runs in (none: the config's `off`, or `auto` where none can start)
	 */
	constructor(
		private readonly allowEnv: readonly string[] = [],
		{ sandbox, unavailable }: SandboxChoice = {},
	) {
		this.sandbox = sandbox;
		if (unavailable) this.unsandboxed = unavailable;
	}

	sandboxed(): boolean {
		return this.sandbox !== undefined;
	}

	confine(program: Program, place: Pick<TaskSpec, "cwd" | "repo">, tmp: string, env: NodeJS.ProcessEnv) {
		return this.sandbox ? this.sandbox.wrap(program.command, program.args, place, tmp, env) : Promise.resolve(program);
	}

	async run(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void): Promise<WorkerOutcome> {
		const env = await workerEnv(spec, { allow: this.allowEnv });
		// Node's compile cache stays where pi keeps it for this user (read-only in a sandbox), not in the attempt's temp.
		env.NODE_COMPILE_CACHE ??= join(tmpdir(), "node-compile-cache");
		// A temp directory of the attempt's own, the only place besides its task's directory a sandboxed worker writes.
		return withScratch("pi-crew-worker-", async (tmp) => {
			env.TMPDIR = tmp;
			const { command, args } = piCommand();
			const pi = { command, args: [...args, ...piArgs(spec)] };
			if (this.sandbox) {
				// Outside the worker's pid namespace the coordinator's pid means nothing: --die-with-parent ends the worker.
				delete env.PI_CREW_COORDINATOR_PID;
				delete env.PI_CREW_COORDINATOR_START;
			}
			const spawned = this.sandbox ? await this.sandbox.wrap(pi.command, pi.args, spec, tmp, env) : pi;
			// The attempt's directory was made link-free; its files are never opened through a link either.
			const transcript = (await openAppend(spec.taskDir, join(spec.taskDir, TRANSCRIPT_FILE))).createWriteStream();
			const stderrLog = (await openAppend(spec.taskDir, join(spec.taskDir, "stderr.log"))).createWriteStream();
			return this.spawnWorker(spec, spawned, env, { transcript, stderrLog }, signal, onEvent);
		});
	}

	private spawnWorker(
		spec: TaskSpec,
		program: Program,
		env: NodeJS.ProcessEnv,
		{ transcript, stderrLog }: { transcript: WriteStream; stderrLog: WriteStream },
		signal: AbortSignal,
		onEvent: (event: WorkerEvent) => void,
	): Promise<WorkerOutcome> {
		const child = spawnProgram(program, { cwd: spec.cwd, env, input: true });
		const timer = new TaskTimer(spec.timeoutMs, () =>
			stop(failure("timed_out", `timed out after ${Math.round(spec.timeoutMs / 1000)}s`)),
		);
		const crew = spec.crew;
		const channel = new RpcChannel(
			child.stdin as NonNullable<typeof child.stdin>,
			crew && ((request) => timer.paused(() => crew.request(request))),
		);
		const reader = new PiStreamReader();
		const stderrTail: string[] = []; // the last lines of stderr that are not pi-crew's own
		// Set when we stop the worker ourselves; it wins over how the process happened to exit.
		let ended: WorkerFailure | undefined;
		let grace: NodeJS.Timeout | undefined;
		const stop = (why: WorkerFailure) => {
			if (ended) return;
			ended = why;
			const pid = child.pid;
			if (!pid) return;
			if (!ASKED_TO_STOP.has(why.kind)) return killGroup(pid);
			// Asked first: pi aborts its turn and tool calls, writes its last events, and exits once its stdin closes.
			grace = setTimeout(() => killGroup(pid), STOP_GRACE_MS);
			channel.abort().then(
				() => channel.close(),
				() => killGroup(pid),
			);
		};
		// Transcript and stderr are written line by line, secrets redacted (a chunk may split a secret; a line not).
		// The transcript keeps each message and tool result once, complete: pi's streamed pieces of one (a message's
		// deltas, a tool's partial output) could each hold a piece of a secret that no redactor sees whole.
		const framer = new JsonlFramer((line) => {
			if (channel.take(line)) return;
			if (!isPartialUpdate(line)) transcript.write(`${redact(line)}\n`);
			for (const event of reader.push(line)) {
				if (event.type === "turn" && spec.maxTurns && reader.turns > spec.maxTurns)
					stop(failure("turn_limit", `exceeded maxTurns (${spec.maxTurns}) of agent ${spec.agent}`));
				else if (event.type === "settled") settle();
				else if (event.type !== "turn") onEvent(event);
			}
		});
		for (const stream of [transcript, stderrLog])
			stream.on("error", (err) => stop(failure("io_failed", `cannot write the task's transcript: ${err.message}`)));
		const stderrRedactor = new LineRedactor((clean) => {
			stderrLog.write(`${clean}\n`);
			if (!clean.startsWith(HEARTBEAT_LINE) && !clean.startsWith(WORKER_PI_LINE)) {
				stderrTail.push(clean);
				if (stderrTail.length > STDERR_LINES_KEPT) stderrTail.shift();
			}
		});
		const stderrLines = new JsonlFramer((line) => stderrRedactor.push(line));
		child.stdout.on("data", (chunk: Buffer) => {
			onEvent({ type: "activity" });
			framer.push(chunk);
		});
		child.stderr.on("data", (chunk: Buffer) => {
			onEvent({ type: "activity" });
			stderrLines.push(chunk);
		});
		// Nothing more will come from this prompt (retries, steers and follow-ups included): pi may exit, unless its
		// answer waits for approval, when it stays open (its session kept) for the feedback of a rejection.
		const settle = () => {
			spec.channel?.(undefined);
			const draft = spec.review && !ended ? reader.outcome() : undefined;
			if (!spec.review || draft?.kind !== "succeeded") return channel.close();
			void reviewAnswer(spec.review, draft.answer, timer).then((said) => {
				if (ended) return;
				if ("approved" in said) return channel.close();
				if ("failed" in said) return stop(said.failed);
				channel.prompt(said.feedback).then(
					() => spec.channel?.(channel),
					(err: Error) => stop(failure("crashed", `the worker did not take the feedback: ${err.message}`)),
				);
			});
		};
		const onAbort = () =>
			stop(stopped(signal.reason instanceof StopRequest ? signal.reason : new StopRequest("cancel", "cancelled")));
		signal.addEventListener("abort", onAbort, { once: true });
		if (signal.aborted) onAbort();
		if (child.pid) onEvent({ type: "spawned", pid: child.pid });
		// The worker takes messages once its prompt is accepted (a steer before it would have no run to join).
		channel.prompt(spec.prompt).then(
			() => spec.channel?.(channel),
			(err: Error) => stop(failure("spawn_failed", `pi refused the task's prompt: ${err.message}`)),
		);

		return new Promise<WorkerOutcome>((resolve) => {
			child.once("error", (err) => {
				ended ??= failure("spawn_failed", `cannot start pi (${program.command}): ${err.message}`);
			});
			child.once("close", async (code, sig) => {
				clearTimeout(grace);
				spec.channel?.(undefined);
				channel.close();
				timer.clear();
				signal.removeEventListener("abort", onAbort);
				framer.end();
				stderrLines.end();
				// Nothing a task started may outlive it: background jobs of its bash calls included.
				if (child.pid) killGroup(child.pid, 0);
				await reapTask(spec.runId, spec.taskId);
				await Promise.all([closeStream(transcript), closeStream(stderrLog)]);
				if (ended) return resolve(ended);
				if (code !== 0 || sig) {
					const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
					const tail = meaningfulLine(stderrTail).slice(0, 300);
					return resolve(failure("crashed", `worker ${how}${tail ? `: ${tail}` : ""}`));
				}
				resolve(reader.outcome());
			});
		});
	}
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
