/** Human-readable output of the CLI: progress lines while a run goes, the task tree of a run, metrics, the config. */

import { join } from "node:path";
import type { effectiveConfig } from "../api/index.js";
import type { MetricSnapshot } from "../api/metrics.js";
import type { TeamModels } from "../api/model-policy.js";
import { formatSource } from "../config/home.js";
import { type LoopRound, loopRounds, roundName } from "../engine/rounds.js";
import { formatCost, formatDuration, formatTokens } from "../engine/summary.js";
import {
	type CrewEvent,
	type RunState,
	type ShownTaskStatus,
	shownStatus as shownTaskStatus,
	type TaskState,
	type Verdict,
	type Waiting,
} from "../store/events.js";
import { failedCall, runningMs } from "../store/fold.js";
import { type RunView, shownStatus, untrustedReason } from "../store/run-store.js";
import type { BoundSetting } from "../store/settings.js";
import { inertLine } from "../util/inert.js";
import { formatProblem } from "../util/yaml-source.js";
import { integrationBranch } from "../workspace/worktrees.js";
import { NOTABLE, TaskTally } from "./tally.js";
import { MARK, shortDuration, taskTime } from "./task-marks.js";

/** A message between tasks, or from a task to the lead, as one line: who to whom, and what. */
function thread(e: Extract<CrewEvent, { type: "task.message" | "run.message" }>): string {
	const to = e.type === "run.message" ? "lead" : (e.taskId ?? "");
	return `${inertLine(e.data.from)} → ${to}: ${inertLine(e.data.text)}`;
}

/** The task an event is about, with its loop round from the second on (`execute r2`); a run's event: nothing. */
export function eventTask(e: Pick<CrewEvent, "taskId" | "round">): string {
	return `${e.taskId ?? ""}${e.round ? ` r${e.round}` : ""}`;
}

/** What `pi-crew events` shows of an event: a message as its thread, anything else as its data. */
export function eventDetail(e: CrewEvent): string {
	if (e.type === "task.message") return `${thread(e)} (${e.data.id}, ${e.data.mode})`;
	return e.type === "run.message" ? thread(e) : JSON.stringify(e.data);
}

