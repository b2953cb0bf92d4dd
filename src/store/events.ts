/**
 * The closed vocabulary of a run: event types, statuses, legal transitions, and the fold that turns a run's event
 * log into its state. Nothing else decides what state a run or task is in.
 */

export const EVENT_VERSION = 1;

export const TASK_STATUSES = ["pending", "running", "succeeded", "failed", "skipped", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_TASK: ReadonlySet<TaskStatus> = new Set(["succeeded", "failed", "skipped", "cancelled"]);

/** `interrupted` is never written: it is how a non-terminal run reads when its coordinator is gone. */
export type RunStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled" | "interrupted";
export type FinalRunStatus = "succeeded" | "failed" | "cancelled";
export const TERMINAL_RUN: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "cancelled"]);

/** Ordinary transitions. Reopening (resume, requeue) is explicit: only `run.resumed` and `task.requeued` do it. */
const TASK_TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
	pending: ["running", "skipped", "cancelled"],
	running: ["succeeded", "failed", "cancelled"],
	succeeded: [],
	failed: [],
	skipped: [],
	cancelled: [],
};

export interface Usage {
	input: number;
	output: number;
	cacheRead: number;
	cacheWrite: number;
	total: number;
}

/** Retry of failed attempts (opt-in). Present in a run's settings means autoRetry is on. */
export interface RetryPolicy {
	maxAttempts: number;
	backoffMs: number;
	factor: number;
	/** ± this fraction of the delay, drawn from an injected random source. */
	jitter: number;
}

export interface Budget {
	maxTokens?: number;
	maxTasks?: number;
	maxWallMs?: number;
}

export const HEARTBEAT_LEVELS = ["healthy", "warn", "stale", "dead"] as const;
export type HeartbeatLevel = (typeof HEARTBEAT_LEVELS)[number];
export interface HeartbeatPolicy {
	warnMs: number;
	staleMs: number;
	deadMs: number;
	pollMs: number;
	/** Consecutive dead polls before the worker is killed and its task dead-lettered. */
	deadTicks: number;
}

/** Everything a coordinator needs to run (or resume) the run, fixed when it is created. */
export interface RunSettings {
	runtime: string;
	concurrency: number;
	taskTimeoutMs: number;
	/** `--model`: every worker's model. */
	model?: string;
	/** For agents that name no model. */
	defaultModel?: string;
	scenario?: string;
	retry?: RetryPolicy;
	budget?: Budget;
	heartbeat: HeartbeatPolicy;
}

export type DeadLetterReason = "max-retries" | "heartbeat-dead" | "manual";

type TaskDefinition = EventPayloads["task.planned"];

/** An agent as a worker needs it (see resources/schema.ts AgentDef), recorded in the log. */
export interface AgentDefinition {
	/** Where it came from: a repository's agent the user has not trusted stays fenced when the run resumes. */
	scope: "builtin" | "user" | "project";
	untrusted?: boolean;
	description: string;
	prompt: string;
	tools?: string[];
	model?: string;
	thinking?: string;
	maxTurns?: number;
}

export interface EventPayloads {
	"run.created": { goal: string; team: string; workflow: string; cwd: string; settings: RunSettings };
	"run.started": { pid: number };
	/** Continues an interrupted, cancelled or (for a requeue) failed run; `reopened` tasks go back to pending. */
	"run.resumed": {
		pid: number;
		reopened: string[];
		/** Agents whose files changed since the run started: it goes on with the definitions it recorded. */
		changedAgents?: string[];
	};
	"run.cancelling": { source: string };
	/** The shared rate-limit gate: no task starts before `until`. */
	"run.throttled": { reason: string; delayMs: number; until: string };
	/** Needs a human: a burst of dead-letters, or the coordinator stopped on an error (the run stays resumable). */
	"run.alert": { kind: "deadletter-rate" | "coordinator-error"; message: string };
	"run.finished": { status: FinalRunStatus; reason?: string; summaryPath: string };
	"task.planned": {
		role: string;
		agent: string;
		dependsOn: string[];
		template: string;
		output: string;
		/** An adaptive planning step: its answer's plan adds tasks to the run. */
		adaptive?: boolean;
		/** Added by the plan of this (adaptive) task. */
		from?: string;
		/**
		 * What the agent was when the task was planned: a resumed run uses it, not the agent's file as it is now (the
		 * replay of a run never changes meaning). Absent in logs written before it was recorded.
		 */
		definition?: AgentDefinition;
	};
	/** A pending task also waits for these (the tasks an adaptive plan added before it). */
	"task.depends": { add: string[] };
	"task.started": { attempt: number; promptPath: string };
	"task.tool": { tool: string; phase: "start" | "end"; isError?: boolean; summary?: string };
	"task.usage": Usage;
	"task.heartbeat": { level: HeartbeatLevel; silentMs: number };
	/** An attempt failed and another follows after `delayMs`; the task stays running. */
	"task.retrying": { attempt: number; reason: string; delayMs: number; rateLimited?: boolean };
	"task.succeeded": { resultPath: string; chars: number };
	"task.failed": { reason: string };
	"task.skipped": { reason: string };
	"task.cancelled": { reason: string };
	"task.deadlettered": { reason: DeadLetterReason; detail: string };
	/** A steer message for the task: delivered to its session, or why not. The message itself is not logged. */
	"task.steered": { delivered: boolean; chars: number; reason?: string };
	/** A failed or skipped task goes back to pending (dead-letter requeue). */
	"task.requeued": { reason: string };
}
export type EventType = keyof EventPayloads;
/** Every event type, once: a type added to EventPayloads and missing here (or the reverse) does not compile. */
const EVENT_TYPE_TABLE = {
	"run.created": true,
	"run.started": true,
	"run.resumed": true,
	"run.cancelling": true,
	"run.throttled": true,
	"run.alert": true,
	"run.finished": true,
	"task.planned": true,
	"task.depends": true,
	"task.started": true,
	"task.tool": true,
	"task.usage": true,
	"task.heartbeat": true,
	"task.retrying": true,
	"task.succeeded": true,
	"task.failed": true,
	"task.skipped": true,
	"task.cancelled": true,
	"task.deadlettered": true,
	"task.requeued": true,
	"task.steered": true,
} satisfies Record<EventType, true>;
export const EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(EVENT_TYPE_TABLE));

