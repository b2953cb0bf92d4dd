/**
 * The one contract every worker runtime implements. The engine owns scheduling, events and artifacts; a runtime only
 * turns a task spec into progress callbacks and an outcome, and stops everything it started when the signal aborts.
 */

import type { CrewToolName } from "../config/home.js";
import type { Usage } from "../store/events.js";

export { CREW_TOOLS, type CrewToolName, RUNTIMES, type RuntimeName } from "../config/home.js";

/**
 * A child worker's transcript in its attempt's directory: pi's session events (`--mode rpc`), one a line, secrets redacted; a
 * message or tool result once complete (its streamed pieces are not kept).
 */
export const TRANSCRIPT_FILE = "transcript.jsonl";

export interface TaskSpec {
	runId: string;
	taskId: string;
	agent: string;
	/** Where the task works: the repository, or its worktree in an isolated run. */
	cwd: string;
	/** The repository's root: the files under it (a worktree's included) are the repository's. */
	repo: string;
	/**
	 * pi's trust decision for the repository, handed to the worker as is: when false, no repository settings or code
	 * load, and its context files (AGENTS.md, CLAUDE.md) reach the model only fenced, after the role prompt.
	 */
	projectTrusted: boolean;
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
	/** Paths of the pi skills the worker loads, exactly these; undefined: pi's own discovery. */
	skills?: string[];
	/** pi extensions the worker loads besides pi-crew's own: paths (the agent's `extensions`). */
	extensions?: string[];
	timeoutMs: number;
	/** Absolute path of the scripted model's scenario file, if any. */
	scenario?: string;
	/** How often the worker beats while a tool runs silently (0: never). */
	beatMs?: number;
	/** The worker's conversation, announced once it takes messages and withdrawn (undefined) when it is done. */
	channel?: (channel: WorkerChannel | undefined) => void;
	/**
	 * pi-crew's own tools the worker gets, besides `tools` (`ask`, `message`: those its agent's tools name), and who
	 * answers their calls: the reply is the tool's result. While a call is open the task's timeout does not count.
	 */
	crew?: { tools: CrewToolName[]; request: (request: WorkerRequest) => Promise<string> };
	/**
	 * A step that needs approval: called with each answer its worker settles on, while the worker stays open (its
	 * session kept). Approved: the worker ends with that answer; feedback: the worker gets it as its next prompt and
	 * answers again; refused: the worker ends and the attempt fails with that reason, not retried. The wait counts
	 * against neither the task's timeout nor its heartbeat.
	 */
	review?: (answer: string) => Promise<Review>;
}

/**
 * What a person (or the run's `unattended` setting), or a reviewer agent, says to an answer that waits for review;
 * `failed`: the review itself failed (its verify command, its reviewer's worker), the attempt fails with that.
 */
export type Review = { approved: true } | { feedback: string } | { refused: string } | { failed: WorkerFailure };

/**
 * A call of one of pi-crew's tools by a worker, as the coordinator receives it. It comes from the worker's model:
 * untrusted, checked (sizes, task ids) before anything is done with it.
 */
export type WorkerRequest =
	| { type: "ask"; text: string; choices?: string[]; default?: string }
	/** `to`: a task id of the same run, or `lead` (the user). */
	| { type: "message"; to: string; text: string }
	/** A judgement of the work under review (a loop's step, a reviewer agent): its last call stands. */
	| { type: "verdict"; clean: boolean; findings: string };

/**
 * What can be said to a running worker, the same for every runtime: each resolves once the worker has taken the
 * message (queued in its session), and rejects when it cannot any more (it has ended).
 */
export interface WorkerChannel {
	/** Delivered after the current turn's tool calls, before the model's next call. */
	steer(text: string): Promise<void>;
	/** Delivered when the worker would otherwise end: after its current turn, as another prompt. */
	followUp(text: string): Promise<void>;
}

export type WorkerEvent =
	| { type: "spawned"; pid: number }
	/** Any output of the worker: a heartbeat. Never logged one by one. */
	| { type: "activity" }
	| {
			type: "tool";
			tool: string;
			phase: "start" | "end";
			summary?: string;
			isError?: boolean;
			/** A failed bash call's exit status. */
			exitCode?: number;
			/** A failed call's error, its first line. */
			error?: string;
	  }
	| { type: "usage"; usage: Usage }
	/** pi retries a failed model call on its own (a rate limit, an overloaded provider): the wait, then its end. */
	| ModelRetry;

export type ModelRetry =
	| { type: "model-retry"; phase: "start"; attempt: number; maxAttempts?: number; delayMs?: number; error?: string }
	| { type: "model-retry"; phase: "end"; success: boolean };

/** Why the engine stops a worker; passed as the abort signal's reason. */
export class StopRequest {
	constructor(
		readonly kind: "cancel" | "heartbeat-dead",
		readonly message: string,
	) {}
}

/**
 * How an attempt failed. Runtimes classify from pi's structured fields (the stop reason and error of the last model
 * turn, the exit status, who stopped the worker), never from the text of a reason; the engine decides retries, the
 * rate-limit gate and dead-letters from the kind alone.
 */
