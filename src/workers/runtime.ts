/**
 * The one contract every worker runtime implements. The engine owns scheduling, events and artifacts; a runtime only
 * turns a task spec into progress callbacks and an outcome, and stops everything it started when the signal aborts.
 */
import type { Usage } from "../store/events.js";

export { RUNTIMES, type RuntimeName } from "../config/home.js";

export interface TaskSpec {
	runId: string;
	taskId: string;
	agent: string;
	cwd: string;
	/** File appended to pi's system prompt (identity + the agent's instructions). */
	systemPromptPath: string;
	prompt: string;
	promptPath: string;
	/** Directory for this attempt's transcript and stderr. */
	taskDir: string;
	model?: string;
	tools?: string[];
	thinking?: string;
	maxTurns?: number;
	timeoutMs: number;
	/** Absolute path of the scripted model's scenario file, if any. */
	scenario?: string;
	/** How often the worker beats while a tool runs silently (0: never). */
	beatMs?: number;
	/** A runtime that can take messages mid-run announces how (and withdraws it with undefined when done). */
	steerable?: (deliver: ((message: string) => Promise<void>) | undefined) => void;
}

export type WorkerEvent =
	| { type: "spawned"; pid: number }
	/** Any output of the worker: a heartbeat. Never logged one by one. */
	| { type: "activity" }
	| { type: "tool"; tool: string; phase: "start" | "end"; isError?: boolean; summary?: string }
	| { type: "usage"; usage: Usage };

/** Why the engine stops a worker; passed as the abort signal's reason. */
export class StopRequest {
	constructor(
		readonly kind: "cancel" | "heartbeat-dead",
		readonly message: string,
	) {}
}

export type WorkerOutcome =
	| { ok: true; answer: string }
	| {
			ok: false;
			reason: string;
			/** Set when the engine stopped the worker (the signal's StopRequest). */
			stop?: StopRequest["kind"];
			/** False when another attempt cannot help (pi could not be started at all). */
			retryable?: boolean;
	  };

export interface WorkerRuntime {
	readonly name: string;
	/** Whether a task with these tools would run where it can take messages mid-run (see TaskSpec.steerable). */
	canSteer?(spec: Pick<TaskSpec, "tools">): boolean;
	run(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void): Promise<WorkerOutcome>;
}
