/**
 * Dead-letter: tasks given up on (retries exhausted, heartbeat dead, or by hand). The run's log holds the truth
 * (`task.deadlettered`); `deadletter.jsonl` beside it is the same record in the queue format tools expect.
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import type { DeadLetterReason, RunState } from "../store/events.js";
import { redactStrings } from "../util/redact.js";

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

export function deadLetterFile(runDir: string): string {
	return join(runDir, "deadletter.jsonl");
}

export async function appendDeadLetter(runDir: string, entry: DeadLetter): Promise<void> {
	await appendFile(deadLetterFile(runDir), `${JSON.stringify(redactStrings(entry))}\n`);
}

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
