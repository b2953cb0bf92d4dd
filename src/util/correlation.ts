/**
 * Correlation ids: `{runId}:{taskId}:{span}` on every event, log line and metric exemplar, so one id finds everything
 * about one task attempt. The current id travels with the async work through AsyncLocalStorage: the coordinator opens
 * the run's span, each task attempt opens its own, and whatever is logged or recorded inside inherits it.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface Correlation {
	runId: string;
	/** Absent for the run itself. */
	taskId?: string;
	/** A task's attempt number, `0` for its scheduling (planned, skipped); the coordinator segment for the run. */
	span: string;
}

const storage = new AsyncLocalStorage<Correlation>();

export function withCorrelation<T>(correlation: Correlation, fn: () => T): T {
	return storage.run(correlation, fn);
}

export function currentCorrelation(): Correlation | undefined {
	return storage.getStore();
}

export function correlationId(c: Correlation): string {
	return `${c.runId}:${c.taskId ?? "-"}:${c.span}`;
}

/**
 * The id an event of `runId` (about `taskId`) carries: the current span when it is this run's and this task's (or a
 * run-level event raised inside a task, such as the rate-limit gate closing), else the task's scheduling span.
 */
export function eventCorrelationId(runId: string, taskId: string | undefined): string {
	const c = storage.getStore();
	if (c && c.runId === runId && (taskId === undefined || c.taskId === taskId)) return correlationId(c);
	return correlationId({ runId, taskId, span: taskId === undefined ? "1" : "0" });
}

/** A log line prefixed with the current correlation id, if any. */
export function correlatedLine(message: string): string {
	const c = storage.getStore();
	return c ? `[${correlationId(c)}] ${message}` : message;
}
