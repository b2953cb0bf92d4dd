/**
 * How a task reads in every view, board or text: its status's glyph and its time. Apart from the board (which measures
 * terminal columns): a text view such as `status` loads none of that.
 */
import { formatDuration } from "../engine/summary.js";
import type { RunState, RunStatus, TaskState } from "../store/events.js";
import { runningMs } from "../store/fold.js";

/** A task status's glyph. */
export const MARK: Record<string, string> = {
	pending: "·",
	running: "▶",
	succeeded: "✓",
	failed: "✗",
	skipped: "-",
	cancelled: "⊘",
	waiting: "?",
};

/**
 * A task's time so far: its attempts' running time (store/fold.ts runningMs). An attempt still open runs until now,
 * or, when the run's coordinator is gone, until its last event.
 */
export function taskTime(t: TaskState, view: { state: RunState; status: RunStatus }, now: number): number | undefined {
	return runningMs(t.attempts, view.status === "running" ? now : Date.parse(view.state.lastAt));
}

/** `1.2s`, `4m 05s`, `2h 03m`: short enough for a board column. */
export function shortDuration(ms: number | undefined): string {
	if (ms === undefined) return "-";
	if (ms < 60_000) return formatDuration(Math.round(ms / 100) * 100);
	const s = Math.floor(ms / 1000);
	if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
	return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
