/**
 * The dashboard's panes as rows: the repository's runs, a run's task graph, its events, its dead-letters and alerts,
 * and its metrics. Pure functions of the projections and the clock; a list pane makes only the rows on screen.
 */
import { roundName } from "../engine/rounds.js";
import { formatTokens } from "../engine/summary.js";
import type { MetricSnapshot } from "../observability/metrics.js";
import { type ShownTaskStatus, shownStatus as shownTaskStatus, type TaskState } from "../store/events.js";
import { type RunView, shownStatus } from "../store/run-store.js";
import { TONE, type Tone, taskDetail } from "./board.js";
import { dataText, type EventRow, type RunList, type RunProjection } from "./projection.js";
import { eventTask } from "./render.js";
import { MARK, shortDuration, taskTime } from "./task-marks.js";
import { heading, type Line } from "./text.js";

/** A pane of selectable rows. */
export interface ListPane {
	count: number;
	row(i: number, selected: boolean): Line;
	/** The run and task a row is about: what Enter opens and the action keys act on. */
	target(i: number): { runId?: string; taskId?: string };
	/** What the pane says when it has no rows. */
	empty: string;
}

const gutter = (selected: boolean) => (selected ? "› " : "  ");

/** Whether every word of `filter` occurs in `text` (case-insensitive). */
export function matches(filter: string, text: string): boolean {
	const hay = text.toLowerCase();
	return filter
		.toLowerCase()
		.split(/\s+/)
		.every((word) => hay.includes(word));
}

function elapsed(from: string | undefined, to: string | undefined, now: number): number | undefined {
	return from ? (to ? Date.parse(to) : now) - Date.parse(from) : undefined;
}

export function runsPane(list: RunList, filter: string, now: number): ListPane & { views: RunView[] } {
	const views = filter
		? list.views.filter((v) => matches(filter, `${v.state.runId} ${v.status} ${v.state.team} ${v.state.goal}`))
		: list.views;
	return {
		views,
		count: views.length + list.broken.length,
		row(i, selected) {
			const v = views[i];
			if (!v) {
				const b = list.broken[i - views.length];
				return { text: `${gutter(selected)}✗ ${b?.runId}  unreadable: ${b?.error}`, tone: "error", selected };
			}
			const tasks = [...v.state.tasks.values()];
			const done = tasks.filter((t) => t.status === "succeeded").length;
			const time = shortDuration(elapsed(v.state.createdAt, v.state.endedAt, now));
			const text = `${gutter(selected)}${MARK[v.status] ?? "!"} ${v.state.runId}  ${shownStatus(v).padEnd(11)} ${v.state.team.padEnd(14)} ${`${done}/${tasks.length}`.padStart(5)} ${time.padStart(7)} ${formatTokens(v.state.usage.total).padStart(6)} tok  ${v.state.goal.split("\n")[0]}`;
			return { text, tone: TONE[v.status] ?? "text", selected };
		},
		target: (i) => ({ runId: views[i]?.state.runId ?? list.broken[i - views.length]?.runId }),
		empty: filter ? `no run matches "${filter}"` : "no pi-crew runs in this repository yet",
	};
}

/** The run's task graph: made only of the rows on screen (the tree itself is cached on the projection). */
export function graphPane(run: RunProjection, now: number): ListPane & { rowOf(taskId: string): number } {
	const state = run.view?.state;
	const { entries: tree, index, widest } = run.graph();
	const label = (depth: number, id: string, status: string) => `${"  ".repeat(depth)}${MARK[status] ?? "?"} ${id}`;
	const width = Math.min(32, Math.max(12, widest));
	return {
		rowOf: (taskId) => index.get(taskId) ?? -1,
		count: tree.length,
		row(i, selected) {
			const entry = tree[i];
			if (!entry || !state) return { text: "" };
			const { task: t, depth } = entry;
			// `3 att`, not `×3`: a loop round reads `execute ×3` in the same row.
			const attempts = t.attempts.length > 1 ? `${t.attempts.length} att` : "";
			const tokens = t.usage.total > 0 ? `${formatTokens(t.usage.total)} tok` : "";
			const also = t.dependsOn.length > 1 ? ` (also after ${t.dependsOn.slice(1).join(", ")})` : "";
			const time = shortDuration(run.view ? taskTime(t, run.view, now) : undefined);
			const status = shownTaskStatus(t);
			const text = `${gutter(selected)}${label(depth, roundName(t), status).padEnd(width)} ${status.padEnd(9)} ${attempts.padStart(6)} ${time.padStart(7)} ${tokens.padStart(9)}  ${taskDetail(t, state, now)}${also}`;
			return { text: text.trimEnd(), tone: TONE[status] ?? "text", selected };
		},
		target: (i) => ({ runId: run.runId, taskId: tree[i]?.task.id }),
		empty: state ? "no tasks planned" : "loading…",
	};
}

