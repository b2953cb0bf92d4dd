/**
 * Dead-letter: tasks given up on (retries exhausted, heartbeat dead, or by hand). The run's log is the only record
 * (`task.deadlettered`); the queue is derived from it (`pi-crew deadletter --json` prints it), so it cannot disagree
 * with the log, and a requeued task leaves it by itself.
 */
import type { DeadLetterReason, RunState } from "../store/events.js";

export interface DeadLetter {
	ts: string;
	runId: string;
	taskId: string;
	reason: DeadLetterReason;
	detail: string;
	attempts: number;
}

/** Alert when more than this many dead-letters happened within the window. */
export const DEADLETTER_ALERT = { count: 3, windowMs: 60 * 60_000 };

/** Dead-lettered tasks of a run that are still failed (a requeued task leaves the queue). */
export function deadLetters(state: RunState): DeadLetter[] {
	return [...state.tasks.values()]
		.filter((t) => t.deadLetter && t.status === "failed")
		.map((t) => ({
			ts: t.endedAt ?? "",
			runId: state.runId,
			taskId: t.id,
			reason: t.deadLetter as DeadLetterReason,
			detail: t.reason ?? "",
			attempts: t.attempts.length,
		}));
}
