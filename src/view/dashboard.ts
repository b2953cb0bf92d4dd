/**
 * The dashboard (`/team-dashboard`): panes switched by number keys (1 runs, 2 task graph, 3 task, 4 events,
 * 5 dead-letter and alerts, 6 metrics), a selection moved with arrows or j/k, Enter to open, Esc to go back (and to
 * close from the runs pane), cancel, resume and requeue after a y/n confirmation, a steer message typed for the
 * selected running task, and `a` on a task that waits: its answer typed in place, or the approval view. A face-neutral model: keys in
 * (pi-tui's key names), lines out for a width and height; `refresh` brings the projections up to date from the logs.
 */
import { ApprovalView, type ApproveAction } from "./approval.js";
import { boardHead } from "./board.js";
import { alertsPane, eventsPane, graphPane, type ListPane, matches, metricLines, runsPane } from "./panes.js";
import { type EventRow, RunList, RunProjection } from "./projection.js";
import { eventTask } from "./render.js";
import { TaskDetail } from "./task-detail.js";
import { type Line, moved, type TextKit, typed, windowStart } from "./text.js";

export const PANES = [
	{ key: "1", id: "runs", title: "runs" },
	{ key: "2", id: "graph", title: "graph" },
	{ key: "3", id: "task", title: "task" },
	{ key: "4", id: "events", title: "events" },
	{ key: "5", id: "alerts", title: "dead-letter" },
	{ key: "6", id: "metrics", title: "metrics" },
] as const;
export type PaneId = (typeof PANES)[number]["id"];

/** What the action keys do; each answers with a line for the status bar (or throws with the reason). */
export interface DashboardActions {
	cancel(runId: string): Promise<string>;
	resume(runId: string): Promise<string>;
	requeue(runId: string, taskId: string): Promise<string>;
	steer(runId: string, taskId: string, message: string): Promise<string>;
	/** Answers the question the task waits on. */
	respond(runId: string, taskId: string, answer: string): Promise<string>;
	approve: ApproveAction;
}

export interface DashboardOptions {
	repo: string;
	kit: TextKit;
	actions: DashboardActions;
	/** Something changed outside a key press (a run opened, an action ended): draw again. */
	onChange(): void;
	now?: () => number;
}

type Input =
	| { kind: "filter"; text: string }
	| { kind: "confirm"; question: string; act: () => Promise<string> }
	| { kind: "steer"; text: string; runId: string; taskId: string }
	| { kind: "respond"; text: string; runId: string; taskId: string; choices?: string[] };

const HELP: Record<PaneId, string> = {
	runs: "jk move  enter open  / filter  c cancel  r resume  esc close",
	graph: "jk move  enter task  a answer/approve  s steer  c cancel  r resume  u requeue  esc back",
	task: "jk PgUp PgDn g G scroll  a answer/approve  s steer  u requeue  esc back",
	events: "jk move  enter task  / filter  f follow  esc back",
	alerts: "jk move  enter task  u requeue  esc back",
	metrics: "jk PgUp PgDn g G scroll  esc back",
};

export class Dashboard {
	pane: PaneId = "runs";
	private readonly list: RunList;
	private run: RunProjection | undefined;
	private detail: TaskDetail | undefined;
	private readonly now: () => number;
	/** The selection of each list pane, by what it selects: stable while rows come and go. */
	private selectedRun: string | undefined;
	private selectedTask: string | undefined;
	private eventIndex = 0;
	private alertIndex = 0;
	/** Events: the selection stays on the newest event as events arrive. */
	private follow = true;
	/** The first row or line shown, per pane. */
	private readonly tops: Record<PaneId, number> = { runs: 0, graph: 0, task: 0, events: 0, alerts: 0, metrics: 0 };
	private readonly filters = { runs: "", events: "" };
	/** The events pane's rows for the open run: its events that pass the filter, as far as they were looked at. */
	private filtered: { filter: string; scanned: number; rows: number[] } | undefined;
	private input: Input | undefined;
	private message: Line | undefined;
	/** Body rows at the last frame: a page for PgUp/PgDn. */
	private page = 10;
	/** Lines of the scrolled pane (task, metrics) at the last frame. */
	private scrollTotal = 0;
	private polling: Promise<boolean> | undefined;
	/** The approval view of the open run, over the panes while it is open (`a` on a task waiting for approval). */
	private approval: ApprovalView | undefined;

