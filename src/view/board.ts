/**
 * The live board of a run: its team, progress, each task with state, elapsed time and what it is doing, tokens and
 * cost. A pure function of the run's fold and the clock, fitted to a width (60 to 200 columns and beyond), shared by
 * the widget in pi and `pi-crew status --watch`. Rows carry a tone; each face colours them its own way.
 */
import stringWidth from "string-width";
import { roundName } from "../engine/rounds.js";
import { formatCost, formatTokens } from "../engine/summary.js";
import { type RunState, type RunStatus, shownStatus as shownTaskStatus, type TaskState } from "../store/events.js";
import type { Integrity } from "../store/log-chain.js";
import { shownStatus } from "../store/run-store.js";
import { inertLine } from "../util/inert.js";
import { NOTABLE, TaskTally } from "./tally.js";
import { MARK, shortDuration, taskTime } from "./task-marks.js";

export type Tone = "accent" | "success" | "warning" | "error" | "muted" | "text";

export interface BoardLine {
	text: string;
	tone: Tone;
}

export interface BoardOptions {
	/** Now, in ms since the epoch: running tasks and runs show time elapsed until now. */
	now: number;
	width: number;
	/**
	 * Waiting, running and failed tasks only, at most COMPACT_ROWS of them, with a count of the rest (the widget above
	 * pi's editor); else every task.
	 */
	compact?: boolean;
}

/** How a task or run status reads. */
export const TONE: Record<string, Tone> = {
	pending: "muted",
	running: "accent",
	succeeded: "success",
	failed: "error",
	skipped: "muted",
	cancelled: "warning",
	waiting: "warning",
	interrupted: "warning",
	tampered: "error",
};

/**
 * A run as the board reads it: its fold, its status, whether its log verifies (a tampered one says so), and the tally
 * of its tasks kept as the log is folded (without one, the board counts them).
 */
type BoardView = { state: RunState; status: RunStatus; integrity?: Integrity; tally?: TaskTally };

/** Task rows of a compact board at most, whatever the size of the run: the others are counted. */
export const COMPACT_ROWS = 12;
const LEFT_OUT = { waiting: "waiting for a person", running: "running", failed: "failed" } as const;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * Fits one line into `width` terminal columns (a CJK character or an emoji takes two): made inert (line breaks become
 * spaces, controls and bidi overrides show as `\u` and four hex digits), an overlong line ends with `…`. A line wider than the
 * terminal would break pi's screen.
 */
export function fit(text: string, width: number): string {
	const flat = inertLine(text);
	if (stringWidth(flat) <= width) return flat;
	let out = "";
	let used = 0;
	for (const { segment } of graphemes.segment(flat)) {
		const w = stringWidth(segment);
		if (used + w > width - 1) break;
		out += segment;
		used += w;
	}
	return `${out}…`;
}

/** `fit`, then padded with spaces to exactly `width` columns. */
function cell(text: string, width: number): string {
	const fitted = fit(text, width);
	return fitted + " ".repeat(Math.max(0, width - stringWidth(fitted)));
}

function elapsed(from: string | undefined, to: string | undefined, now: number): number | undefined {
	if (!from) return undefined;
	return Math.max(0, (to ? Date.parse(to) : now) - Date.parse(from));
}

function money(cost: number | undefined): string {
	return cost === undefined ? "" : ` · ${formatCost(cost)}`;
}

/** What a task is doing or why it ended, in a few words. */
export function taskDetail(t: TaskState, state: RunState, now: number): string {
	const w = t.waiting;
	if (w && shownTaskStatus(t) === "waiting") {
		const since = ` (${shortDuration(elapsed(w.since, undefined, now))})`;
		if (w.kind === "approval") return `waits for approval of its answer, round ${w.round}${since}`;
		const choices = w.choices?.length ? ` [${w.choices.join(" | ")}]` : "";
		return `asks${since}: ${inertLine(w.text)}${choices}`;
	}
	if (t.status === "running") {
		const a = t.activity;
		const doing = a?.tool
			? `${a.tool}${a.summary ? ` ${a.summary}` : ""}`
			: a?.retrying
				? `retrying (${a.retrying})`
				: "thinking";
		const since = a ? ` (${shortDuration(elapsed(a.since, undefined, now))})` : "";
		const failed = a?.failed ? ` · ✗ ${inertLine(a.failed)}` : "";
		const beat = t.heartbeat && t.heartbeat !== "healthy" ? ` · heartbeat ${t.heartbeat}` : "";
		const attempt = t.attempt > 1 ? ` · attempt ${t.attempt}` : "";
		const resolving = t.resolving ? `resolving conflict (${inertLine(t.resolving.agent)}) · ` : "";
		return `${resolving}${doing}${since}${failed}${attempt}${beat}`;
	}
	if (t.status === "pending") {
		const waiting = t.dependsOn.filter((d) => state.tasks.get(d)?.status !== "succeeded");
		return waiting.length > 0 ? `waiting for ${waiting.join(", ")}` : "ready";
	}
	return t.reason?.split("\n")[0] ?? "";
}

