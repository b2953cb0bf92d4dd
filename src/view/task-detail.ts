/**
 * One task in full, for the dashboard's task pane: its state, attempts, neighbours and usage, then its result as
 * markdown, the tail of its transcript as it grows, and its prompt. Each file is read when the log names it (a new
 * attempt's transcript when the attempt starts), then kept: frames never read files.
 */
import { loopRounds, roundName } from "../engine/rounds.js";
import { formatTokens } from "../engine/summary.js";
import { type RunState, shownStatus, shownUsage, type TaskMessage, type TaskState } from "../store/events.js";
import { inertLine } from "../util/inert.js";
import { readConfined } from "../util/safe-fs.js";
import { TONE, taskDetail } from "./board.js";
import type { RunProjection } from "./projection.js";
import { shortDuration, taskTime } from "./task-marks.js";
import { type Block, heading, type Line, type TextKit } from "./text.js";
import { TranscriptTail } from "./transcript.js";

/** Transcript entries shown in the pane; all of them are in `/team-transcript`. */
const TAIL_BLOCKS = 12;

interface Shown {
	path: string;
	block: Block;
}

/** When an attempt started and ended, as a clock time and a duration. */
function attemptLine(a: TaskState["attempts"][number], now: number): string {
	const end = a.endedAt ? Date.parse(a.endedAt) : now;
	const span = `${a.startedAt.slice(11, 19)} → ${a.endedAt ? a.endedAt.slice(11, 19) : "now"}`;
	return `attempt ${a.attempt}: ${span} (${shortDuration(end - Date.parse(a.startedAt))})${a.reason ? `: ${a.reason.split("\n")[0]}` : ""}`;
}

/**
 * A message of the task's thread (a steer, a follow-up, another task's message to it, or one it sent to a task or the
 * lead): when, how, from or to whom, and whether it arrived.
 */
function messageLine(m: Omit<TaskMessage, "mode"> & { mode?: TaskMessage["mode"]; to?: string }): Line {
	const delivery =
		m.to === "lead" ? "" : m.delivered === undefined ? " (sending)" : m.delivered ? " (delivered)" : " (not delivered)";
	const who = m.to ? `to ${inertLine(m.to)}` : `from ${inertLine(m.from)}`;
	return {
		text: `${m.at.slice(11, 19)} ${m.mode ?? "message"} ${who}${delivery}: ${inertLine(m.text)}`,
		tone: m.delivered === false ? "warning" : "text",
	};
}

/** The task's conversation, oldest first: what was said to it, and what its worker sent (the `message` tool). */
function thread(t: TaskState, state: RunState): Line[] {
	const from = `task:${t.id}`;
	const sent = [...state.tasks.values()].flatMap((o) =>
		(o.messages ?? []).filter((m) => m.from === from).map((m) => ({ ...m, to: o.id })),
	);
	const toLead = state.messages.filter((m) => m.from === from).map((m) => ({ ...m, id: "", to: "lead" }));
	const all = [...(t.messages ?? []), ...sent, ...toLead].sort((a, b) => a.at.localeCompare(b.at));
	return all.map(messageLine);
}

/** What the task waits for from a person, in full, and the key that gives it. */
function waitingLines(t: TaskState, width: number): Line[] {
	const w = t.waiting;
	if (!w || shownStatus(t) !== "waiting") return [];
	if (w.kind === "approval")
		return [
			heading(`waits for approval, round ${w.round}`, width),
			{
				text: `its answer${w.plan ? ` and its plan of ${w.plan.length} task(s)` : ""}: press a to approve, reject with feedback${w.plan ? " or drop tasks" : ""}`,
				tone: "warning",
			},
		];
	return [
		heading("question", width),
		{ text: w.text, tone: "text" },
		...(w.choices?.length ? [{ text: `choices: ${w.choices.join(" | ")}`, tone: "text" } as Line] : []),
		...(w.default !== undefined ? [{ text: `default: ${w.default}`, tone: "muted" } as Line] : []),
		{ text: "press a to type the answer", tone: "warning" },
	];
}

/**
 * Its loop: the round it is in (of the loop's most, for a loop's step and its `to` task), the finding in full that it
 * was sent back with, and its latest verdict with its findings.
 */
function loopPane(t: TaskState, state: RunState, width: number): Line[] {
	const round = t.round ?? 1;
	if (round < 2 && !t.verdict) return [];
	const loop = loopRounds(state).find((r) => r.step === t.id || r.to === t.id);
	const of = loop ? ` of ${loop.max}` : "";
	const lines: Line[] = [
		heading(`loop, round ${round}${of}${loop ? ` (${loop.step} loops back to ${loop.to})` : ""}`, width),
	];
	if (round > 1 && t.finding) lines.push({ text: "sent back with:", tone: "warning" }, ...textLines(t.finding));
	const v = t.verdict;
	if (v)
		lines.push(
			{ text: `latest verdict (${v.by}): ${v.clean ? "clean" : "not clean"}`, tone: v.clean ? "success" : "error" },
			...textLines(v.findings),
		);
	return lines;
}

/** Text of many lines (a finding) as lines of the pane, each made inert when drawn. */
function textLines(text: string): Line[] {
	return text
		.trim()
		.split("\n")
		.map((l) => ({ text: l, tone: "text" }));
}