function eventTone(e: EventRow): Tone {
	if (/^task\.(failed|deadlettered)$/.test(e.type)) return "error";
	if (/^(task\.retrying|run\.alert|run\.throttled|run\.cancelling|task\.cancelled)$/.test(e.type)) return "warning";
	if (e.type === "task.heartbeat") return (e.data as { level?: string }).level === "healthy" ? "muted" : "warning";
	if (e.type === "task.succeeded") return "success";
	if (e.type.startsWith("run.")) return "accent";
	return e.type === "task.usage" ? "muted" : "text";
}

/** The events at `rows` (indices into the run's events, filtered by the caller). */
export function eventsPane(run: RunProjection, rows: number[], filter: string): ListPane {
	return {
		count: rows.length,
		row(i, selected) {
			const e = run.events[rows[i] ?? -1];
			if (!e) return { text: "" };
			const text = `${gutter(selected)}${String(e.seq).padStart(5)} ${e.ts.slice(11, 23)} ${e.type.padEnd(17)} ${eventTask(e).padEnd(12)} ${dataText(e.data)}`;
			return { text, tone: eventTone(e), selected };
		},
		target: (i) => ({ runId: run.runId, taskId: run.events[rows[i] ?? -1]?.taskId }),
		empty: filter ? `no event matches "${filter}"` : "no events yet",
	};
}

/** The tasks shown as `statuses`, in plan order, from the projection's tally: not every task visited. */
function tasksOf(run: RunProjection, statuses: ("waiting" | "running" | "failed")[]): TaskState[] {
	return byPlan(
		run,
		statuses.flatMap((s) => [...run.tally.ids(s)]),
	);
}

/** The tasks of `ids`, in plan order. */
function byPlan(run: RunProjection, ids: string[]): TaskState[] {
	const state = run.view?.state;
	ids.sort((a, b) => run.tally.order(a) - run.tally.order(b));
	return ids.flatMap((id) => state?.tasks.get(id) ?? []);
}

/**
 * What needs a person: dead-lettered tasks (requeue them with u), tasks whose merge conflicted, running tasks whose
 * heartbeat is not healthy, and the run's alerts.
 */
export function alertsPane(run: RunProjection): ListPane {
	// Dead-lettered tasks are failed ones, silent ones run: only those are looked at, not every task.
	const letters = tasksOf(run, ["failed"]).filter((t) => t.deadLetter);
	const conflicted = byPlan(run, [...run.tally.conflicts()]);
	const silent = tasksOf(run, ["running", "waiting"]).filter(
		(t) => t.status === "running" && t.heartbeat && t.heartbeat !== "healthy",
	);
	const rows: { line: (selected: boolean) => Line; taskId?: string }[] = [
		...letters.map((t) => ({
			taskId: t.id,
			line: (s: boolean): Line => ({
				text: `${gutter(s)}✉ ${t.id.padEnd(16)} ${(t.deadLetter ?? "").padEnd(15)} ${t.attempts.length} attempt(s)  ${(t.reason ?? "").split("\n")[0]}`,
				tone: "error",
				selected: s,
			}),
		})),
		...conflicted.map((t) => ({
			taskId: t.id,
			line: (s: boolean): Line => ({
				text: `${gutter(s)}⚑ ${t.id.padEnd(16)} merge conflict in ${t.conflict?.files.join(", ")}: resolve on ${t.conflict?.branch}`,
				tone: "error",
				selected: s,
			}),
		})),
		...silent.map((t) => ({
			taskId: t.id,
			line: (s: boolean): Line => ({
				text: `${gutter(s)}♥ ${t.id.padEnd(16)} heartbeat ${t.heartbeat}`,
				tone: t.heartbeat === "warn" ? "warning" : "error",
				selected: s,
			}),
		})),
		...run.alerts.map((a) => ({
			line: (s: boolean): Line => ({
				text: `${gutter(s)}⚠ ${a.ts.slice(11, 19)} ${a.kind}: ${a.message}`,
				tone: "warning",
				selected: s,
			}),
		})),
	];
	return {
		count: rows.length,
		row: (i, selected) => rows[i]?.line(selected) ?? { text: "" },
		target: (i) => ({ runId: run.runId, taskId: rows[i]?.taskId }),
		empty: "no dead-lettered or conflicted tasks, no alerts, every running task's heartbeat healthy",
	};
}

const SPARK = "▁▂▃▄▅▆▇█";

/** A bar of `value` out of `max`, at most `width` cells (at least one for any value above 0). */
function bar(value: number, max: number, width: number): string {
	if (max <= 0 || value <= 0) return "";
	const cells = Math.max(1, Math.round((value / max) * width));
	return "█".repeat(cells);
}

