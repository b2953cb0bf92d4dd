/**
 * One spawned `pi --mode rpc` worker process, started from a worker shape alone (no task in it): its conversation on
 * stdin (rpc-channel.ts), its stdout framed into lines, its stderr redacted line by line, its exit. The lines go to
 * the task that holds it (`attach`); those written while nobody holds it wait for the next task.
 */
import { AsyncResource } from "node:async_hooks";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { trustArgs } from "../config/trust.js";
import { isScripted } from "../scripted/scenario.js";
import { LineRedactor } from "../util/redact.js";
import { piCommand } from "./host-pi.js";
import { JsonlFramer } from "./pi-stream.js";
import { RpcChannel } from "./rpc-channel.js";
import type { Program, WorkerShape } from "./runtime.js";
import type { Sandbox } from "./sandbox.js";
import { killGroup, removeTree, spawnProgram } from "./spawn.js";
import { workerEnv } from "./worker-env.js";

const SELF = fileURLToPath(import.meta.url);
const HERE = dirname(SELF);
// `.js` from dist/, `.ts` when run from source (tests): the extensions sit beside this module either way.
const EXT = extname(SELF);
export const GUARD_EXTENSION = join(HERE, `guard-extension${EXT}`);
export const SCRIPTED_EXTENSION = join(HERE, "..", "scripted", `extension${EXT}`);

/** What the task holding a worker receives from it. */
export interface WorkerSink {
	/** A line of pi's stdout that is not protocol (a session event, or noise a tool wrote). */
	line(line: string): void;
	/** A line of stderr, secrets redacted. */
	stderr(line: string): void;
	/** Any output: a heartbeat. */
	activity(): void;
	/** The process has exited (code, signal), or could not start (`error`). */
	exit(code: number | null, signal: NodeJS.Signals | null, error?: Error): void;
}

/** How long an idle worker told to end (its stdin closed) has to exit before its group is killed. */
const IDLE_STOP_GRACE_MS = 2000;

/** Lines kept for the next task while nobody holds the worker (pi's start-up lines): beyond this they are dropped. */
const UNHELD_LINES_KEPT = 200;

/** pi's arguments for a worker of `shape`; no task's system prompt or prompt: each task gives its own over stdin. */
export function piArgs(shape: WorkerShape): string[] {
	const args = ["--mode", "rpc", "--no-session", "--no-extensions", ...trustArgs(shape.projectTrusted)];
	args.push("-e", GUARD_EXTENSION);
	if (isScripted(shape.model)) args.push("-e", SCRIPTED_EXTENSION);
	for (const extension of shape.extensions ?? []) args.push("-e", extension);
	if (shape.model) args.push("--model", shape.model);
	if (shape.thinking) args.push("--thinking", shape.thinking);
	// Skills named by the agent or step: exactly these, none of pi's discovered ones.
	if (shape.skills) args.push("--no-skills", ...shape.skills.flatMap((path) => ["--skill", path]));
	if (shape.tools)
		args.push(
			shape.tools.length > 0 ? "--tools" : "--no-tools",
			...(shape.tools.length > 0 ? [shape.tools.join(",")] : []),
		);
	return args;
}

export interface SpawnOptions {
	allowEnv: readonly string[];
	sandbox: Sandbox | undefined;
}

export class PiProcess {
	readonly channel: RpcChannel;
	/** Tasks it has served, the one in progress included. */
	served = 0;
	/** Set once it has exited (or could not start). */
	exited = false;
	readonly pid: number | undefined;
	/** Resolves once the process has exited. */
	readonly gone: Promise<void>;
	/** Called once it has exited: its pool forgets it. */
	onExit: (() => void) | undefined;
	private sink: WorkerSink | undefined;
	/** What a new process said before its first task held it (pi's start-up); nothing is held for a later task. */
	private unheld: { kind: "line" | "stderr"; text: string }[] = [];
	private held = false;
	private exit: Parameters<WorkerSink["exit"]> | undefined;
	private spawnError: Error | undefined;