	private constructor(private readonly options: DashboardOptions) {
		this.list = new RunList(options.repo);
		this.now = options.now ?? Date.now;
	}

	/** Opened on `runId` (its graph), or on the runs with the newest one open. */
	static async open(options: DashboardOptions, runId?: string): Promise<Dashboard> {
		const d = new Dashboard(options);
		if (runId) {
			d.run = new RunProjection(options.repo, runId);
			d.pane = "graph";
		} else {
			await d.list.refresh();
			d.selectedRun = d.list.views[0]?.state.runId;
			if (d.selectedRun) d.run = new RunProjection(options.repo, d.selectedRun);
		}
		await d.run?.refresh(); // a run that cannot be read fails the opening, with its reason
		return d;
	}

	/**
	 * Brings what is shown up to date from the logs (and the open task's files); whether a frame is due. One poll at a
	 * time: a caller arriving meanwhile shares it (a tail must not read the same bytes twice).
	 */
	refresh(): Promise<boolean> {
		if (this.approval) return this.approval.refresh();
		this.polling ??= this.poll().finally(() => {
			this.polling = undefined;
		});
		return this.polling;
	}

	private async poll(): Promise<boolean> {
		let changed = false;
		try {
			if (this.run) changed = (await this.run.refresh()) || changed;
			if (this.pane === "runs") changed = (await this.list.refresh()) || changed;
			if (this.pane === "task" && this.detail) changed = (await this.detail.poll()) || changed;
		} catch (err) {
			this.message = { text: `pi-crew: ${(err as Error).message}`, tone: "error" };
			changed = true;
		}
		// A live run's clocks move every second, its log or not.
		const live = (s: string | undefined) => s === "running" || s === "pending";
		return (
			changed || live(this.run?.view?.status) || (this.pane === "runs" && this.list.views.some((v) => live(v.status)))
		);
	}

	/**
	 * Refreshes now (a pane, a run or a task just opened) and asks for a frame. After the poll under way, if any: it
	 * may have started before the change, and so missed what the new pane reads.
	 */
	private reload(): void {
		void (this.polling ?? Promise.resolve(false)).then(() => this.refresh()).then(() => this.options.onChange());
	}

	/** One key (pi-tui's name for it: `up`, `pageDown`, `enter`, `j`, `G`, ...); `close` when the dashboard should close. */
	handleKey(key: string): "close" | undefined {
		if (this.approval) {
			if (this.approval.handleKey(key) === "close") {
				this.approval = undefined;
				this.reload();
			}
			return undefined;
		}
		const input = this.input;
		if (input?.kind === "confirm") {
			this.input = undefined;
			if (key === "y" || key === "Y") this.perform(input.question, input.act);
			else this.message = { text: "not done", tone: "muted" };
			return undefined;
		}
		if (input?.kind === "filter") return this.editFilter(input, key);
		if (input?.kind === "steer") return this.editSteer(input, key);
		if (input?.kind === "respond") return this.editAnswer(input, key);
		this.message = undefined;
		const pane = PANES.find((p) => p.key === key);
		if (pane) return this.show(pane.id);
		switch (key) {
			case "escape":
				if (this.pane === "runs") return "close";
				return this.show(this.pane === "task" ? "graph" : "runs");
			case "q":
				return "close";
			case "enter":
				return this.enter();
			case "/":
				if (this.pane === "runs" || this.pane === "events")
					this.input = { kind: "filter", text: this.filters[this.pane] };
				return undefined;
			case "f":
				if (this.pane === "events") this.follow = !this.follow;
				return undefined;
			case "c":
			case "r":
				return this.confirmRunAction(key);
			case "u":
				return this.confirmRequeue();
			case "s":
				return this.startSteer();
			case "a":
				return this.startAnswer();
			default:
				this.move(key);
				return undefined;
		}
	}