/** One progress line per meaningful event (tool ends and usage are folded into the task's end line). */
export function progressLine(e: CrewEvent, state: RunState): string | undefined {
	const task = e.taskId ? state.tasks.get(e.taskId) : undefined;
	const time = e.ts.slice(11, 19);
	switch (e.type) {
		case "run.started":
			return `${time} run ${e.runId}: team ${inertLine(state.team)}, workflow ${inertLine(state.workflow)}, ${state.tasks.size} tasks${notes(time, e.data.notes)}`;
		case "task.started":
			return `${time} ▶ ${e.taskId} (${task?.agent}) started`;
		case "task.tool":
			if (e.data.phase === "start")
				return `${time}   ${e.taskId}: ${inertLine(e.data.tool)} ${inertLine(e.data.summary ?? "")}`.trimEnd();
			return e.data.isError ? `${time}   ${e.taskId}: ✗ ${inertLine(failedCall(e.data))}` : undefined;
		case "task.succeeded":
			return `${time} ✓ ${e.taskId} succeeded in ${formatDuration(task && runningMs(task.attempts, Date.parse(e.ts)))}, ${formatTokens(task?.usage.total ?? 0)} tokens`;
		case "task.failed":
		case "task.skipped":
		case "task.cancelled":
			return `${time} ${MARK[e.type.slice(5)]} ${e.taskId} ${e.type.slice(5)}: ${inertLine(e.data.reason)}`;
		case "task.heartbeat":
			return e.data.level === "healthy"
				? undefined
				: `${time} ${e.data.level === "dead" ? "!!" : " !"} ${e.taskId}: heartbeat ${e.data.level} (no output for ${Math.round(e.data.silentMs / 1000)}s)`;
		case "task.retrying":
			return e.data.fallback
				? `${time} ↻ ${e.taskId} attempt ${e.data.attempt} failed (${inertLine(e.data.reason)}); going on with fallback model ${e.data.fallback}`
				: `${time} ↻ ${e.taskId} attempt ${e.data.attempt} failed (${inertLine(e.data.reason)}); ${e.data.rateLimited ? "waiting for the rate limit" : "retrying"} in ${formatDuration(e.data.delayMs)}`;
		case "task.model_retry":
			return e.data.phase === "start"
				? `${time} ↻ ${e.taskId}: model call failed${e.data.error ? ` (${inertLine(e.data.error)})` : ""}; retrying (${e.data.attempt ?? 1}${e.data.maxAttempts ? ` of ${e.data.maxAttempts}` : ""})${e.data.delayMs !== undefined ? ` in ${formatDuration(e.data.delayMs)}` : ""}`
				: undefined;
		case "task.verified":
			return `${time} ${e.data.passed ? "✓" : "✗"} ${e.taskId} verify \`${inertLine(e.data.command)}\` ${inertLine(e.data.reason ?? `exited ${e.data.code}`)}`;
		case "task.verdict":
			return `${time} ${e.data.clean ? "✓" : "✗"} ${e.taskId} ${verdictText(e.data)}`;
		case "task.looped": {
			const max = task?.loop ? ` of ${task.loop.max}` : "";
			const again = e.data.reopened.map(inertLine).join(", ");
			return `${time} ↺ ${e.taskId} not clean: ${again} run again (round ${e.data.round}${max}): ${inertLine(firstLine(e.data.finding))}`;
		}
		case "task.awaiting_approval":
			return `${time} ⏸ ${e.taskId} waits for approval (round ${e.data.round}): pi-crew approve ${e.runId} ${e.taskId}`;
		case "task.approved":
			return `${time} ✓ ${e.taskId} approved by ${inertLine(e.data.from)}${e.data.drop?.length ? ` (dropped: ${e.data.drop.map(inertLine).join(", ")})` : ""}`;
		case "task.rejected":
			return `${time} ↺ ${e.taskId} rejected by ${inertLine(e.data.from)}: ${inertLine(e.data.feedback)}`;
		case "task.deadlettered":
			return `${time} ✉ ${e.taskId} dead-lettered (${inertLine(e.data.reason)}); requeue: pi-crew deadletter requeue ${e.runId}`;
		case "task.message":
			return e.data.mode === "message" ? `${time} ✉ ${thread(e)}` : undefined;
		case "run.message":
			return `${time} ✉ ${thread(e)}`;
		case "run.throttled":
			return `${time} ⏸ rate limited: no task starts for ${formatDuration(e.data.delayMs)}`;
		case "run.cancelling":
			return `${time} cancelling (${e.data.source})`;
		case "run.resumed":
			return `${time} run ${e.runId} resumed; ${e.data.reopened.length} task(s) to run again: ${e.data.reopened.join(", ") || "none"}${e.data.changedAgents ? `\n${time} note: agent(s) ${e.data.changedAgents.join(", ")} changed since the run started; it goes on with the definitions it recorded` : ""}${e.data.bounded ? `\n${time} note: bounded by your config now: ${e.data.bounded.map(boundLine).join("; ")}` : ""}${notes(time, e.data.notes)}`;
		case "task.asked":
			return questionLines(e.runId, e.taskId ?? "", e.data, `${time} ? ${e.taskId} `).join("\n");
		case "task.answered":
			return `${time} ✓ ${e.taskId} answered${e.data.defaulted ? " (its default: nobody can answer)" : ""}: ${inertLine(e.data.text)}`;
		case "run.alert":
			return `${time} ⚠ ${inertLine(e.data.message)}`;
		case "run.finished":
			return `${time} run ${e.data.status}${e.data.reason ? `: ${inertLine(e.data.reason)}` : ""}`;
		default:
			return undefined;
	}
}

