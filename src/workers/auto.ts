/**
 * The `auto` runtime: per task, in-process for roles that only read (every tool in READ_ONLY: no process of their
 * own to isolate or reap, and they are the short exploring and reviewing steps), a child process for everything
 * else (writes, bash, long work).
 */
import { ChildRuntime } from "./child.js";
import { InProcessRuntime } from "./inprocess.js";
import type { TaskSpec, WorkerEvent, WorkerOutcome, WorkerRuntime } from "./runtime.js";
import type { SandboxChoice } from "./sandbox.js";

export const READ_ONLY_TOOLS = new Set(["read", "ls", "grep", "find"]);

export function runsInProcess(spec: Pick<TaskSpec, "tools">): boolean {
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
	 */
	constructor(allowEnv: readonly string[] = [], sandbox: SandboxChoice = {}) {
		this.inprocess = new InProcessRuntime(allowEnv);
		this.child = new ChildRuntime(allowEnv, sandbox);
		if (this.child.unsandboxed) this.unsandboxed = this.child.unsandboxed;
	}

	sandboxed(spec: Pick<TaskSpec, "tools">): boolean {
		return !runsInProcess(spec) && this.child.sandboxed();
	}

	canSteer(spec: Pick<TaskSpec, "tools">): boolean {
		return runsInProcess(spec);
	}

	run(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void): Promise<WorkerOutcome> {
		return (runsInProcess(spec) ? this.inprocess : this.child).run(spec, signal, onEvent);
	}
}