/**
 * Column widths of a board: its longest task name (`execute ×2`) and role, within bounds (a long one is cut, not the
 * others moved).
 */
function columns(tasks: TaskState[]): { id: number; role: number } {
	const longest = (xs: string[], min: number, max: number) => Math.min(max, Math.max(min, ...xs.map((x) => x.length)));
	return {
		id: longest(
			tasks.map((t) => roundName(t)),
			8,
			24,
		),
		role: longest(
			tasks.map((t) => t.role),
			8,
			18,
		),
	};
}

function taskLine(
	t: TaskState,
	view: BoardView,
	now: number,
	width: number,
	cols: { id: number; role: number },
): BoardLine {
	const time = shortDuration(taskTime(t, view, now));
	const tokens = t.usage.total > 0 ? `${formatTokens(t.usage.total)} tok` : "";
	const status = shownTaskStatus(t);
	const head = `  ${MARK[status] ?? "?"} ${cell(roundName(t), cols.id)} ${cell(t.role, cols.role)} ${time.padStart(7)} ${tokens.padStart(9)}`;
	const text = `${head}  ${taskDetail(t, view.state, now)}`.trimEnd();
	return { text: fit(text, width), tone: TONE[status] ?? "text" };
}

/** How a person answers what a waiting task waits for, in pi: the line under its row. */
export function answerHint(runId: string, t: TaskState): string | undefined {
	if (!t.waiting || shownTaskStatus(t) !== "waiting") return undefined;
	return t.waiting.kind === "question"
		? `answer: /team-respond ${runId} ${t.id} <answer>`
		: `approve or reject: /team-approve ${runId}`;
}

/** The board's first line: the run, its status and progress, its time and its tokens. */
export function boardHead(
	view: BoardView,
	options: BoardOptions,
	tally = view.tally ?? TaskTally.of(view.state),
): BoardLine {
	const { state } = view;
	const status = shownStatus(view);
	const failed = tally.count("failed");
	const time = shortDuration(elapsed(state.createdAt, state.endedAt, options.now));
	const head = [
		`pi-crew ${state.team}`,
		state.runId,
		`${status} ${tally.count("succeeded")}/${tally.total}`,
		failed > 0 ? `${failed} failed` : "",
		time,
		`${formatTokens(state.usage.total)} tok${money(state.usage.cost)}`,
	]
		.filter(Boolean)
		.join(" · ");
	return { text: fit(head, options.width), tone: TONE[status] ?? "accent" };
}

/**
 * The tasks a compact board lists: the first COMPACT_ROWS of those waiting, then running, then failed (the longest
 * waiting or running, the first to fail), in plan order; and how many of each it leaves out. Reads only what it shows.
 */
function compactTasks(state: RunState, tally: TaskTally): { shown: TaskState[]; left: string[] } {
	const shown: TaskState[] = [];
	const left: string[] = [];
	for (const status of NOTABLE) {
		const ids = tally.ids(status);
		let taken = 0;
		for (const id of ids) {
			if (shown.length >= COMPACT_ROWS) break;
			const task = state.tasks.get(id);
			if (task) shown.push(task);
			taken++;
		}
		if (ids.size > taken) left.push(`${ids.size - taken} more ${LEFT_OUT[status]}`);
	}
	shown.sort((a, b) => tally.order(a.id) - tally.order(b.id));
	return { shown, left };
}

export function renderBoard(view: BoardView, options: BoardOptions): BoardLine[] {
	const { state, status } = view;
	const { now, width } = options;
	const tally = view.tally ?? TaskTally.of(state);
	const lines: BoardLine[] = [boardHead(view, options, tally)];
	if (state.throttledUntil && Date.parse(state.throttledUntil) > now)
		lines.push({
			text: fit(`  ⏸ rate limited: no task starts for ${shortDuration(Date.parse(state.throttledUntil) - now)}`, width),
			tone: "warning",
		});
	const { shown, left } = options.compact ? compactTasks(state, tally) : { shown: [...state.tasks.values()], left: [] };
	const cols = columns(shown);
	for (const t of shown) {
		lines.push(taskLine(t, view, now, width, cols));
		const hint = answerHint(state.runId, t);
		if (hint) lines.push({ text: fit(`      ${hint}`, width), tone: "warning" });
	}
	if (options.compact && shown.length < tally.total) {
		const count = (s: "succeeded" | "pending" | "skipped" | "cancelled", as: string) =>
			tally.count(s) ? `${tally.count(s)} ${as}` : "";
		const rest = [
			...left,
			count("succeeded", "done"),
			count("pending", "waiting"),
			count("skipped", "skipped"),
			count("cancelled", "cancelled"),
		].filter(Boolean);
		lines.push({ text: fit(`  ${rest.join(" · ")}`, width), tone: "muted" });
	}
	if (state.reason && (status === "failed" || status === "cancelled"))
		lines.push({ text: fit(`  ${state.reason.split("\n")[0]}`, width), tone: TONE[status] ?? "text" });
	return lines;
}