/** Per label value (`status`, `kind`, ...) of a metric, summed over its other labels. */
function sumBy(m: MetricSnapshot | undefined, label: string): Map<string, number> {
	const out = new Map<string, number>();
	if (m?.type !== "counter") return out;
	for (const s of m.series) out.set(s.labels[label] ?? "", (out.get(s.labels[label] ?? "") ?? 0) + s.value);
	return out;
}

function bars(values: Map<string, number>, width: number, format: (n: number) => string): Line[] {
	const max = Math.max(0, ...values.values());
	const room = Math.max(4, Math.min(40, width - 30));
	return [...values].map(([k, v]) => ({
		text: `  ${k.padEnd(14)} ${format(v).padStart(7)} ${bar(v, max, room)}`,
		tone: "text" as Tone,
	}));
}

/** Events over the run's life, one character per time slot. */
function activity(run: RunProjection, width: number, now: number): Line[] {
	const state = run.view?.state;
	if (!state || run.events.length === 0) return [];
	const from = Date.parse(state.createdAt);
	const span = Math.max(1, (state.endedAt ? Date.parse(state.endedAt) : now) - from);
	const slots = Math.max(8, Math.min(100, width - 4));
	const counts = new Array<number>(slots).fill(0);
	for (const e of run.events) {
		const i = Math.min(slots - 1, Math.max(0, Math.floor(((e.at - from) / span) * slots)));
		counts[i] = (counts[i] ?? 0) + 1;
	}
	const max = Math.max(...counts);
	const slot = span / slots;
	const spark = counts.map((c) => (c === 0 ? " " : SPARK[Math.min(7, Math.floor((c / max) * 7.999))])).join("");
	return [
		{
			text: `  ${run.events.length} events; one column is ${slot < 1000 ? `${Math.max(1, Math.round(slot))}ms` : shortDuration(slot)}, the highest ${max}`,
			tone: "muted",
		},
		{ text: `  ${spark}`, tone: "accent" },
	];
}

/** The order of the task counts of the metrics pane. */
const NOW_ORDER: ShownTaskStatus[] = ["succeeded", "failed", "running", "waiting", "pending", "skipped", "cancelled"];

export function metricLines(run: RunProjection, width: number, now: number): Line[] {
	const state = run.view?.state;
	if (!state) return [{ text: "loading…", tone: "muted" }];
	const metrics = new Map(run.metricSnapshot(now).map((m) => [m.name, m]));
	const ms = (v: number | null) => (v === null ? "-" : shortDuration(v));
	const lines: Line[] = [heading("task endings (a requeued task ends again)", width)];
	lines.push(...bars(sumBy(metrics.get("crew.task.count"), "status"), width, String));
	const counts = NOW_ORDER.filter((s) => run.tally.count(s) > 0).map((s) => `${run.tally.count(s)} ${s}`);
	lines.push({ text: `  now: ${counts.join(" · ")}`, tone: "muted" });
	lines.push(heading("durations", width));
	lines.push({
		text: "  quantiles as /metrics reports them: exact up to 1000 values, estimated in range beyond",
		tone: "muted",
	});
	const histograms: [string, string, string][] = [
		["crew.task.duration_ms", "task", "role"],
		["crew.run.duration_ms", "run", "team"],
		["crew.task.retry_count", "retries", "role"],
	];
	for (const [name, what, by] of histograms) {
		const m = metrics.get(name);
		if (m?.type !== "histogram") continue;
		const value = (v: number | null) => (m.unit === "ms" ? ms(v) : String(v ?? "-"));
		for (const s of m.series)
			lines.push({
				text: `  ${`${what} ${s.labels[by] ?? ""}`.padEnd(22)} n=${String(s.count).padEnd(4)} p50 ${value(s.p50).padStart(6)}  p95 ${value(s.p95).padStart(6)}`,
				tone: "text",
			});
	}
	lines.push(heading("tokens", width));
	lines.push(...bars(sumBy(metrics.get("crew.task.tokens_total"), "kind"), width, formatTokens));
	if (state.usage.cost !== undefined) lines.push({ text: `  cost $${state.usage.cost.toFixed(4)}`, tone: "text" });
	lines.push(heading("heartbeat (reports by level, then each running task)", width));
	lines.push(...bars(new Map(Object.entries(run.heartbeats)), width, String));
	for (const t of tasksOf(run, ["running", "waiting"]).filter((t) => t.status === "running"))
		lines.push({
			text: `  ${t.id.padEnd(16)} ${t.heartbeat ?? "healthy"}`,
			tone: t.heartbeat && t.heartbeat !== "healthy" ? "warning" : "success",
		});
	const dead = sumBy(metrics.get("crew.deadletter.count"), "reason");
	if (dead.size > 0)
		lines.push({ text: `  dead-lettered: ${[...dead].map(([r, n]) => `${n} ${r}`).join(" · ")}`, tone: "error" });
	lines.push(heading("activity", width));
	lines.push(...activity(run, width, now));
	return lines;
}