	private show(pane: PaneId): undefined {
		if (pane !== "runs" && !this.run) {
			this.message = { text: "no run open: select one here and press Enter", tone: "warning" };
			return undefined;
		}
		if (pane === "task") {
			// The task selected in the graph (or the events, or the dead-letters), else the first.
			const taskId = this.selectedTask ?? graphPane(this.requireRun(), this.now()).target(0).taskId;
			if (taskId) this.openTask(taskId);
			else this.message = { text: "this run has no tasks", tone: "warning" };
			return undefined;
		}
		this.pane = pane;
		this.reload();
		return undefined;
	}

	private requireRun(): RunProjection {
		if (!this.run) throw new Error("no run open");
		return this.run;
	}

	private openRun(runId: string): void {
		if (this.run?.runId !== runId) {
			this.run = new RunProjection(this.options.repo, runId);
			this.detail = undefined;
			this.selectedTask = undefined;
			this.filtered = undefined;
			this.eventIndex = 0;
			this.alertIndex = 0;
			this.follow = true;
			this.tops.graph = this.tops.events = this.tops.alerts = this.tops.metrics = 0;
		}
		this.pane = "graph";
		this.reload();
	}

	private openTask(taskId: string): void {
		if (this.detail?.taskId !== taskId) {
			this.detail = new TaskDetail(this.requireRun(), taskId, this.options.kit);
			this.tops.task = 0;
		}
		this.selectedTask = taskId;
		this.pane = "task";
		this.reload();
	}

	private enter(): undefined {
		const target = this.selected();
		if (this.pane === "runs") {
			if (target.runId) this.openRun(target.runId);
		} else if (target.taskId) this.openTask(target.taskId);
		return undefined;
	}

	private editFilter(input: Input & { kind: "filter" }, key: string): undefined {
		if (key === "enter") this.input = undefined;
		else if (key === "escape") {
			this.input = undefined;
			input.text = "";
		} else input.text = typed(input.text, key);
		if (this.pane === "runs" || this.pane === "events") this.filters[this.pane] = input.text;
		return undefined;
	}

	/** The task a task action applies to: the one open (pane 3) or selected (panes 2 and 5). */
	private actionTask(): string | undefined {
		if (this.pane === "task") return this.detail?.taskId;
		return this.pane === "graph" || this.pane === "alerts" ? this.selected().taskId : undefined;
	}

	private startSteer(): undefined {
		const taskId = this.actionTask();
		const runId = this.run?.runId;
		const task = taskId ? this.run?.view?.state.tasks.get(taskId) : undefined;
		if (!runId || !taskId || task?.status !== "running") {
			this.message = { text: "select a running task to steer (panes 2 and 3)", tone: "warning" };
			return undefined;
		}
		this.input = { kind: "steer", text: "", runId, taskId };
		return undefined;
	}

	/** `a` on a task that waits: the answer typed in place (a question), or the approval view (an answer to approve). */
	private startAnswer(): undefined {
		const taskId = this.actionTask();
		const run = this.run;
		const w = taskId ? run?.view?.state.tasks.get(taskId)?.waiting : undefined;
		if (!run || !taskId || !w) {
			this.message = { text: "select a task that waits for an answer or an approval (panes 2 and 3)", tone: "warning" };
			return undefined;
		}
		if (w.kind === "question")
			this.input = {
				kind: "respond",
				text: "",
				runId: run.runId,
				taskId,
				...(w.choices ? { choices: w.choices } : {}),
			};
		else {
			this.approval = new ApprovalView(run, this.options.kit, this.options.actions.approve, this.options.onChange);
			this.reload();
		}
		return undefined;
	}

	private editAnswer(input: Input & { kind: "respond" }, key: string): undefined {
		if (key === "enter" || key === "escape") {
			this.input = undefined;
			const answer = input.text.trim();
			if (key === "escape" || !answer) this.message = { text: "not sent", tone: "muted" };
			else
				this.perform(`answering ${input.taskId}`, () =>
					this.options.actions.respond(input.runId, input.taskId, answer),
				);
		} else input.text = typed(input.text, key);
		return undefined;
	}

