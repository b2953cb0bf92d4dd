/**
 * The `auto` runtime: per task, in-process for roles that only read (every tool in READ_ONLY: no process of their
 * own to isolate or reap, and they are the short exploring and reviewing steps), a child process for everything
 * else (writes, bash, long work, an agent's own extensions). It is also the `inprocess` runtime while the sandbox is
 * on: a writing task in the coordinator's process would be out of the sandbox's reach.
 */
import { CREW_TOOLS, type SandboxMode } from "../config/home.js";
import { ChildRuntime } from "./child.js";
import { InProcessRuntime } from "./inprocess.js";
import type { PoolOptions } from "./pool.js";
import type { Program, TaskSpec, WorkerEvent, WorkerOutcome, WorkerRuntime, WorkerShape } from "./runtime.js";
import type { SandboxChoice } from "./sandbox.js";

/** Tools that change nothing: pi's that read, and pi-crew's own (a question, a message), which reach only the run. */
export const READ_ONLY_TOOLS = new Set<string>(["read", "ls", "grep", "find", ...CREW_TOOLS]);

/**
 * Whether a task runs in the coordinator's process. Never one that loads an agent's extensions: their code would run
 * with the coordinator's whole environment and file access, out of the sandbox, whatever the agent's tools.
 */
export function runsInProcess(spec: Pick<TaskSpec, "tools" | "extensions">): boolean {
	if (spec.extensions?.length) return false;
	return spec.tools?.every((t) => READ_ONLY_TOOLS.has(t)) ?? false;
}

export class AutoRuntime implements WorkerRuntime {
	readonly name = "auto";
	private readonly inprocess: InProcessRuntime;
	private readonly child: ChildRuntime;

	readonly unsandboxed?: string;

	/**
	 * @param allowEnv variables workers get besides the essentials and their model's credentials (config `env.allow`)
	 * @param sandbox the OS sandbox of its child workers (in-process ones are confined by their tools' path checks)
	 * @param pool how its child workers are kept warm
	 * @param notes what the run says once about where its tasks run
	 */
	constructor(
		allowEnv: readonly string[] = [],
		sandbox: SandboxChoice = {},
		pool: Partial<PoolOptions> = {},
		readonly notes: readonly string[] = [],
	) {
		this.inprocess = new InProcessRuntime(allowEnv);
		this.child = new ChildRuntime(allowEnv, sandbox, pool);
		if (this.child.unsandboxed) this.unsandboxed = this.child.unsandboxed;
	}

	sandboxed(spec: Pick<TaskSpec, "tools" | "extensions">): boolean {
		return !runsInProcess(spec) && this.child.sandboxed();
	}

	confine(program: Program, place: Pick<TaskSpec, "cwd" | "repo">, tmp: string, env: NodeJS.ProcessEnv) {
		return this.child.confine(program, place, tmp, env);
	}

	warm(shape: WorkerShape): void {
		if (!runsInProcess(shape)) this.child.warm(shape);
	}

	close(): Promise<void> {
		return this.child.close();
	}

	run(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void): Promise<WorkerOutcome> {
		return (runsInProcess(spec) ? this.inprocess : this.child).run(spec, signal, onEvent);
	}
}

/**
 * The `inprocess` runtime as the config allows it: every task in-process only with the sandbox off (writing ones
 * path-checked); otherwise tasks that write, run bash or load an agent's extensions run as child workers, and the
 * run says so once.
 */
export function inProcessRuntime(
	allowEnv: readonly string[],
	sandbox: SandboxMode,
	choice: SandboxChoice,
	pool: Partial<PoolOptions>,
): WorkerRuntime {
	if (sandbox === "off") return new InProcessRuntime(allowEnv);
	return new AutoRuntime(allowEnv, choice, pool, [
		`runtime inprocess with sandbox ${sandbox}: tasks that write, run bash or load an agent's extensions run as child workers (config sandbox: off runs them in-process, path-checked only)`,
	]);
}
