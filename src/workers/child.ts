/**
 * The `child` runtime: each task runs in a real `pi` process in RPC mode (pi-process.ts), in its own process group so
 * that a timeout or a cancel stops its whole tree, taken from the run's warm pool (pool.ts). stdin carries the
 * conversation (a fresh session, the task's assignment, its prompt, then steers and follow-ups: rpc-channel.ts);
 * stdout is pi's JSONL event stream (the task's session events kept as its transcript), stderr goes to a file.
 */
import { join } from "node:path";
import { openAppend } from "../util/safe-fs.js";
import { POOL_DEFAULTS, type PoolOptions, shapeOf, WorkerPool } from "./pool.js";
import {
	type Program,
	type TaskSpec,
	TRANSCRIPT_FILE,
	type WorkerEvent,
	type WorkerOutcome,
	type WorkerRuntime,
	type WorkerShape,
} from "./runtime.js";
import type { SandboxChoice } from "./sandbox.js";
import { closeStream, TaskSession } from "./task-session.js";

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
		const { outcome, reusable } = await new TaskSession(worker, spec, { transcript, stderrLog }, signal, onEvent).done;
		if (reusable) this.pool.give(worker);
		return outcome;
	}
}