	private constructor(
		readonly key: string,
		readonly program: Program,
		/** Its own temp directory (TMPDIR): emptied between tasks, removed once it has exited. */
		readonly scratch: string,
		/** Whether it runs in the OS sandbox (its own pid namespace): what its tasks leave there is found by that. */
		readonly sandboxed: boolean,
		cwd: string,
		env: NodeJS.ProcessEnv,
	) {
		const child = spawnProgram(program, { cwd, env, input: true });
		this.pid = child.pid;
		this.channel = new RpcChannel(child.stdin as NonNullable<typeof child.stdin>);
		const framer = new JsonlFramer((line) => {
			if (!this.channel.take(line)) this.deliver("line", line);
		});
		const stderr = new LineRedactor((clean) => this.deliver("stderr", clean));
		const stderrLines = new JsonlFramer((line) => stderr.push(line));
		child.stdout.on("data", (chunk: Buffer) => {
			this.sink?.activity();
			framer.push(chunk);
		});
		child.stderr.on("data", (chunk: Buffer) => {
			this.sink?.activity();
			stderrLines.push(chunk);
		});
		child.once("error", (err) => {
			this.spawnError = err;
		});
		this.gone = new Promise<void>((resolve) => {
			child.once("close", (code, sig) => {
				framer.end();
				stderrLines.end();
				this.channel.close();
				this.exited = true;
				this.onExit?.();
				// Nothing it started may outlive it: background jobs of its bash calls in its group included.
				if (this.pid) killGroup(this.pid, 0);
				void removeTree(scratch).then(() => {
					this.exit = [code, sig, this.spawnError];
					this.sink?.exit(code, sig, this.spawnError);
					resolve();
				});
			});
		});
	}

	/** Starts a worker of `shape` under the run's key `key`. */
	static async start(key: string, shape: WorkerShape, opts: SpawnOptions): Promise<PiProcess> {
		const env = await workerEnv(shape, { allow: opts.allowEnv });
		// Node's compile cache stays where pi keeps it for this user (read-only in a sandbox), not in the worker's temp.
		env.NODE_COMPILE_CACHE ??= join(tmpdir(), "node-compile-cache");
		// A temp directory of the worker's own, the only place besides its task's directory a sandboxed worker writes.
		const scratch = await mkdtemp(join(tmpdir(), "pi-crew-worker-"));
		env.TMPDIR = scratch;
		const { command, args } = piCommand();
		const pi = { command, args: [...args, ...piArgs(shape)] };
		if (opts.sandbox) {
			// Outside the worker's pid namespace the coordinator's pid means nothing: --die-with-parent ends the worker.
			delete env.PI_CREW_COORDINATOR_PID;
			delete env.PI_CREW_COORDINATOR_START;
		}
		const program = opts.sandbox
			? await opts.sandbox.wrap(pi.command, pi.args, shape, scratch, env).catch(async (err: Error) => {
					await removeTree(scratch);
					throw err;
				})
			: pi;
		return new PiProcess(key, program, scratch, opts.sandbox !== undefined, shape.cwd, env);
	}

	/** The task `sink` holds it from now: it gets what waited, and the exit if it has come. */
	attach(held: WorkerSink): void {
		// The process was started in another context (a previous task's, or the run's when warmed): what it says from
		// now on is this task's, in the task's correlation span (util/correlation.ts), as if it had started here.
		const sink: WorkerSink = {
			line: AsyncResource.bind((line: string) => held.line(line)),
			stderr: AsyncResource.bind((line: string) => held.stderr(line)),
			activity: AsyncResource.bind(() => held.activity()),
			exit: AsyncResource.bind((...args: Parameters<WorkerSink["exit"]>) => held.exit(...args)),
		};
		this.sink = sink;
		this.held = true;
		const waiting = this.unheld;
		this.unheld = [];
		for (const { kind, text } of waiting) sink[kind](text);
		if (this.exit) sink.exit(...this.exit);
	}

	detach(): void {
		this.sink = undefined;
	}

	/** Ends it: its stdin closed (pi shuts down in order), its group killed if it has not exited after a grace period. */
	stop(): Promise<void> {
		this.channel.close();
		const pid = this.pid;
		if (pid && !this.exited) {
			const timer = setTimeout(() => killGroup(pid), IDLE_STOP_GRACE_MS);
			timer.unref();
			void this.gone.then(() => clearTimeout(timer));
		}
		return this.gone;
	}

	/** Empties its temp directory: what a task left there is not the next task's. */
	clearScratch(): Promise<void> {
		return removeTree(this.scratch, true);
	}

	private deliver(kind: "line" | "stderr", text: string): void {
		if (this.sink) this.sink[kind](text);
		// Between tasks nobody speaks for the worker: a line now is a leftover's (or forged by one), never the next task's.
		else if (!this.held && this.unheld.length < UNHELD_LINES_KEPT) this.unheld.push({ kind, text });
	}
}
