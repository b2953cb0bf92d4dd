/**
 * The event→metric subscriber: pi-crew's metrics are a function of the run event stream. A coordinator feeds it each
 * event as it becomes durable; replaying a run's log through it rebuilds the same numbers for any run. Labels are
 * bounded by construction: statuses and reasons come from the closed vocabulary, roles and teams from resource names.
 */
import { type CrewEvent, type RunState, TERMINAL_RUN, type Usage } from "../store/events.js";
import { type MetricRegistry, MetricRegistry as Registry } from "./metrics.js";

const TOKEN_KINDS: [keyof Usage, string][] = [
	["input", "input"],
	["output", "output"],
	["cacheRead", "cache_read"],
	["cacheWrite", "cache_write"],
];

/** Every metric pi-crew records, by name (docs/observability.md lists them with their Prometheus names). */
export const CREW_METRICS = [
	"crew.run.count",
	"crew.run.duration_ms",
	"crew.task.count",
	"crew.task.duration_ms",
	"crew.task.retry_count",
	"crew.task.tokens_total",
	"crew.heartbeat.staleness_ms",
	"crew.deadletter.count",
	"crew.worker.active",
] as const;

export class CrewMetrics {
	private readonly runCount;
	private readonly runDuration;
	private readonly taskCount;
	private readonly taskDuration;
	private readonly retries;
	private readonly tokens;
	private readonly staleness;
	private readonly deadLetters;
	private readonly active;
	/** Runs not yet finished whose coordinator is (as far as this process knows) alive: the gauges read them. */
	private readonly live = new Map<string, RunState>();

	constructor(readonly registry: MetricRegistry = new Registry()) {
		const r = registry;
		this.runCount = r.counter("crew.run.count", "Runs ended, by final status", { labels: ["status"] });
		this.runDuration = r.histogram("crew.run.duration_ms", "Run duration from creation to its end", {
			labels: ["team"],
		});
		this.taskCount = r.counter("crew.task.count", "Tasks ended, by final status and role", {
			labels: ["status", "role"],
		});
		this.taskDuration = r.histogram(
			"crew.task.duration_ms",
			"Task duration from its first start to its end (retries included)",
			{ labels: ["role"] },
		);
		this.retries = r.histogram("crew.task.retry_count", "Attempts after the first, per task that ran", {
			labels: ["role"],
			unit: "{retry}",
			buckets: [0, 1, 2, 3, 5, 10],
		});
		this.tokens = r.counter("crew.task.tokens_total", "Model tokens used by tasks, by role and kind", {
			labels: ["role", "kind"],
			unit: "{token}",
		});
		this.staleness = r.gauge(
			"crew.heartbeat.staleness_ms",
			"Longest silence of a running task: time since its last logged activity",
			{ unit: "ms" },
		);
		this.deadLetters = r.counter("crew.deadletter.count", "Tasks dead-lettered, by reason", { labels: ["reason"] });
		this.active = r.gauge("crew.worker.active", "Workers running now, by role", { labels: ["role"] });
		r.onCollect((now) => this.collect(now));
	}

	/** Records one durable event; `state` is the run's state after it. */
	observe(e: CrewEvent, state: RunState): void {
		const at = { ts: Date.parse(e.ts), cid: e.cid };
		const task = e.taskId === undefined ? undefined : state.tasks.get(e.taskId);
		const role = task?.role ?? "unknown";
		switch (e.type) {
			case "run.started":
			case "run.resumed":
				this.live.set(state.runId, state);
				break;
			case "run.finished": {
				this.live.delete(state.runId);
				this.runCount.inc({ status: e.data.status }, 1, at);
				this.runDuration.observe({ team: state.team }, at.ts - Date.parse(state.createdAt), at);
				break;
			}
			case "task.usage":
				for (const [field, kind] of TOKEN_KINDS)
					if (e.data[field] > 0) this.tokens.inc({ role, kind }, e.data[field], at);
				break;
			case "task.deadlettered":
				this.deadLetters.inc({ reason: e.data.reason }, 1, at);
				break;
			case "task.succeeded":
			case "task.failed":
			case "task.skipped":
			case "task.cancelled": {
				if (!task || task.status !== e.type.slice(5)) break; // refused by the fold
				this.taskCount.inc({ status: task.status, role }, 1, at);
				if (!task.startedAt) break; // never ran
				this.taskDuration.observe({ role }, at.ts - Date.parse(task.startedAt), at);
				this.retries.observe({ role }, Math.max(0, task.attempts.length - 1), at);
				break;
			}
		}
	}

	/** The run's coordinator is gone (interrupted, or it stopped on an error): it no longer counts as running. */
	forget(runId: string): void {
		this.live.delete(runId);
	}

	private collect(now: number): void {
		this.active.reset();
		let stalest = 0;
		for (const [runId, state] of this.live) {
			if (TERMINAL_RUN.has(state.status)) {
				this.live.delete(runId);
				continue;
			}
			for (const t of state.tasks.values()) {
				if (t.status !== "running" || t.awaitingRetry) continue;
				this.active.add({ role: t.role }, 1);
				const since = t.lastActivityAt ?? t.startedAt;
				if (since) stalest = Math.max(stalest, now - Date.parse(since));
			}
		}
		this.staleness.set({}, stalest);
	}
}