/** A task's question, and how to answer it. */
function questionLines(
	runId: string,
	taskId: string,
	q: { text: string; choices?: string[]; default?: string },
	indent: string,
): string[] {
	const options = [
		q.choices ? `choices: ${q.choices.map(inertLine).join(" | ")}` : "",
		q.default !== undefined ? `default: ${inertLine(q.default)}` : "",
	].filter(Boolean);
	return [
		`${indent}asks: ${inertLine(q.text)}${options.length ? ` (${options.join("; ")})` : ""}`,
		`${indent}answer: pi-crew respond ${runId} ${taskId} "<answer>"`,
	];
}

function notes(time: string, said: string[] | undefined): string {
	return (said ?? []).map((n) => `\n${time} note: ${n}`).join("");
}

function runDuration(state: RunState, now: number): string {
	return shortDuration((state.endedAt ? Date.parse(state.endedAt) : now) - Date.parse(state.createdAt));
}

/** A plan: each task with its role, agent and what it waits for. */
export function renderPlan(plan: {
	team: string;
	workflow: string;
	tasks: { id: string; role: string; agent: string; dependsOn: string[]; model?: string }[];
	piDefault?: string;
	modelProblems: string[];
}): string {
	const lines = [`Plan: team ${plan.team}, workflow ${plan.workflow}, ${plan.tasks.length} tasks (nothing runs)`];
	for (const t of plan.tasks) {
		const order = t.dependsOn.length > 0 ? `after ${t.dependsOn.join(", ")}` : "starts at once";
		lines.push(
			`  ${t.id.padEnd(20)} ${`${t.role} (${t.agent})`.padEnd(34)} ${order.padEnd(24)} ${t.model ?? "pi's default"}`,
		);
	}
	if (plan.piDefault) lines.push(`pi's default: ${plan.piDefault}`);
	// What a run would refuse: said here too, so the plan is never more hopeful than the run.
	if (plan.modelProblems.length > 0) lines.push("a run would not start:", ...plan.modelProblems.map((p) => `  ${p}`));
	return lines.join("\n");
}

/**
 * The tasks in tree order: each task once, under its first dependency (the others are noted, not drawn), with its
 * depth. Shared by the task tree of `status` and the dashboard's graph.
 */
export function taskTree(state: RunState): { task: TaskState; depth: number }[] {
	const children = new Map<string, TaskState[]>();
	const roots: TaskState[] = [];
	for (const t of state.tasks.values()) {
		const parent = t.dependsOn[0];
		if (!parent || !state.tasks.has(parent)) roots.push(t);
		else if (children.has(parent)) children.get(parent)?.push(t);
		else children.set(parent, [t]);
	}
	// An explicit stack, not recursion: a run's log may hold a chain of thousands of tasks (an imported bundle).
	const out: { task: TaskState; depth: number }[] = [];
	const stack = roots.map((task) => ({ task, depth: 0 })).reverse();
	for (let next = stack.pop(); next; next = stack.pop()) {
		out.push(next);
		const kids = children.get(next.task.id) ?? [];
		for (let k = kids.length - 1; k >= 0; k--) stack.push({ task: kids[k] as TaskState, depth: next.depth + 1 });
	}
	return out;
}

/** Messages to the lead that status shows: the newest (`--json` has them all). */
const MESSAGES_SHOWN = 5;