export type CrewEvent = {
	[K in EventType]: {
		v: number;
		seq: number;
		ts: string;
		runId: string;
		taskId?: string;
		/** Correlation id `{runId}:{taskId}:{span}` (absent in logs written before it existed). */
		cid?: string;
		type: K;
		data: EventPayloads[K];
	};
}[EventType];

export interface Attempt {
	attempt: number;
	startedAt: string;
	endedAt?: string;
	/** Why the attempt ended without success. */
	reason?: string;
}

/** A task: what `task.planned` said of it (its definition), and what the events since did to it. */
export interface TaskState extends TaskDefinition {
	id: string;
	status: TaskStatus;
	/** Number of the latest attempt (0 before the first). */
	attempt: number;
	attempts: Attempt[];
	/** Set by task.retrying: the next task.started continues the running task. */
	awaitingRetry: boolean;
	startedAt?: string;
	endedAt?: string;
	reason?: string;
	resultPath?: string;
	promptPath?: string;
	usage: Usage;
	toolCalls: number;
	heartbeat?: HeartbeatLevel;
	deadLetter?: DeadLetterReason;
}

export interface RunState {
	runId: string;
	/** As written in the log; callers that know the coordinator is gone report `interrupted`. */
	status: RunStatus;
	goal: string;
	team: string;
	workflow: string;
	cwd: string;
	settings: RunSettings;
	createdAt: string;
	/** When the current coordinator took the run (run.started or the latest run.resumed): wall budgets count from here. */
	activeSince?: string;
	endedAt?: string;
	reason?: string;
	summaryPath?: string;
	/** While set and in the future, no task starts (rate-limit gate). */
	throttledUntil?: string;
	resumes: number;
	tasks: Map<string, TaskState>;
	usage: Usage;
	lastSeq: number;
	/** Events the fold refused (illegal transitions, unknown tasks); kept so they are reported, never applied. */
	anomalies: string[];
	/** Whether the fold refused the latest event (it changed nothing). */
	lastRefused: boolean;
}

export function emptyUsage(): Usage {
	return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 };
}

function addUsage(into: Usage, u: Usage): void {
	into.input += u.input;
	into.output += u.output;
	into.cacheRead += u.cacheRead;
	into.cacheWrite += u.cacheWrite;
	into.total += u.total;
}

/** The state the events fold to; `observe` sees each event with the state right after it (metrics replay so). */
export function foldEvents(
	events: Iterable<CrewEvent>,
	observe?: (event: CrewEvent, state: RunState) => void,
): RunState | undefined {
	let state: RunState | undefined;
	for (const e of events) {
		state = applyEvent(state, e);
		observe?.(e, state);
	}
	return state;
}

/** Applies one event. The first event must be `run.created`. Mutates and returns `state` (owned by the fold). */
export function applyEvent(state: RunState | undefined, e: CrewEvent): RunState {
	if (!state) {
		if (e.type !== "run.created") throw new Error(`event log must start with run.created, got ${e.type}`);
		return {
			runId: e.runId,
			status: "pending",
			...e.data,
			createdAt: e.ts,
			resumes: 0,
			tasks: new Map(),
			usage: emptyUsage(),
			lastSeq: e.seq,
			anomalies: [],
			lastRefused: false,
		};
	}
	state.lastSeq = e.seq;
	state.lastRefused = false;
	if (e.type.startsWith("task.")) return applyTaskEvent(state, e);
	const refuse = (why: string) => refusal(state, `seq ${e.seq}: ${e.type} ${why}`);
	switch (e.type) {
		case "run.started":
			if (state.status === "pending") {
				state.status = "running";
				state.activeSince = e.ts;
			} else refuse(`while ${state.status}`);
			break;
		case "run.resumed":
			if (state.status === "succeeded") {
				refuse("of a run that succeeded");
				break;
			}
			state.status = "running";
			state.activeSince = e.ts;
			state.resumes++;
			state.endedAt = undefined;
			state.reason = undefined;
			state.throttledUntil = undefined;
			for (const id of e.data.reopened) reopen(state, id, e, "interrupted");
			break;
		case "run.throttled":
			state.throttledUntil = e.data.until;
			break;
		case "run.cancelling":
		case "run.alert":
			break;
		case "run.finished":
			if (TERMINAL_RUN.has(state.status)) {
				refuse(`after the run already ended ${state.status}`);
				break;
			}
			state.status = e.data.status;
			state.reason = e.data.reason;
			state.summaryPath = e.data.summaryPath;
			state.endedAt = e.ts;
			break;
		default:
			refuse("unexpected");
	}
	return state;
}

