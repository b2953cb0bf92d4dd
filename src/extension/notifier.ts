/**
 * The one notifier of pi-crew in a pi session: what a run's log says that a person should hear about now. Each event
 * maps to a kind (run finished, dead-letter, heartbeat, budget, rate limit, alert, a task's message to the lead, a task's
 * question or answer to approve) and a
 * severity; a kind can be silenced in the config (`notifications: { heartbeat: false }`), and one notice per kind per
 * run per minute is enough (ten tasks going stale at once make one notice); each different message is told.
 */
import type { NoticeKind } from "../config/home.js";
import { formatTokens } from "../engine/summary.js";
import type { CrewEvent, RunState } from "../store/events.js";
import { inertLine } from "../util/inert.js";
import { shortDuration } from "../view/task-marks.js";

export type Severity = "info" | "warning" | "error";

export interface Notice {
	kind: NoticeKind;
	severity: Severity;
	text: string;
}

const DEDUPE_MS = 60_000;

/** The notice an event calls for, if any. */
export function noticeFor(e: CrewEvent, state: RunState): Notice | undefined {
	const run = `run ${e.runId} (${state.team})`;
	switch (e.type) {
		case "run.finished": {
			const { status, reason } = e.data;
			if (reason?.startsWith("budget-exceeded"))
				return { kind: "budget", severity: "warning", text: `pi-crew: ${run} stopped: ${reason}` };
			const took = state.endedAt ? shortDuration(Date.parse(state.endedAt) - Date.parse(state.createdAt)) : "";
			const detail =
				status === "succeeded"
					? ` in ${took}, ${formatTokens(state.usage.total)} tokens; see /team-status ${e.runId}`
					: `${reason ? `: ${reason.split("\n")[0]}` : ""}; /team-status ${e.runId}`;
			return {
				kind: "runFinished",
				severity: status === "succeeded" ? "info" : status === "failed" ? "error" : "warning",
				text: `pi-crew: ${run} ${status}${detail}`,
			};
		}
		case "task.deadlettered":
			return {
				kind: "deadLetter",
				severity: "warning",
				text: `pi-crew: task ${e.taskId} of ${run} dead-lettered (${e.data.reason}); requeue: pi-crew deadletter requeue ${e.runId}`,
			};
		case "task.heartbeat":
			if (e.data.level !== "stale" && e.data.level !== "dead") return undefined;
			return {
				kind: "heartbeat",
				severity: e.data.level === "dead" ? "error" : "warning",
				text: `pi-crew: task ${e.taskId} of ${run}: heartbeat ${e.data.level} (no output for ${shortDuration(e.data.silentMs)})`,
			};
		case "run.throttled":
			return {
				kind: "rateLimit",
				severity: "warning",
				text: `pi-crew: ${run} rate limited: no task starts for ${shortDuration(e.data.delayMs)}`,
			};
		case "run.alert":
			return {
				kind: "alert",
				severity: e.data.kind === "sandbox-unavailable" ? "warning" : "error",
				text: `pi-crew: ${run}: ${e.data.message}`,
			};
		case "run.message":
			return {
				kind: "message",
				severity: "info",
				text: `pi-crew: ${inertLine(e.data.from)} of ${run} says: ${inertLine(e.data.text)}`,
			};
		case "task.asked": {
			const choices = e.data.choices?.length ? ` [${e.data.choices.map(inertLine).join(" | ")}]` : "";
			return {
				kind: "question",
				severity: "warning",
				text: `pi-crew: task ${e.taskId} of ${run} asks: ${inertLine(e.data.text)}${choices}; answer: /team-respond ${e.runId} ${e.taskId} <answer>`,
			};
		}
		case "task.awaiting_approval":
			return {
				kind: "question",
				severity: "warning",
				text: `pi-crew: task ${e.taskId} of ${run} waits for approval of its answer (round ${e.data.round}); /team-approve ${e.runId}`,
			};
		default:
			return undefined;
	}
}

export class Notifier {
	private readonly last = new Map<string, number>();

	constructor(
		private readonly send: (text: string, severity: Severity) => void,
		/** Kinds the user silenced. */
		private readonly silenced: ReadonlySet<NoticeKind> = new Set(),
		private readonly now: () => number = Date.now,
	) {}

	/** Sends the event's notice unless its kind is silenced or was sent for this run within the last minute. */
	onEvent(e: CrewEvent, state: RunState): void {
		const notice = noticeFor(e, state);
		if (!notice || this.silenced.has(notice.kind)) return;
		// A message is its own news: only the same words again within the minute are held back; each question too.
		const own =
			e.type === "run.message"
				? `:${e.data.from}:${e.data.text}`
				: e.type === "task.asked" || e.type === "task.awaiting_approval"
					? `:${e.data.id}:${"round" in e.data ? e.data.round : ""}`
					: "";
		const key = `${notice.kind}:${e.runId}${own}`;
		const at = this.now();
		const previous = this.last.get(key);
		// A run ends once: its notice is never held back by an earlier one of the same kind.
		if (previous !== undefined && at - previous < DEDUPE_MS && e.type !== "run.finished") return;
		this.last.set(key, at);
		this.send(notice.text, notice.severity);
	}
}
