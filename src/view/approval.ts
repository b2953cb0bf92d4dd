/**
 * The plan-approval view (`/team-approve`, and the dashboard's `a` on a task waiting for approval): a task's answer
 * that waits for a person, with an adaptive planner's planned tasks, and keys to approve it, reject it with feedback
 * typed in place, or drop planned tasks. A face-neutral model like the dashboard: keys in, lines out.
 */
import type { PlanStepView, TaskState } from "../store/events.js";
import { readConfined } from "../util/safe-fs.js";
import type { RunProjection } from "./projection.js";
import { type Block, heading, type Line, moved, type TextKit, typed } from "./text.js";

/** A person's verdict on an answer waiting for approval; resolves with a line for the status bar. */
export type ApproveAction = (
	runId: string,
	taskId: string,
	verdict: { drop?: string[]; reject?: string },
) => Promise<string>;

const HELP = "jk move  space drop/keep  a approve  r reject  PgUp PgDn scroll  esc close";

interface Shown {
	taskId: string;
	/** The approval's id: a new round (after a rejection) is a new draft, with nothing dropped. */
	id: string;
	round: number;
	plan: PlanStepView[];
	draft: Block;
}

export class ApprovalView {
	private shown: Shown | undefined;
	private readonly dropped = new Set<string>();
	private selected = 0;
	private top = 0;
	private page = 10;
	private feedback: string | undefined;
	private message: Line | undefined;
	private polling: Promise<boolean> | undefined;

	constructor(
		private readonly run: RunProjection,
		private readonly kit: TextKit,
		private readonly approve: ApproveAction,
		/** Something changed outside a key press (an action ended): draw again. */
		private readonly onChange: () => void,
	) {}

	/** The task on show: the first of the run that waits for approval (the same one while it still waits). */
	private waitingTask(): TaskState | undefined {
		const tasks = [...(this.run.view?.state.tasks.values() ?? [])].filter((t) => t.waiting?.kind === "approval");
		return tasks.find((t) => t.id === this.shown?.taskId) ?? tasks[0];
	}

	/**
	 * Brings the run up to date and reads a new draft when one waits; whether a frame is due. One at a time: a caller
	 * arriving meanwhile shares it (two would each take the new draft for new, and reset what the user chose since).
	 */
	refresh(): Promise<boolean> {
		this.polling ??= this.poll().finally(() => {
			this.polling = undefined;
		});
		return this.polling;
	}

	private async poll(): Promise<boolean> {
		let changed = await this.run.refresh();
		const task = this.waitingTask();
		const w = task?.waiting;
		const paths = this.run.view?.paths;
		if (!task || w?.kind !== "approval" || !paths) {
			changed ||= this.shown !== undefined;
			this.shown = undefined;
			return changed;
		}
		if (this.shown?.id === w.id && this.shown.taskId === task.id) return changed;
		const text = await readConfined(paths.dir, w.resultPath).catch((err: Error) => `(cannot read it: ${err.message})`);
		this.shown = { taskId: task.id, id: w.id, round: w.round, plan: w.plan ?? [], draft: this.kit.markdown(text) };
		this.dropped.clear();
		this.selected = 0;
		this.top = 0;
		return true;
	}

	handleKey(key: string): "close" | undefined {
		if (this.feedback !== undefined) return this.editFeedback(key);
		const shown = this.shown;
		if (key === "escape" || key === "q") return "close";
		if (!shown) return undefined;
		this.message = undefined;
		const step = shown.plan[this.selected];
		if ((key === "space" || key === "d") && step) {
			if (!this.dropped.delete(step.id)) this.dropped.add(step.id);
		} else if (key === "a") {
			const drop = shown.plan.filter((s) => this.dropped.has(s.id)).map((s) => s.id);
			this.perform(`approving ${shown.taskId}`, shown.taskId, drop.length ? { drop } : {});
		} else if (key === "r") this.feedback = "";
		else if (key === "pageUp" || key === "pageDown")
			this.top = Math.max(0, this.top + (key === "pageUp" ? -1 : 1) * this.page);
		else {
			const to = moved(key, this.selected, 1, Math.max(0, shown.plan.length - 1));
			if (to !== undefined) this.selected = to;
		}
		return undefined;
	}

	private editFeedback(key: string): undefined {
		const text = this.feedback ?? "";
		if (key !== "enter" && key !== "escape") {
			this.feedback = typed(text, key);
			return undefined;
		}
		this.feedback = undefined;
		const shown = this.shown;
		if (key === "escape" || !text.trim() || !shown) this.message = { text: "not sent", tone: "muted" };
		else this.perform(`rejecting ${shown.taskId}`, shown.taskId, { reject: text.trim() });
		return undefined;
	}

	private perform(what: string, taskId: string, verdict: { drop?: string[]; reject?: string }): void {
		this.message = { text: `${what}…`, tone: "muted" };
		void this.approve(this.run.runId, taskId, verdict)
			.then(
				(text) => {
					this.message = { text, tone: "success" };
				},
				(err: Error) => {
					this.message = { text: `pi-crew: ${err.message}`, tone: "error" };
				},
			)
			.then(() => this.refresh())
			.then(() => this.onChange());
	}

	render(width: number, height: number): string[] {
		const body = Math.max(1, height - 3);
		this.page = body;
		const all = this.body(width);
		this.top = Math.min(this.top, Math.max(0, all.length - body));
		const rows = all.slice(this.top, this.top + body);
		while (rows.length < body) rows.push({ text: "" });
		return [this.head(), ...rows, this.status(), { text: HELP, tone: "muted" as const }].map((l) =>
			this.kit.line(l, width),
		);
	}

	private head(): Line {
		const s = this.shown;
		const run = this.run.runId;
		if (!s) return { text: `pi-crew approval · run ${run}`, tone: "accent" };
		return { text: `pi-crew approval · run ${run} · task ${s.taskId} · round ${s.round}`, tone: "accent" };
	}

	private body(width: number): Line[] {
		const s = this.shown;
		if (!s) {
			const status = this.run.view?.status ?? "loading";
			return [{ text: `nothing in run ${this.run.runId} waits for approval now (${status})`, tone: "muted" }];
		}
		const lines: Line[] = [];
		if (s.plan.length) {
			const kept = s.plan.length - this.dropped.size;
			lines.push(heading(`planned tasks: ${kept} of ${s.plan.length} to run`, width));
			s.plan.forEach((step, i) => {
				const mark = this.dropped.has(step.id) ? "[ ] drop" : "[x] run ";
				const after = step.dependsOn.length ? ` after ${step.dependsOn.join(", ")}` : "";
				lines.push({
					text: `${i === this.selected ? "›" : " "} ${mark} ${step.id} (${step.role})${after}: ${step.task.split("\n")[0]}`,
					tone: this.dropped.has(step.id) ? "muted" : "text",
					selected: i === this.selected,
				});
			});
		}
		lines.push(heading(`the answer to approve (task ${s.taskId})`, width));
		lines.push(...s.draft.render(width).map((text) => ({ text })));
		return lines;
	}

	private status(): Line {
		if (this.feedback !== undefined)
			return { text: `reject with feedback: ${this.feedback}▏ (enter send · esc cancel)`, tone: "accent" };
		return this.message ?? { text: "", tone: "muted" };
	}
}