/** The task tree: each task once, under its first dependency, with status, time (running: so far) and tokens. */
export function renderRun(view: RunView, now = Date.now()): string {
	const { state } = view;
	const lines = [
		`Run ${state.runId}: ${shownStatus(view)}  (team ${inertLine(state.team)}, workflow ${inertLine(state.workflow)}, ${runDuration(state, now)}, ${formatTokens(state.usage.total)} tokens${state.usage.cost === undefined ? "" : `, ${formatCost(state.usage.cost)}`})`,
	];
	if (view.imported)
		lines.push(
			`  imported from ${view.imported.bundle} on ${view.imported.importedAt.slice(0, 10)} (exported ${view.imported.exportedAt} by pi-crew ${view.imported.piCrew}): foreign, never resumed here`,
		);
	const untrusted = untrustedReason(view);
	if (untrusted) lines.push(`  ${untrusted}`);
	if (state.reason) lines.push(`  reason: ${state.reason}`);
	const rounds = loopRounds(state);
	if (state.tasks.size <= TREE_MAX)
		for (const { task, depth } of taskTree(state)) lines.push(...taskLines(task, depth, view, rounds, now));
	else lines.push(...summedUp(view, rounds, now));
	const earlier = state.messages.length - MESSAGES_SHOWN;
	if (earlier > 0) lines.push(`  ${earlier} earlier messages to the lead: pi-crew status ${state.runId} --json`);
	for (const m of state.messages.slice(-MESSAGES_SHOWN))
		lines.push(`  message from ${inertLine(m.from)} (${m.at.slice(11, 19)}): ${inertLine(m.text)}`);
	lines.push(`  artifacts: ${view.paths.artifacts}`);
	if (state.settings.isolation === "worktree")
		lines.push(
			`  integration branch: ${integrationBranch(state.runId)}${view.status === "succeeded" && !untrusted ? ` (into your checkout: pi-crew apply ${state.runId})` : ""}`,
		);
	// An imported run is a copy: nothing here coordinates it, so there is nothing to resume.
	// Nor a run whose log does not verify (said above).
	if (!view.imported && !untrusted && view.status === "interrupted")
		lines.push(`  its coordinator is gone; resume it: pi-crew resume ${state.runId}`);
	else if (!view.imported && !untrusted && view.status === "cancelled")
		lines.push(`  continue it: pi-crew resume ${state.runId}`);
	for (const p of view.problems.filter((p) => p !== view.integrityProblem))
		lines.push(`  warning: ${p.file}${p.line ? `:${p.line}` : ""}: ${p.message}`);
	return lines.join("\n");
}

/** A task's line in the tree of `status` at `depth`, and what it waits for, its reason, rounds and conflict. */
function taskLines(t: TaskState, depth: number, view: RunView, rounds: LoopRound[], now: number): string[] {
	const { state } = view;
	const out: string[] = [];
	const extra = t.dependsOn.slice(1);
	const notes = [
		extra.length > 0 ? `also after ${extra.join(", ")}` : "",
		t.attempts.length > 1 ? `${t.attempts.length} attempts` : "",
		t.status === "running" && t.heartbeat && t.heartbeat !== "healthy" ? `heartbeat ${t.heartbeat}` : "",
		t.status === "running" && t.activity?.retrying ? `retrying (${t.activity.retrying})` : "",
		t.status === "running" && t.resolving ? `resolving conflict in ${inertLine(t.resolving.files.join(", "))}` : "",
		t.deadLetter ? `dead-lettered (${t.deadLetter})` : "",
	].filter(Boolean);
	const after = notes.length > 0 ? `  (${notes.join("; ")})` : "";
	const label = `${"  ".repeat(depth)}${MARK[t.status]} ${roundName(t)}`;
	const status = t.conflict ? "needs-attention" : shownTaskStatus(t);
	out.push(
		`  ${label.padEnd(24)} ${inertLine(t.agent).padEnd(18)} ${status.padEnd(10)} ${shortDuration(taskTime(t, view, now)).padStart(7)} ${formatTokens(t.usage.total).padStart(6)} tok${t.usage.cost === undefined ? "" : ` ${formatCost(t.usage.cost).padStart(7)}`}${after}`,
	);
	if (t.reason) out.push(`  ${"  ".repeat(depth)}    ${inertLine(t.reason)}`);
	out.push(...loopLines(t, rounds, `  ${"  ".repeat(depth)}    `));
	// Only a running coordinator takes an approval: an interrupted run's draft is answered anew when resumed.
	if (t.waiting?.kind === "approval" && shownTaskStatus(t) === "waiting" && view.status === "running")
		out.push(...approvalLines(t.id, t.waiting, view, `  ${"  ".repeat(depth)}    `));
	if (t.waiting?.kind === "question")
		out.push(...questionLines(state.runId, t.id, t.waiting, `  ${"  ".repeat(depth)}    `));
	if (t.conflict)
		out.push(
			`  ${"  ".repeat(depth)}    resolve on ${t.conflict.branch} (worktree ${t.conflict.worktree}), commit, then resume`,
		);
	return out;
}

