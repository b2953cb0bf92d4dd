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

export interface EventPayloads {
	"run.created": {
		goal: string;
		team: string;
		workflow: string;
		runtime: string;
		concurrency: number;
		model?: string;
		cwd: string;
	};
	"run.started": { pid: number };
	"run.finished": { status: FinalRunStatus; reason?: string; summaryPath: string };
	"task.planned": { role: string; agent: string; dependsOn: string[] };
	"task.started": { attempt: number; promptPath: string; pid?: number };
	"task.tool": { tool: string; phase: "start" | "end"; isError?: boolean; summary?: string };
	"task.usage": Usage;
	"task.succeeded": { resultPath: string; chars: number };
	"task.failed": { reason: string };
	"task.skipped": { reason: string };
	"task.cancelled": { reason: string };
}
export type EventType = keyof EventPayloads;
export const EVENT_TYPES = new Set<string>([
	"run.created",
	"run.started",
	"run.finished",
	"task.planned",
	"task.started",
	"task.tool",
	"task.usage",
	"task.succeeded",
	"task.failed",
	"task.skipped",
	"task.cancelled",
] satisfies EventType[]);

export type CrewEvent = {
	[K in EventType]: {
		v: number;
		seq: number;
		ts: string;
		runId: string;
		taskId?: string;
		type: K;
		data: EventPayloads[K];
	};
}[EventType];

export interface TaskState {
	id: string;
	role: string;
	agent: string;
	dependsOn: string[];
	status: TaskStatus;
	attempt: number;
	startedAt?: string;
	endedAt?: string;
	reason?: string;
	resultPath?: string;
	promptPath?: string;
	usage: Usage;
	toolCalls: number;
	lastActivityAt?: string;
}

export interface RunState {
	runId: string;
	/** As written in the log; callers that know the coordinator is gone report `interrupted`. */
	status: RunStatus;
	goal: string;
	team: string;
	workflow: string;
	runtime: string;
	concurrency: number;
	model?: string;
	createdAt: string;
	endedAt?: string;
	reason?: string;
	summaryPath?: string;
	tasks: Map<string, TaskState>;
	usage: Usage;
	lastSeq: number;
	/** Events the fold refused (illegal transitions, unknown tasks); kept so they are reported, never applied. */
	anomalies: string[];
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

export function foldEvents(events: Iterable<CrewEvent>): RunState | undefined {
	let state: RunState | undefined;
	for (const e of events) state = applyEvent(state, e);
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
			tasks: new Map(),
			usage: emptyUsage(),
			lastSeq: e.seq,
			anomalies: [],
		};
	}
	state.lastSeq = e.seq;
	if (e.type.startsWith("task.")) return applyTaskEvent(state, e);
	switch (e.type) {
		case "run.started":
			if (state.status === "pending") state.status = "running";
			else state.anomalies.push(`seq ${e.seq}: run.started while ${state.status}`);
			break;
		case "run.finished":
			if (TERMINAL_RUN.has(state.status)) {
				state.anomalies.push(`seq ${e.seq}: run.finished after the run already ended ${state.status}`);
				break;
			}
			state.status = e.data.status;
			state.reason = e.data.reason;
			state.summaryPath = e.data.summaryPath;
			state.endedAt = e.ts;
			break;
		default:
			state.anomalies.push(`seq ${e.seq}: unexpected ${e.type}`);
	}
	return state;
}

function applyTaskEvent(state: RunState, e: CrewEvent): RunState {
	const id = e.taskId ?? "";
	if (e.type === "task.planned") {
		if (state.tasks.has(id)) state.anomalies.push(`seq ${e.seq}: task ${id} planned twice`);
		else
			state.tasks.set(id, {
				id,
				...e.data,
				status: "pending",
				attempt: 0,
				usage: emptyUsage(),
				toolCalls: 0,
			});
		return state;
	}
	const task = state.tasks.get(id);
	if (!task) {
		state.anomalies.push(`seq ${e.seq}: ${e.type} for unknown task "${id}"`);
		return state;
	}
	task.lastActivityAt = e.ts;
	const to = targetStatus(e);
	if (to) {
		if (!TASK_TRANSITIONS[task.status].includes(to)) {
			state.anomalies.push(`seq ${e.seq}: task ${id} cannot go ${task.status} -> ${to}`);
			return state;
		}
		task.status = to;
	}
	switch (e.type) {
		case "task.started":
			task.attempt = e.data.attempt;
			task.startedAt = e.ts;
			task.promptPath = e.data.promptPath;
			break;
		case "task.tool":
			if (e.data.phase === "start") task.toolCalls++;
			break;
		case "task.usage":
			addUsage(task.usage, e.data);
			addUsage(state.usage, e.data);
			break;
		case "task.succeeded":
			task.resultPath = e.data.resultPath;
			task.endedAt = e.ts;
			break;
		case "task.failed":
		case "task.skipped":
		case "task.cancelled":
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