export const FAILURE_KINDS = {
	/** The provider refused the model call for its rate limit: the whole run backs off, no attempt is spent. */
	rate_limited: true,
	/**
	 * The model's provider is down: an HTTP 5xx (500, 502, 503, 504, 529), "overloaded", or no connection to it. An
	 * agent's next fallback model takes over, as on a rate limit; otherwise an ordinary retryable failure.
	 */
	provider_unavailable: true,
	/** Any other error the model call ended with. */
	model_error: true,
	/** The last model turn ended normally with no text. */
	empty_answer: true,
	/** The worker ended without a final answer (no model response, or a last turn that did not stop). */
	no_answer: true,
	/** The worker died: a non-zero exit or a signal nobody here sent. */
	crashed: true,
	timed_out: true,
	/** The agent succeeded, but the step's verify command failed (or did not finish). */
	verify_failed: true,
	/** More model turns than the agent's `maxTurns`. */
	turn_limit: false,
	/** The worker could not be started (no pi, an unknown model): another attempt cannot help. */
	spawn_failed: false,
	/** Its transcript or log could not be written (disk full): another attempt would fail the same way. */
	io_failed: false,
	/** Its answer was not approved: rejected for the last allowed round, or nobody could approve it. */
	rejected: false,
	/** A loop step's verdict stayed not clean for its last round, or its agent gave none. */
	not_clean: false,
	/** Stopped by a cancel of the run or the task. */
	cancelled: false,
	/** Stopped because its heartbeat died: dead-lettered at once. */
	stalled: false,
} as const satisfies Record<string, boolean>;
export type FailureKind = keyof typeof FAILURE_KINDS;

export interface WorkerFailure {
	kind: FailureKind;
	/** For people: what happened, with the meaningful part of the worker's output. */
	detail: string;
	retryable: boolean;
}

export type WorkerOutcome = { kind: "succeeded"; answer: string } | WorkerFailure;

/** A failure of `kind`, retryable as the kind is unless said otherwise. */
export function failure(kind: FailureKind, detail: string, retryable: boolean = FAILURE_KINDS[kind]): WorkerFailure {
	return { kind, detail, retryable };
}

/** The failure of a worker the engine stopped with `request`. */
export function stopped(request: StopRequest): WorkerFailure {
	return failure(request.kind === "cancel" ? "cancelled" : "stalled", request.message);
}

/** A program and its arguments, as spawned (workers/spawn.ts). */
export interface Program {
	command: string;
	args: string[];
	/** A seccomp filter (BPF) for bubblewrap's `--seccomp 3`: given to the program on fd 3. */
	seccomp?: Buffer;
}

/**
 * What a worker process is started with: the same for every task that may share one warm worker (the pool's key,
 * workers/pool.ts). What differs between those tasks (task id, system prompt, prompt, attempt directory) reaches the
 * worker with each task.
 */
export type WorkerShape = Pick<
	TaskSpec,
	| "runId"
	| "cwd"
	| "repo"
	| "projectTrusted"
	| "model"
	| "thinking"
	| "tools"
	| "skills"
	| "extensions"
	| "scenario"
	| "beatMs"
> & { crewTools?: readonly CrewToolName[] };

export interface WorkerRuntime {
	readonly name: string;
	/**
	 * Starts, in the background, a worker of `shape` that a task about to run can take warm (the first task of a run,
	 * while the coordinator still plans and writes its log). Never fails: a worker that cannot start is the task's
	 * failure when it runs.
	 */
	warm?(shape: WorkerShape): void;
	/** Stops every idle worker this runtime keeps, and waits until they have exited (the run has ended). */
	close?(): Promise<void>;
	/** What the runtime says once when a run starts or resumes (logged with run.started / run.resumed, printed). */
	readonly notes?: readonly string[];
	/** Whether a task with these tools runs in the OS sandbox (workers/sandbox.ts); recorded on its task.started. */
	sandboxed?(spec: Pick<TaskSpec, "tools" | "extensions">): boolean;
	/** Why its workers run without the sandbox the config asked for (`auto` where none can start): said once per run. */
	readonly unsandboxed?: string;
	/**
	 * `command args` wrapped in the sandbox its writing workers run in, for a program the host runs over a task's work
	 * (a step's verify command runs the tests a worker may have written); unchanged where there is no sandbox.
	 */
	confine?(
		program: Program,
		place: Pick<TaskSpec, "cwd" | "repo">,
		tmp: string,
		env: NodeJS.ProcessEnv,
	): Promise<Program>;
	run(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void): Promise<WorkerOutcome>;
}

/**
 * The person's word on an answer that waits for approval, the task's timeout paused meanwhile (`timer`). Both
 * runtimes classify the outcome here: a review that throws (the run's log cannot be written) fails the attempt as
 * `io_failed`, a refusal as `rejected`.
 */
export async function reviewAnswer(
	review: NonNullable<TaskSpec["review"]>,
	answer: string,
	timer: { paused<T>(work: () => Promise<T>): Promise<T> },
): Promise<{ approved: true } | { feedback: string } | { failed: WorkerFailure }> {
	try {
		const said = await timer.paused(() => review(answer));
		return "refused" in said ? { failed: failure("rejected", said.refused) } : said;
	} catch (err) {
		return { failed: failure("io_failed", `cannot record the approval: ${(err as Error).message}`) };
	}
}