export class TaskDetail {
	private prompt: Shown | undefined;
	private result: Shown | undefined;
	private transcript: TranscriptTail | undefined;
	/** Markdown of the transcript's entries, made for those shown only. */
	private readonly entries = new Map<number, Block>();
	private problems: string[] = [];

	constructor(
		private readonly run: RunProjection,
		readonly taskId: string,
		private readonly kit: TextKit,
	) {}

	get task(): TaskState | undefined {
		return this.run.view?.state.tasks.get(this.taskId);
	}

	/** Reads what the log newly names (a prompt, a result, an attempt's transcript); whether anything changed. */
	async poll(): Promise<boolean> {
		const task = this.task;
		const paths = this.run.view?.paths;
		if (!task || !paths) return false;
		let changed = false;
		const load = async (path: string | undefined, shown: Shown | undefined): Promise<Shown | undefined> => {
			if (!path || path === shown?.path) return shown;
			changed = true;
			try {
				return { path, block: this.kit.markdown(await readConfined(paths.dir, path)) };
			} catch (err) {
				this.problems.push(`cannot read ${path}: ${(err as Error).message}`);
				return { path, block: this.kit.markdown("") };
			}
		};
		this.prompt = await load(task.promptPath, this.prompt);
		this.result = await load(task.resultPath, this.result);
		if (task.attempt > 0 && this.transcript?.attempt !== task.attempt) {
			this.transcript = new TranscriptTail(paths, task.id, task.attempt);
			this.entries.clear();
			changed = true;
		}
		if (this.transcript) changed = (await this.transcript.poll()) || changed;
		return changed;
	}

	lines(width: number, now: number): Line[] {
		const t = this.task;
		const state = this.run.view?.state;
		if (!t || !state) return [{ text: `no task ${this.taskId} in this run`, tone: "warning" }];
		const dependents = [...state.tasks.values()].filter((d) => d.dependsOn.includes(t.id)).map((d) => d.id);
		const time = t.startedAt && this.run.view ? shortDuration(taskTime(t, this.run.view, now)) : "not started";
		const u = t.usage;
		const doing = taskDetail(t, state, now);
		const lines: Line[] = [
			{
				text: `${roundName(t)} · ${t.role} (agent ${t.agent}) · ${t.status} · ${time}`,
				tone: TONE[t.status] ?? "text",
			},
			...(doing ? [{ text: doing, tone: "text" } as Line] : []),
			{
				text: `after: ${t.dependsOn.join(", ") || "nothing"} · before: ${dependents.join(", ") || "nothing"}`,
				tone: "muted",
			},
			...t.attempts.map((a): Line => ({ text: attemptLine(a, now), tone: "muted" })),
			{
				text: `usage: ${formatTokens(u.total)} tokens (input ${formatTokens(shownUsage(u).input)}, output ${formatTokens(u.output)}, cache read ${formatTokens(u.cacheRead)}, cache write ${formatTokens(u.cacheWrite)})${u.cost === undefined ? "" : ` · $${u.cost.toFixed(4)}`} · ${t.toolCalls} tool call(s)`,
				tone: "text",
			},
		];
		if (t.heartbeat && t.heartbeat !== "healthy") lines.push({ text: `heartbeat: ${t.heartbeat}`, tone: "warning" });
		if (t.deadLetter) lines.push({ text: `dead-lettered (${t.deadLetter}): requeue with u`, tone: "error" });
		if (t.conflict)
			lines.push({
				text: `its merge conflicts in ${t.conflict.files.join(", ")}: resolve on ${t.conflict.branch} (worktree ${t.conflict.worktree}), commit, then resume with r`,
				tone: "error",
			});
		for (const p of this.problems) lines.push({ text: p, tone: "warning" });
		lines.push(...waitingLines(t, width), ...loopPane(t, state, width));
		const conversation = thread(t, state);
		if (conversation.length) lines.push(heading("conversation", width), ...conversation);
		const markdown = (block: Block): Line[] => block.render(width).map((text) => ({ text }));
		lines.push(heading("result", width));
		lines.push(
			...(this.result
				? markdown(this.result.block)
				: [{ text: t.status === "running" ? "(not yet: the task is running)" : "(none)", tone: "muted" } as Line]),
		);
		lines.push(...this.transcriptLines(width));
		lines.push(heading("prompt", width));
		lines.push(...(this.prompt ? markdown(this.prompt.block) : [{ text: "(not written yet)", tone: "muted" } as Line]));
		return lines;
	}

	private transcriptLines(width: number): Line[] {
		const tail = this.transcript;
		if (!tail) return [heading("transcript", width), { text: "(the task has not started)", tone: "muted" }];
		const all = tail.blocks;
		const from = Math.max(0, all.length - TAIL_BLOCKS);
		const earlier = from > 0 ? `, last ${all.length - from} of ${all.length} entries` : "";
		const lines: Line[] = [heading(`transcript, attempt ${tail.attempt}${earlier}`, width)];
		if (tail.missing) lines.push({ text: "(none yet; in-process and scaffold workers keep none)", tone: "muted" });
		for (const i of this.entries.keys()) if (i < from) this.entries.delete(i);
		for (let i = from; i < all.length; i++) {
			let block = this.entries.get(i);
			if (!block) {
				block = this.kit.markdown(all[i] ?? "");
				this.entries.set(i, block);
			}
			lines.push(...block.render(width).map((text) => ({ text })), { text: "" });
		}
		return lines;
	}
}