/** The event is not applied: reported as an anomaly, and marked so readers of the fold can skip it. */
function refusal(state: RunState, anomaly: string): void {
	state.anomalies.push(anomaly);
	state.lastRefused = true;
}

/** Back to pending: the one way out of a terminal task state, always by an explicit event. */
function reopen(state: RunState, id: string, e: CrewEvent, why: string): void {
	const task = state.tasks.get(id);
	if (!task || task.status === "succeeded" || task.status === "pending") {
		state.anomalies.push(`seq ${e.seq}: cannot reopen task "${id}" (${task?.status ?? "unknown"})`);
		return;
	}
	closeAttempt(task, e.ts, task.reason ?? why);
	task.status = "pending";
	task.awaitingRetry = false;
	task.reason = undefined;
	task.endedAt = undefined;
	task.deadLetter = undefined;
	task.heartbeat = undefined;
}

function closeAttempt(task: TaskState, ts: string, reason?: string): void {
	const current = task.attempts.at(-1);
	if (current && !current.endedAt) {
		current.endedAt = ts;
		if (reason) current.reason = reason;
	}
}

function applyTaskEvent(state: RunState, e: CrewEvent): RunState {
	const id = e.taskId ?? "";
	if (e.type === "task.steered") return state; // an audit record: no state changes
	if (e.type === "task.planned") {
		if (state.tasks.has(id)) refusal(state, `seq ${e.seq}: task ${id} planned twice`);
		else
			state.tasks.set(id, {
				id,
				...e.data,
				status: "pending",
				attempt: 0,
				attempts: [],
				awaitingRetry: false,
				usage: emptyUsage(),
				toolCalls: 0,
			});
		return state;
	}
	const task = state.tasks.get(id);
	if (!task) {
		refusal(state, `seq ${e.seq}: ${e.type} for unknown task "${id}"`);
		return state;
	}
	if (e.type === "task.depends") {
		if (task.status !== "pending") refusal(state, `seq ${e.seq}: task ${id} rewired while ${task.status}`);
		else task.dependsOn = [...new Set([...task.dependsOn, ...e.data.add])];
		return state;
	}
	if (e.type === "task.requeued") {
		if (task.status === "failed" || task.status === "skipped") reopen(state, id, e, e.data.reason);
		else refusal(state, `seq ${e.seq}: cannot requeue task ${id} (${task.status})`);
		return state;
	}
	const to = targetStatus(e);
	if (to) {
		const retryStart = e.type === "task.started" && task.status === "running" && task.awaitingRetry;
		if (!retryStart && !TASK_TRANSITIONS[task.status].includes(to)) {
			refusal(state, `seq ${e.seq}: task ${id} cannot go ${task.status} -> ${to}`);
			return state;
		}
		task.status = to;
	}
	switch (e.type) {
		case "task.started":
			task.attempt = e.data.attempt;
			task.attempts.push({ attempt: e.data.attempt, startedAt: e.ts });
			task.awaitingRetry = false;
			task.startedAt ??= e.ts;
			task.promptPath = e.data.promptPath;
			task.heartbeat = "healthy";
			break;
		case "task.retrying":
			if (task.status !== "running") {
				refusal(state, `seq ${e.seq}: task ${id} retrying while ${task.status}`);
				break;
			}
			closeAttempt(task, e.ts, e.data.reason);
			task.awaitingRetry = true;
			break;
		case "task.tool":
			if (e.data.phase === "start") task.toolCalls++;
			break;
		case "task.usage":
			addUsage(task.usage, e.data);
			addUsage(state.usage, e.data);
			break;
		case "task.heartbeat":
			task.heartbeat = e.data.level;
			break;
		case "task.deadlettered":
			task.deadLetter = e.data.reason;
			break;
		case "task.succeeded":
			closeAttempt(task, e.ts);
			task.resultPath = e.data.resultPath;
			task.endedAt = e.ts;
			break;
		case "task.failed":
		case "task.skipped":
		case "task.cancelled":
			closeAttempt(task, e.ts, e.data.reason);
			task.reason = e.data.reason;
			task.endedAt = e.ts;
			break;
	}
	return state;
}

function targetStatus(e: CrewEvent): TaskStatus | undefined {
	switch (e.type) {
		case "task.started":
			return "running";
		case "task.succeeded":
			return "succeeded";
		case "task.failed":
			return "failed";
		case "task.skipped":
			return "skipped";
		case "task.cancelled":
			return "cancelled";
		default:
			return undefined;
	}
}