	private editSteer(input: Input & { kind: "steer" }, key: string): undefined {
		if (key === "enter" || key === "escape") {
			this.input = undefined;
			const message = input.text.trim();
			if (key === "escape" || !message) this.message = { text: "not sent", tone: "muted" };
			else
				this.perform(`steering ${input.taskId}`, () => this.options.actions.steer(input.runId, input.taskId, message));
		} else input.text = typed(input.text, key);
		return undefined;
	}

	/** The run or task of the selected row of the list pane shown. */
	private selected(): { runId?: string; taskId?: string } {
		const found = this.listPane();
		return found ? found.pane.target(found.index) : {};
	}

	private confirmRunAction(key: "c" | "r"): undefined {
		const runId = this.pane === "runs" ? this.selected().runId : this.run?.runId;
		if (!runId) {
			this.message = { text: "no run selected", tone: "warning" };
			return undefined;
		}
		const { actions } = this.options;
		this.input =
			key === "c"
				? { kind: "confirm", question: `cancel run ${runId}`, act: () => actions.cancel(runId) }
				: { kind: "confirm", question: `resume run ${runId} in the background`, act: () => actions.resume(runId) };
		return undefined;
	}

	private confirmRequeue(): undefined {
		const taskId = this.actionTask();
		const runId = this.run?.runId;
		if (!runId || !taskId) {
			this.message = { text: "select a failed task to requeue (panes 2, 3 and 5)", tone: "warning" };
			return undefined;
		}
		this.input = {
			kind: "confirm",
			question: `requeue task ${taskId} of run ${runId} (runs in the background)`,
			act: () => this.options.actions.requeue(runId, taskId),
		};
		return undefined;
	}

	private perform(what: string, act: () => Promise<string>): void {
		this.message = { text: `${what}…`, tone: "muted" };
		void act()
			.then(
				(text) => {
					this.message = { text, tone: "success" };
				},
				(err: Error) => {
					this.message = { text: `pi-crew: ${err.message}`, tone: "error" };
				},
			)
			.then(() => this.reload());
	}

	/** The selected row of the list pane shown, if it is one. */
	private listPane(): { pane: ListPane; index: number } | undefined {
		const now = this.now();
		const run = this.run;
		switch (this.pane) {
			case "runs": {
				const pane = runsPane(this.list, this.filters.runs, now);
				const at = pane.views.findIndex((v) => v.state.runId === this.selectedRun);
				return { pane, index: Math.max(0, at) };
			}
			case "graph": {
				if (!run) return undefined;
				const pane = graphPane(run, now);
				return { pane, index: Math.max(0, pane.rowOf(this.selectedTask ?? "")) };
			}
			case "events": {
				if (!run) return undefined;
				const pane = eventsPane(run, this.eventRows(run), this.filters.events);
				if (this.follow) this.eventIndex = pane.count - 1;
				return { pane, index: Math.max(0, Math.min(this.eventIndex, pane.count - 1)) };
			}
			case "alerts": {
				if (!run) return undefined;
				const pane = alertsPane(run);
				return { pane, index: Math.max(0, Math.min(this.alertIndex, pane.count - 1)) };
			}
			default:
				return undefined;
		}
	}

	/**
	 * The run's events that pass the filter, as indices. The events only grow: only those the log added since the last
	 * frame are looked at (all of them again when the filter changed).
	 */
	private eventRows(run: RunProjection): number[] {
		const filter = this.filters.events;
		if (this.filtered?.filter !== filter) this.filtered = { filter, scanned: 0, rows: [] };
		const { rows } = this.filtered;
		for (let i = this.filtered.scanned; i < run.events.length; i++) {
			const e = run.events[i] as EventRow;
			if (!filter || matches(filter, `${e.type} ${eventTask(e)}`)) rows.push(i);
		}
		this.filtered.scanned = run.events.length;
		return rows;
	}

