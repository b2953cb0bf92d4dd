/**
 * The event→metric subscriber: pi-crew's metrics are a function of the run event stream. A coordinator feeds it each
 * event as it becomes durable; replaying a run's log through it rebuilds the same numbers for any run. Labels are
 * bounded by construction: statuses and reasons come from the closed vocabulary, roles, teams, workflows and loop steps
 * from resource names (and a log a repository shipped cannot smuggle anything else in: the registry takes short strings
 * only).
 *
 * Counters count endings: a run or task that is resumed or requeued and ends again counts again, with its new status.
 * Durations and retries are per life: since the run or task was (re)opened (a task's duration is its attempts' running
 * time, the waits between them not counted; a run's from its start or resume to its end). The
 * gauges read live runs only (a replay drops runs whose coordinator is not known to be alive).
 */
import { type CrewEvent, type RunState, shownUsage, TERMINAL_RUN, type Usage } from "../store/events.js";
import { runningMs } from "../store/fold.js";
import { MetricRegistry } from "./metrics.js";

const TOKEN_KINDS: [keyof Usage, string][] = [
	["input", "input"],
	["output", "output"],
	["cacheRead", "cache_read"],
	["cacheWrite", "cache_write"],
];

/** An exemplar's correlation id: what the writer stamps, nothing a hand-written log could use to break the output. */
const CID = /^[A-Za-z0-9._-]{1,96}:[A-Za-z0-9._-]{1,96}:\d{1,6}$/;

/** A task from its first start after being (re)opened to its end. */
interface Life {
	startedAt: number;
	attempts: number;
	/** The last beat, as the heartbeat watcher reported it once the task fell silent; undefined while healthy. */
	silentSince?: number;
}

export class CrewMetrics {
	readonly registry: MetricRegistry;
	private readonly runCount;
	private readonly runDuration;
	private readonly taskCount;
	private readonly taskDuration;
	private readonly retries;
	private readonly tokens;
	private readonly cost;
	private readonly attempts;
	private readonly staleness;
	private readonly deadLetters;
	private readonly active;
	private readonly loopRounds;
	/** Runs not yet finished whose coordinator is (as far as this process knows) alive: the gauges read them. */
	private readonly live = new Map<string, RunState>();
	/** Running tasks' lives, by run then task. */
	private readonly lives = new Map<string, Map<string, Life>>();

	constructor(registry = new MetricRegistry()) {
		this.registry = registry;
		const r = registry;
		this.runCount = r.counter("crew.run.count", "Run endings, by status (a resumed run that ends again counts again)", {
			labels: ["status"],
		});
		this.runDuration = r.histogram(
			"crew.run.duration_ms",
			"Run duration: from its start, or its latest resume, to its end",
			{ labels: ["team"] },
		);
		this.taskCount = r.counter("crew.task.count", "Task endings, by status and role (a requeued task counts again)", {
			labels: ["status", "role"],
		});
		this.taskDuration = r.histogram(
			"crew.task.duration_ms",
			"Task duration: its attempts' running time since it was last opened (retries included, the waits between them not)",
			{ labels: ["role"] },
		);
		this.retries = r.histogram("crew.task.retry_count", "Attempts after the first, per task ending that ran", {
			labels: ["role"],
			unit: "{retry}",
			buckets: [0, 1, 2, 3, 5, 10],
		});
		this.tokens = r.counter(
			"crew.task.tokens_total",
			"Model tokens used by tasks, by role and kind (input: every prompt token; cache_read, cache_write: its cached parts)",
			{
				labels: ["role", "kind"],
				unit: "{token}",
			},
		);
		this.cost = r.counter("crew.cost.usd", "What tasks cost, by role, as pi's usage reports it (the model's pricing)", {
			labels: ["role"],
			unit: "USD",
		});
		this.attempts = r.counter(
			"crew.task.attempt_count",
			"Task attempts started, by model (`default`: pi's own); a fallback model's attempts count under it",
			{ labels: ["model"] },
		);
		this.staleness = r.gauge(
			"crew.heartbeat.staleness_ms",
			"Longest silence of a running task as its heartbeat watcher reports it (0 while healthy)",
			{ unit: "ms" },
		);
		this.deadLetters = r.counter("crew.deadletter.count", "Tasks dead-lettered, by reason", { labels: ["reason"] });
		this.active = r.gauge("crew.worker.active", "Workers running now, by role", { labels: ["role"] });
		this.loopRounds = r.counter(
			"crew.loop.rounds",
			"Loop rounds started after the first (a step's verdict not clean sends its work back), by workflow and loop step",
			{ labels: ["workflow", "step"], unit: "{round}" },
		);
		r.onCollect((now) => this.collect(now));
	}