/** Tasks a run's `status` lists one by one at most; a larger run is summed up (see summedUp). */
export const TREE_MAX = 200;
/** Tasks of each status a summed-up run lists (waiting, running, failed). */
export const SUMMED_UP_SHOWN = 10;
const SUMMED_UP_ORDER: ShownTaskStatus[] = [
	"waiting",
	"running",
	"failed",
	"pending",
	"succeeded",
	"skipped",
	"cancelled",
];

/**
 * A large run as `status` shows it: its tasks counted by status, then the first few waiting for a person, running
 * and failed ones (what one looks at), with how many more; `--json` has every task.
 */
function summedUp(view: RunView, rounds: LoopRound[], now: number): string[] {
	const { state } = view;
	const tally = TaskTally.of(state);
	const counts = SUMMED_UP_ORDER.filter((s) => tally.count(s) > 0).map((s) => `${tally.count(s)} ${s}`);
	const lines = [`  ${tally.total} tasks: ${counts.join(" · ")} (every task: pi-crew status ${state.runId} --json)`];
	for (const status of NOTABLE) {
		const ids = [...tally.ids(status)];
		for (const id of ids.slice(0, SUMMED_UP_SHOWN)) {
			const task = state.tasks.get(id);
			if (task) lines.push(...taskLines(task, 0, view, rounds, now));
		}
		if (ids.length > SUMMED_UP_SHOWN) lines.push(`  … ${ids.length - SUMMED_UP_SHOWN} more ${status}`);
	}
	return lines;
}

/**
 * What a task's loop says of it, one line each: its round (of the loop's most, for the loop step and its `to` task)
 * and the finding it was sent back with, then its latest verdict.
 */
function loopLines(t: TaskState, rounds: LoopRound[], indent: string): string[] {
	const lines: string[] = [];
	if (t.round && t.round > 1) {
		const loop = rounds.find((r) => r.step === t.id || r.to === t.id);
		const finding = t.finding ? `: sent back with: ${inertLine(firstLine(t.finding))}` : "";
		lines.push(`${indent}round ${t.round}${loop ? ` of ${loop.max}` : ""}${finding}`);
	}
	if (t.verdict) lines.push(`${indent}${verdictText(t.verdict)}`);
	return lines;
}

/** `verdict (command): not clean: tests fail`: who judged, and the first line of the findings. */
function verdictText(v: Omit<Verdict, "seq">): string {
	const findings = firstLine(v.findings);
	return `verdict (${v.by}): ${v.clean ? "clean" : "not clean"}${findings ? `: ${inertLine(findings)}` : ""}`;
}

function firstLine(text: string): string {
	return text.trim().split("\n")[0] ?? "";
}

/** A task's answer waiting for approval: where it is, an adaptive plan's tasks, and how to approve or reject it. */
function approvalLines(
	task: string,
	w: Extract<Waiting, { kind: "approval" }>,
	view: RunView,
	indent: string,
): string[] {
	const runId = view.state.runId;
	return [
		`${indent}waiting for approval (round ${w.round}): ${join(view.paths.dir, w.resultPath)}`,
		...(w.plan ?? []).map(
			(s) =>
				`${indent}  plan: ${inertLine(s.id)} (${inertLine(s.role)})${s.dependsOn.length ? ` after ${s.dependsOn.map(inertLine).join(", ")}` : ""}: ${inertLine(s.task).slice(0, 80)}`,
		),
		`${indent}approve: pi-crew approve ${runId} ${task}${w.plan ? " [--drop ID,ID]" : ""}  reject: pi-crew approve ${runId} ${task} --reject "<feedback>"`,
	];
}