	private move(key: string): void {
		const found = this.listPane();
		if (!found) {
			const top = moved(key, this.tops[this.pane], this.page, Math.max(0, this.scrollTotal - this.page));
			if (top !== undefined) this.tops[this.pane] = top;
			return;
		}
		const to = moved(key, found.index, this.page, Math.max(0, found.pane.count - 1));
		if (to === undefined) return;
		const target = found.pane.target(to);
		if (this.pane === "runs") this.selectedRun = target.runId;
		else if (this.pane === "graph") this.selectedTask = target.taskId;
		else if (this.pane === "events") {
			this.eventIndex = to;
			this.follow = to === found.pane.count - 1;
		} else if (this.pane === "alerts") this.alertIndex = to;
	}

	/** The lines of a scrolled pane (task, metrics), wrapped to the width. */
	private scrollLines(width: number): Line[] {
		const now = this.now();
		const lines =
			this.pane === "task"
				? (this.detail?.lines(width, now) ?? [])
				: this.pane === "metrics" && this.run
					? metricLines(this.run, width, now)
					: [];
		return lines.flatMap((l) => this.options.kit.wrap(l, width));
	}

	render(width: number, height: number): string[] {
		if (this.approval) return this.approval.render(width, height);
		const now = this.now();
		const body = Math.max(1, height - 4);
		this.page = body;
		const rows = this.body(width, body);
		while (rows.length < body) rows.push({ text: "" });
		const lines: Line[] = [
			this.tabs(),
			this.head(width, now),
			...rows,
			this.status(),
			{ text: HELP[this.pane], tone: "muted" },
		];
		return lines.map((l) => this.options.kit.line(l, width));
	}

	private tabs(): Line {
		const tabs = PANES.map((p) => (p.id === this.pane ? `[${p.key} ${p.title}]` : `${p.key} ${p.title}`));
		return { text: tabs.join(" "), tone: "accent" };
	}

	private head(width: number, now: number): Line {
		const view = this.run?.view;
		if (!view) return { text: this.run ? `run ${this.run.runId}: loading…` : "no run open", tone: "muted" };
		return boardHead({ ...view, tally: this.run?.tally }, { now, width });
	}

	private body(width: number, height: number): Line[] {
		const found = this.listPane();
		if (found) {
			const { pane, index } = found;
			if (pane.count === 0) return [{ text: `  ${pane.empty}`, tone: "muted" }];
			const top = windowStart(index, this.tops[this.pane], height, pane.count);
			this.tops[this.pane] = top;
			const rows: Line[] = [];
			for (let i = top; i < Math.min(pane.count, top + height); i++) rows.push(pane.row(i, i === index));
			return rows;
		}
		const lines = this.scrollLines(width);
		this.scrollTotal = lines.length;
		const top = Math.min(this.tops[this.pane], Math.max(0, lines.length - height));
		this.tops[this.pane] = top;
		return lines.slice(top, top + height);
	}

	private status(): Line {
		const input = this.input;
		if (input?.kind === "confirm") return { text: `${input.question}? y/n`, tone: "warning" };
		if (input?.kind === "filter") return { text: `filter: ${input.text}▏ (enter keep · esc clear)`, tone: "accent" };
		if (input?.kind === "steer")
			return { text: `steer ${input.taskId}: ${input.text}▏ (enter send · esc cancel)`, tone: "accent" };
		if (input?.kind === "respond") {
			const choices = input.choices ? ` (one of: ${input.choices.join(" | ")})` : "";
			return { text: `answer ${input.taskId}${choices}: ${input.text}▏ (enter send · esc cancel)`, tone: "accent" };
		}
		if (this.message) return this.message;
		const notes: string[] = [];
		if (this.pane === "runs" && this.filters.runs) notes.push(`filter "${this.filters.runs}"`);
		if (this.pane === "events") {
			if (this.filters.events) notes.push(`filter "${this.filters.events}"`);
			notes.push(this.follow ? "following" : "paused (f or G follows)");
		}
		if (this.pane === "task" || this.pane === "metrics") {
			const total = this.scrollTotal;
			notes.push(
				`lines ${Math.min(total, this.tops[this.pane] + 1)}–${Math.min(total, this.tops[this.pane] + this.page)} of ${total}`,
			);
		}
		return { text: notes.join(" · "), tone: "muted" };
	}
}