	/** Records one durable event; `state` is the run's state after it. Events the fold refused count nothing. */
	observe(e: CrewEvent, state: RunState): void {
		const ts = Date.parse(e.ts);
		if (state.lastRefused || !Number.isFinite(ts)) return;
		const at = { ts, cid: typeof e.cid === "string" && CID.test(e.cid) ? e.cid : undefined };
		const task = e.taskId === undefined ? undefined : state.tasks.get(e.taskId);
		const role = task?.role ?? "unknown";
		const lives = this.livesOf(state.runId);
		const life = e.taskId === undefined ? undefined : lives.get(e.taskId);
		switch (e.type) {
			case "run.started":
				this.live.set(state.runId, state);
				break;
			case "run.resumed":
				// Nothing runs when a run is resumed: what ran under the previous coordinator ended with it.
				this.lives.delete(state.runId);
				this.live.set(state.runId, state);
				break;
			case "run.finished":
				this.forget(state.runId);
				this.runCount.inc({ status: e.data.status }, 1, at);
				this.runDuration.observe({ team: state.team }, ts - Date.parse(state.activeSince ?? state.createdAt), at);
				break;
			case "task.started":
				if (!e.taskId) break;
				this.attempts.inc({ model: e.data.model ?? "default" }, 1, at);
				if (life) {
					life.attempts++;
					life.silentSince = undefined;
				} else lives.set(e.taskId, { startedAt: ts, attempts: 1 });
				break;
			case "task.heartbeat":
				if (life) life.silentSince = e.data.level === "healthy" ? undefined : ts - e.data.silentMs;
				break;
			case "task.usage":
				if (!task) break;
				for (const [field, kind] of TOKEN_KINDS) {
					const n = shownUsage(e.data)[field];
					if (typeof n === "number" && n > 0) this.tokens.inc({ role, kind }, n, at);
				}
				if (typeof e.data.cost === "number" && e.data.cost > 0) this.cost.inc({ role }, e.data.cost, at);
				break;
			case "task.looped":
				if (task && e.taskId) this.loopRounds.inc({ workflow: state.workflow, step: e.taskId }, 1, at);
				break;
			case "task.deadlettered":
				if (task) this.deadLetters.inc({ reason: e.data.reason }, 1, at);
				break;
			case "task.succeeded":
			case "task.failed":
			case "task.skipped":
			case "task.cancelled": {
				if (!task || !e.taskId) break;
				this.taskCount.inc({ status: task.status, role }, 1, at);
				lives.delete(e.taskId);
				if (!life) break; // never ran (skipped, or cancelled while pending)
				const attempts = task.attempts.filter((a) => Date.parse(a.startedAt) >= life.startedAt);
				this.taskDuration.observe({ role }, runningMs(attempts, ts) ?? 0, at);
				this.retries.observe({ role }, life.attempts - 1, at);
				break;
			}
		}
	}

	/** The run ended, or its coordinator is gone (interrupted, or stopped on an error): nothing of it runs any more. */
	forget(runId: string): void {
		this.live.delete(runId);
		this.lives.delete(runId);
	}

	private livesOf(runId: string): Map<string, Life> {
		let lives = this.lives.get(runId);
		if (!lives) {
			lives = new Map();
			this.lives.set(runId, lives);
		}
		return lives;
	}

	/** Gauges from the running tasks of live runs; a task its watcher found dead is being stopped: not a worker any more. */
	private collect(now: number): void {
		this.active.zero();
		let stalest = 0;
		for (const [runId, state] of this.live) {
			if (TERMINAL_RUN.has(state.status)) {
				this.forget(runId);
				continue;
			}
			for (const [taskId, life] of this.lives.get(runId) ?? []) {
				const task = state.tasks.get(taskId);
				if (task?.status !== "running" || task.awaitingRetry) continue;
				if (life.silentSince !== undefined) stalest = Math.max(stalest, now - life.silentSince);
				if (task.heartbeat !== "dead") this.active.add({ role: task.role }, 1);
			}
		}
		this.staleness.set({}, stalest);
	}
}
