/**
 * The fold that turns a run's event log into its state: the one place that decides what state a run or task is in,
 * by the vocabulary and transitions of events.ts. Terminal states never regress; refused events are kept as anomalies.
 */
import {
	type Attempt,
	type CrewEvent,
	type EventPayloads,
	emptyUsage,
	type RunState,
	TASK_TRANSITIONS,
	type TaskState,
	type TaskStatus,
	TERMINAL_RUN,
	type Usage,
} from "./events.js";

/** The start of the reason of a task a person must look at (a loop out of rounds, a conflict, a reviewer's refusal). */
export const NEEDS_ATTENTION = "needs attention";

function addUsage(into: Usage, u: Usage): void {
	into.input += u.input;
	into.output += u.output;
	into.cacheRead += u.cacheRead;
	into.cacheWrite += u.cacheWrite;
	into.total += u.total;
	if (u.cost !== undefined) into.cost = (into.cost ?? 0) + u.cost;
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
			lastAt: e.ts,
			anomalies: [],
			lastRefused: false,
			messages: [],
		};
	}
	state.lastSeq = e.seq;
	state.lastRefused = false;
	// The attempts a resume reopens ended with their coordinator: at its last event, not now (the pause is no work).
	const lastSign = state.lastAt;
	state.lastAt = e.ts;
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
			if (e.data.settings) state.settings = e.data.settings;
			for (const id of e.data.reopened) reopen(state, id, e, "interrupted", lastSign);
			break;
		case "run.throttled":
			state.throttledUntil = e.data.until;
			break;
		case "run.cancelling":
		case "run.alert":
			break;
		case "run.message":
			state.messages.push({ from: e.data.from, text: e.data.text, at: e.ts });
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
function reopen(state: RunState, id: string, e: CrewEvent, why: string, endedAt = e.ts): void {
	const task = state.tasks.get(id);
	if (!task || task.status === "succeeded" || task.status === "pending") {
		state.anomalies.push(`seq ${e.seq}: cannot reopen task "${id}" (${task?.status ?? "unknown"})`);
		return;
	}
	closeAttempt(task, endedAt, task.reason ?? why);
	task.status = "pending";
	task.awaitingRetry = false;
	task.reason = undefined;
	task.endedAt = undefined;
	task.deadLetter = undefined;
	task.heartbeat = undefined;
	// A question outlives its attempt (asked again, it is answered from the log); a draft to approve does not.
	if (task.waiting?.kind === "approval") task.waiting = undefined;
}

/**
 * A loop's next round: its tasks go back to pending whatever they were (the loop step itself is running), their
 * merged or committed work left behind (the next round commits and merges anew); the `to` task keeps the finding.
 */
function loopBack(state: RunState, data: EventPayloads["task.looped"], e: CrewEvent): void {
	for (const id of data.reopened) {
		const task = state.tasks.get(id);
		if (!task) {
			state.anomalies.push(`seq ${e.seq}: loop reopens unknown task "${id}"`);
			continue;
		}
		closeAttempt(task, e.ts, `round ${data.round - 1} not clean`);
		task.status = "pending";
		task.round = data.round;
		task.awaitingRetry = false;
		task.reason = undefined;
		task.endedAt = undefined;
		task.heartbeat = undefined;
		task.waiting = undefined;
		task.committed = undefined;
		task.conflict = undefined;
		if (id === data.to) task.finding = data.finding;
	}
}

/**
 * A task's time: the sum of its attempts' running time, each from its start to its end (an attempt still open runs
 * until `openEnd`); the waits between attempts and the pause while no coordinator ran are not in it. Undefined before
 * its first start.
 */
