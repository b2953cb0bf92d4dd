/**
 * What the dashboard shows, kept up to date by tailing readers: a poll folds only the events appended since the last
 * one, and each new event updates the projection of its run (its row in the event list, the metrics, the alerts), so a
 * frame is drawn from memory and never re-reads or re-folds a log.
 */

import { roundName } from "../engine/rounds.js";
import { CrewMetrics } from "../observability/crew-metrics.js";
import { MetricRegistry, type MetricSnapshot } from "../observability/metrics.js";
import type { CrewEvent, RunState } from "../store/events.js";
import { listRunIds, RunNotFoundError, RunTail, type RunView } from "../store/run-store.js";
import type { HeartbeatLevel } from "../store/settings.js";
import { taskTree } from "./render.js";
import { TaskTally } from "./tally.js";

export interface EventRow {
	seq: number;
	ts: string;
	/** `ts` in epoch milliseconds, parsed once (the activity sparkline counts events per time slot every frame). */
	at: number;
	type: string;
	taskId?: string;
	/** Its task's loop round, from the second on. */
	round?: number;
	/** Made into text only for the rows on screen (see dataText). */
	data: object;
}

/** `tool=bash phase=start summary=ls .`: a payload's scalar fields (objects such as settings are left out). */
export function dataText(data: object): string {
	const parts: string[] = [];
	for (const [k, v] of Object.entries(data)) {
		if (Array.isArray(v)) parts.push(`${k}=${v.join(",")}`);
		else if (v === null || typeof v !== "object") parts.push(`${k}=${String(v)}`);
	}
	return parts.join(" ");
}

/** A run's tasks in tree order, and each task's row in it. */
export interface TaskGraph {
	entries: ReturnType<typeof taskTree>;
	index: Map<string, number>;
	/** The longest row label. */
	widest: number;
}

/** One run, opened in the dashboard. */
export class RunProjection {
	readonly tail: RunTail;
	view: RunView | undefined;
	readonly events: EventRow[] = [];
	readonly alerts: { ts: string; kind: string; message: string }[] = [];
	/** Heartbeat reports by level, over the run's life. */
	readonly heartbeats: Record<HeartbeatLevel, number> = { healthy: 0, warn: 0, stale: 0, dead: 0 };
	/** Bumped whenever the log brought something new: what is derived from the projection is cached on it. */
	version = 0;
	/** Its tasks counted by status as the log is folded. */
	readonly tally = new TaskTally();
	/** Bumped when the task graph's shape changed (a task planned or rewired, a loop's round): the tree is cached on it. */
	private shape = 0;
	private tree: { shape: number; graph: TaskGraph } | undefined;
	// The dashboard's own registry: a label it refuses collapses into `_other` there and is nobody's concern.
	private readonly metrics = new CrewMetrics(new MetricRegistry(() => undefined));
	private snapshot: { version: number; metrics: MetricSnapshot[] } | undefined;

	constructor(repo: string, runId: string) {
		this.tail = new RunTail(repo, runId);
	}

	get runId(): string {
		return this.tail.runId;
	}

	/** Folds what the log gained since the last refresh; whether anything changed (the coordinator's liveness too). */
	async refresh(): Promise<boolean> {
		const events = await this.tail.poll((e, state) => this.observe(e, state));
		const view = await this.tail.view((e, state) => this.observe(e, state));
		const changed = events.length > 0 || view.status !== this.view?.status;
		this.view = view;
		if (changed) this.version++;
		return changed;
	}

	/** The task graph as a tree (render.ts taskTree), made again only when its shape changed, not as tasks progress. */
	graph(): TaskGraph {
		const state = this.view?.state;
		if (!state) return { entries: [], index: new Map(), widest: 0 };
		if (this.tree?.shape !== this.shape) {
			const entries = taskTree(state);
			const index = new Map(entries.map((e, i) => [e.task.id, i]));
			// A row's label is its indent, a status glyph and a space, and the task's name (`execute ×2`).
			const widest = Math.max(0, ...entries.map((e) => 2 * e.depth + 2 + roundName(e.task).length));
			this.tree = { shape: this.shape, graph: { entries, index, widest } };
		}
		return this.tree.graph;
	}

	/** The run's metrics (the same subscriber a coordinator feeds), computed once per change. */
	metricSnapshot(now: number): MetricSnapshot[] {
		if (this.snapshot?.version !== this.version)
			this.snapshot = { version: this.version, metrics: this.metrics.registry.snapshot(now) };
		return this.snapshot.metrics;
	}

	private observe(e: CrewEvent, state: RunState): void {
		this.events.push({
			seq: e.seq,
			ts: e.ts,
			at: Date.parse(e.ts),
			type: e.type,
			taskId: e.taskId,
			...(e.round ? { round: e.round } : {}),
			data: e.data,
		});
		this.metrics.observe(e, state);
		this.tally.observe(e, state);
		if (e.type === "task.planned" || e.type === "task.depends" || e.type === "task.looped") this.shape++;
		if (e.type === "run.alert") this.alerts.push({ ts: e.ts, kind: e.data.kind, message: e.data.message });
		if (e.type === "task.heartbeat") this.heartbeats[e.data.level]++;
	}
}

/** Every run of the repository, newest first, each followed by its own tail. */
export class RunList {
	views: RunView[] = [];
	/** Runs whose log cannot be read: shown with the reason, tried again at the next refresh. */
	broken: { runId: string; error: string }[] = [];
	private readonly tails = new Map<string, RunTail>();

	constructor(private readonly repo: string) {}

	async refresh(): Promise<boolean> {
		const views: RunView[] = [];
		const broken: RunList["broken"] = [];
		let changed = false;
		for (const id of await listRunIds(this.repo)) {
			let tail = this.tails.get(id);
			if (!tail) {
				tail = new RunTail(this.repo, id);
				this.tails.set(id, tail);
			}
			try {
				changed = (await tail.poll()).length > 0 || changed;
				views.push(await tail.view());
			} catch (err) {
				this.tails.delete(id);
				// A run directory without a first event is a run that failed to start (or is starting): nothing to show.
				if (!(err instanceof RunNotFoundError)) broken.push({ runId: id, error: (err as Error).message });
			}
		}
		views.sort((a, b) => b.state.createdAt.localeCompare(a.state.createdAt));
		changed ||=
			views.length !== this.views.length ||
			broken.length !== this.broken.length ||
			views.some((v, i) => v.status !== this.views[i]?.status || v.state !== this.views[i]?.state);
		this.views = views;
		this.broken = broken;
		return changed;
	}
}