function labelText(l: Record<string, string>): string {
	const parts = Object.entries(l).map(([k, v]) => `${k}=${v}`);
	return parts.length ? `{${parts.join(",")}}` : "";
}

function amount(value: number | null, unit: string): string {
	if (value === null) return "-";
	if (unit === "ms") return value >= 1000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}ms`;
	return String(Math.round(value * 100) / 100);
}

export function renderMetrics(metrics: MetricSnapshot[]): string {
	const lines: string[] = [];
	for (const m of metrics) {
		if (m.series.length === 0) continue;
		for (const s of m.series) {
			const head = `${m.name}${labelText(s.labels)}`.padEnd(52);
			if (m.type === "histogram" && "count" in s)
				lines.push(
					`${head} n=${s.count}  p50 ${amount(s.p50, m.unit)}  p95 ${amount(s.p95, m.unit)}  p99 ${amount(s.p99, m.unit)}`,
				);
			else if ("value" in s)
				lines.push(`${head} ${amount(s.value, m.unit)}${"lastHour" in s ? `  (last hour ${s.lastHour})` : ""}`);
		}
	}
	return lines.length ? lines.join("\n") : "no metrics yet: no run has recorded any";
}

/** `concurrency 64 -> 4 (user /home/me/.pi/agent/crew/config.yaml:2)`. */
function boundLine(b: BoundSetting): string {
	const show = (v: BoundSetting["recorded"]) => (v === undefined ? "none" : Array.isArray(v) ? `[${v.join(", ")}]` : v);
	return `${b.field} ${show(b.recorded)} -> ${show(b.applied)} (${formatSource(b.source)})`;
}

/** Each effective setting, its value and where it came from; then what the repository's config sets in vain. */
/** `config --team`: each task's model and why, its fallbacks, and what a run would refuse. */
export function renderTeamModels(found: TeamModels): string {
	const width = Math.max(...found.tasks.map((t) => t.task.length));
	const rows = found.tasks.flatMap((t) => [
		`${t.task.padEnd(width)}  ${t.model ?? "pi's default"}  (${t.why})${t.fallbackModels.length > 0 ? `; fallback ${t.fallbackModels.join(", ")}` : ""}`,
		...t.refused.map((why) => `${" ".repeat(width)}  REFUSED ${why}`),
	]);
	const problems = found.problems.length > 0 ? ["", "a run would be refused:", ...found.problems] : [];
	return [`team ${found.team}, workflow ${found.workflow}`, "", ...rows, ...problems].join("\n");
}

export function renderConfig(config: Awaited<ReturnType<typeof effectiveConfig>>): string {
	const valueAt = (path: string): unknown =>
		path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], config);
	const show = (v: unknown) =>
		v === undefined ? "(unset)" : typeof v === "string" || typeof v === "number" ? String(v) : JSON.stringify(v);
	const keys = Object.keys(config.sources);
	const width = Math.max(...keys.map((k) => k.length));
	const rows = keys.map((k) => {
		const source = config.sources[k];
		// The policy is a list per config that sets it, each with its own source.
		if (k === "models.allow")
			return `${k.padEnd(width)}  ${config.models.allow.map((l) => `[${l.allow.join(", ")}] (${formatSource(l.source)})`).join(" and ") || "(any model)"}`;
		return `${k.padEnd(width)}  ${show(valueAt(k)).padEnd(12)}  ${source ? formatSource(source) : ""}`;
	});
	const head = [`user config:    ${config.file}`, `project config: ${config.projectFile ?? "(none)"}`];
	const ignored = config.ignored.map((p) => `  ${formatProblem(p)}`);
	return [
		...head,
		"",
		...rows,
		...(ignored.length > 0 ? ["", "not applied from the project config:", ...ignored] : []),
	].join("\n");
}