export function runningMs(attempts: readonly Attempt[], openEnd: number): number | undefined {
	if (attempts.length === 0) return undefined;
	return attempts.reduce((sum, a) => {
		const start = Date.parse(a.startedAt);
		return sum + Math.max(0, (a.endedAt ? Date.parse(a.endedAt) : openEnd) - start);
	}, 0);
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
	// A refused steer that named no task, or a task the run does not have, changes nothing: an audit record.
	if (!task && e.type === "task.steered" && !e.data.delivered) return state;
	if (!task) {
		refusal(state, `seq ${e.seq}: ${e.type} for unknown task "${id}"`);
		return state;
	}
	if (e.type === "task.depends") {
		if (task.status !== "pending") refusal(state, `seq ${e.seq}: task ${id} rewired while ${task.status}`);
		else task.dependsOn = [...new Set([...task.dependsOn, ...e.data.add])];
		return state;
	}
	if (applyConversationEvent(state, task, e)) return state;
	if (e.type === "task.looped") {
		if (task.status !== "running") refusal(state, `seq ${e.seq}: task ${id} looped while ${task.status}`);
		else loopBack(state, e.data, e);
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
	if (!applyAttemptEvent(state, task, e) && !applyProgressEvent(state, task, e)) applyOutcomeEvent(state, task, e);
	return state;
}

/**
 * What is said to a task and what it waits for (messages, questions, approvals); `false` for another family. A
 * question outlives the attempt that asked it (a resume shows it again) until it is answered or the task ends.
 */
function applyConversationEvent(state: RunState, task: TaskState, e: CrewEvent): boolean {
	const refuse = (why: string) => refusal(state, `seq ${e.seq}: ${e.type} of task ${task.id} ${why}`);
	switch (e.type) {
		case "task.message":
			task.messages = [...(task.messages ?? []), { ...e.data, at: e.ts }];
			return true;
		case "task.steered": {
			const sent = e.data.message ? task.messages?.find((m) => m.id === e.data.message) : undefined;
			if (sent) sent.delivered = e.data.delivered;
			return true;
		}
		case "task.asked":
			if (task.status !== "running") refuse(`while ${task.status}`);
			else task.waiting = { kind: "question", ...e.data, since: e.ts };
			return true;
		case "task.awaiting_approval":
			if (task.status !== "running") refuse(`while ${task.status}`);
			else task.waiting = { kind: "approval", ...e.data, since: e.ts };
			return true;
		case "task.answered":
		case "task.approved":
		case "task.rejected":
			if (task.waiting?.id !== e.data.id) refuse(`for "${e.data.id}", which it is not waiting for`);
			else task.waiting = undefined;
			return true;
		default:
			return false;
	}
}

/** An attempt starts or waits to be retried; `false` for an event of another family. */
function applyAttemptEvent(state: RunState, task: TaskState, e: CrewEvent): boolean {
	switch (e.type) {
		case "task.started":
			task.attempt = e.data.attempt;
			task.attempts.push({ attempt: e.data.attempt, startedAt: e.ts, ...(e.data.model && { model: e.data.model }) });
			task.awaitingRetry = false;
			task.startedAt ??= e.ts;
			task.promptPath = e.data.promptPath;
			task.heartbeat = "healthy";
			task.activity = { since: e.ts };
			// A draft waiting for approval belongs to the attempt that wrote it (a resumed run's new attempt answers anew).
			if (task.waiting?.kind === "approval") task.waiting = undefined;
			return true;
		case "task.retrying":
			if (task.status !== "running") {
				refusal(state, `seq ${e.seq}: task ${task.id} retrying while ${task.status}`);
				return true;
			}
			closeAttempt(task, e.ts, e.data.reason);
			task.awaitingRetry = true;
			// The next attempt starts afresh: it has asked nothing yet (only a reopen keeps a question, for a resume).
			task.waiting = undefined;
			return true;
		default:
			return false;
	}
}

/** What a running task is doing and spending (tool calls, pi's retries, usage, heartbeat); `false` for other events. */
function applyProgressEvent(state: RunState, task: TaskState, e: CrewEvent): boolean {
	switch (e.type) {
		case "task.tool":
			if (e.data.phase === "start") task.toolCalls++;
			task.activity =
				e.data.phase === "start"
					? { tool: e.data.tool, ...(e.data.summary ? { summary: e.data.summary } : {}), since: e.ts }
					: { since: e.ts, ...(e.data.isError ? { failed: failedCall(e.data) } : {}) };
			return true;
		case "task.model_retry":
			task.activity = { since: e.ts, ...(e.data.phase === "start" ? { retrying: e.data.attempt ?? 1 } : {}) };
			return true;
		case "task.usage":
			addUsage(task.usage, e.data);
			addUsage(state.usage, e.data);
			return true;
		case "task.heartbeat":
			task.heartbeat = e.data.level;
			return true;
		default:
			return false;
	}
}

/** How a task's work ended and what became of it (verified, committed, merged, conflicted, dead-lettered). */
function applyOutcomeEvent(state: RunState, task: TaskState, e: CrewEvent): void {
	switch (e.type) {
		case "task.verdict":
			task.verdict = { clean: e.data.clean, findings: e.data.findings, by: e.data.by, seq: e.seq };
			break;
		case "task.verified":
			if (task.attempts.length > 0) (task.attempts.at(-1) as Attempt).verified = e.data.passed;
			break;
		case "task.deadlettered":
			task.deadLetter = e.data.reason;
			break;
		case "task.succeeded":
			task.waiting = undefined;
			closeAttempt(task, e.ts);
			task.resultPath = e.data.resultPath;
			task.endedAt = e.ts;
			task.merged = e.data.merged;
			if (e.data.merged) state.merged = e.data.merged;
			task.conflict = undefined;
			task.resolving = undefined;
			break;
		case "task.committed": {
			const { resultPath, chars, commit, base } = e.data;
			task.committed = { resultPath, chars, commit, ...(base ? { base } : {}) };
			break;
		}
		case "task.changed":
			if ("skipped" in e.data) {
				task.unrecorded = e.data.skipped;
				state.treeUnrecorded = e.data.skipped;
				break;
			}
			task.changed = { from: task.changed?.from ?? e.data.from, to: e.data.to };
			state.tree = e.data.to;
			delete state.treeUnrecorded; // this tree holds what an unrecorded attempt changed before it
			break;
		case "task.resolving":
			task.resolving = { files: e.data.files, agent: e.data.agent, from: e.data.from };
			task.resolutions = (task.resolutions ?? 0) + 1;
			break;
		case "task.resolved":
			task.resolving = undefined;
			break;
		case "task.conflicted": {
			task.resolving = undefined;
			task.conflict = { files: e.data.files, branch: e.data.branch, worktree: e.data.worktree };
			const resolver = e.data.resolver ? `; ${e.data.resolver}` : "";
			task.reason = `${NEEDS_ATTENTION}: merging its work conflicts in ${e.data.files.join(", ")}${resolver}`;
			closeAttempt(task, e.ts, task.reason);
			task.endedAt = e.ts;
			break;
		}
		case "task.failed":
		case "task.skipped":
		case "task.cancelled":
			task.waiting = undefined;
			task.resolving = undefined;
			closeAttempt(task, e.ts, e.data.reason);
			task.reason = e.data.reason;
			task.endedAt = e.ts;
			break;
	}
}

/** `bash npm test (exit 1)`: a failed tool call in a few words. */
export function failedCall(d: { tool: string; summary?: string; exitCode?: number; error?: string }): string {
	const why = d.exitCode !== undefined ? `exit ${d.exitCode}` : (d.error ?? "failed");
	return `${d.tool}${d.summary ? ` ${d.summary}` : ""} (${why})`;
}

function targetStatus(e: CrewEvent): TaskStatus | undefined {
	switch (e.type) {
		case "task.started":
			return "running";
		case "task.succeeded":
			return "succeeded";
		case "task.failed":
		case "task.conflicted":
			return "failed";
		case "task.skipped":
			return "skipped";
		case "task.cancelled":
			return "cancelled";
		default:
			return undefined;
	}
}
