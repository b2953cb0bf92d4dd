/**
 * The metrics of the coordinators in this process (a CLI run, a background coordinator, a pi session): one live
 * registry fed with each durable event, the daily sink, and the configured exporters. Exporters are loaded only when
 * configured, push on an interval while runs go on and once when a run ends (no run waits for a push; the process's
 * end waits at most FINAL_PUSH_MS), and a failing exporter is reported once and never touches a run.
 */
import { DEFAULTS as CONFIG_DEFAULTS, type CrewConfig } from "../config/config.js";
import type { CrewEvent, RunState } from "../store/events.js";
import { onStop, report } from "../util/background.js";
import {
	type Correlation,
	correlatedLine,
	correlationId,
	currentCorrelation,
	withCorrelation,
} from "../util/correlation.js";
import { CrewMetrics } from "./crew-metrics.js";
import type { MetricSnapshot } from "./metrics.js";
import type { MetricExporter } from "./otlp.js";
import { replayRuns } from "./replay.js";
import { appendSink, pruneSink } from "./sink.js";

const DEFAULTS = CONFIG_DEFAULTS.metrics;

/** A process's end (a CLI command's exit) waits this long at most for the pushes still in flight. */
const FINAL_PUSH_MS = 1000;
/** While a run goes on, the sink gets its metrics this often. */
const SINK_INTERVAL_MS = 60_000;

const reported = new Set<string>();

/** Each kind of failure is reported once per process: a down collector must not flood the log. */
function reportOnce(key: string, message: string): void {
	if (reported.has(key)) return;
	reported.add(key);
	report(correlatedLine(`pi-crew: ${message} (reported once; runs are not affected)`));
}

type MetricsConfig = NonNullable<CrewConfig["metrics"]>;

/** Pushes to every exporter at once; a failure is reported (once per exporter), never thrown. */
export async function pushAll(exporters: MetricExporter[], snapshots: MetricSnapshot[]): Promise<void> {
	const results = await Promise.allSettled(exporters.map((e) => e.push(snapshots)));
	results.forEach((r, i) => {
		if (r.status === "rejected")
			reportOnce(`push:${exporters[i]?.name}`, `metrics exporter ${exporters[i]?.name} failed: ${r.reason}`);
	});
}

class ProcessTelemetry {
	readonly live = new CrewMetrics();
	private exporters: Promise<MetricExporter[]> | undefined;
	private exporterKey = "";
	/** Runs whose coordinator is in this process, with their repository and whether it keeps a sink. */
	private readonly running = new Map<string, { repo: string; sink: boolean }>();
	/** Pushes not finished yet, with the span that started them: a command's exit waits for them, at most FINAL_PUSH_MS. */
	private readonly inflight = new Map<Promise<void>, Correlation | undefined>();
	private timers: NodeJS.Timeout[] = [];

	async open(repo: string, config: MetricsConfig): Promise<void> {
		if (config.sink ?? DEFAULTS.sink)
			await pruneSink(repo, config.retentionDays ?? DEFAULTS.retentionDays).catch((err: Error) =>
				reportOnce(`prune:${repo}`, `cannot prune old metrics files: ${err.message}`),
			);
		const otlp = config.otlp;
		const key = JSON.stringify(otlp ?? null);
		if (key === this.exporterKey) return;
		const previous = this.exporters;
		this.exporterKey = key;
		this.exporters = otlp
			? import("./otlp.js")
					.then((m) => m.createOtlpExporter({ ...otlp, timeoutMs: otlp.timeoutMs ?? DEFAULTS.otlpTimeoutMs }))
					.then(
						(e) => [e],
						(err: Error) => {
							reportOnce("otlp:load", `cannot start the OTLP exporter: ${err.message}`);
							return [];
						},
					)
			: undefined;
		void previous?.then((list) => Promise.all(list.map((e) => e.shutdown())));
		for (const t of this.timers) clearInterval(t);
		this.timers = [setInterval(() => void this.sinkInterval(), SINK_INTERVAL_MS)];
		// Pushes while runs go on; the last one comes with the end of the last run.
		if (otlp)
			this.timers.push(
				setInterval(() => {
					if (this.running.size > 0) this.push();
				}, otlp.intervalMs ?? DEFAULTS.otlpIntervalMs),
			);
		// Background work only: a process is never kept alive for its metrics.
		for (const t of this.timers) t.unref();
	}

	started(runId: string, repo: string, sink: boolean): void {
		this.running.set(runId, { repo, sink });
	}

	/** Starts a push of the live metrics to every exporter; never waited for by a run. */
	private push(): void {
		const push = (async () => {
			const exporters = await this.exporters;
			if (exporters?.length) await pushAll(exporters, this.live.registry.snapshot());
		})();
		this.inflight.set(push, currentCorrelation());
		void push
			.catch((err: Error) => reportOnce("push", `cannot push metrics: ${err.message}`))
			.finally(() => this.inflight.delete(push));
	}

	/** Each running run's metrics so far (replayed from its log), in its repository's sink. */
	private async sinkInterval(): Promise<void> {
		for (const [runId, run] of this.running) if (run.sink) await this.sinkRun(run.repo, runId, "interval");
	}

	/** The run's coordinator stopped: its line in the sink, and a push that nobody waits for. */
	async ended(runId: string): Promise<void> {
		const run = this.running.get(runId);
		this.running.delete(runId);
		this.live.forget(runId);
		if (run?.sink) await this.sinkRun(run.repo, runId, "run");
		if (this.exporters) this.push();
	}

	private async sinkRun(repo: string, runId: string, kind: "run" | "interval"): Promise<void> {
		try {
			const replay = await replayRuns(repo, [runId]);
			const state = replay.runs[0]?.state;
			await appendSink(repo, {
				ts: new Date().toISOString(),
				kind,
				runId,
				cid: correlationId({ runId, span: String((state?.resumes ?? 0) + 1) }),
				status: state?.status,
				metrics: replay.metrics.registry.snapshot(),
			});
		} catch (err) {
			reportOnce(`sink:${repo}`, `cannot write metrics: ${(err as Error).message}`);
		}
	}

	/**
	 * Stops the timers and the exporters, giving pushes still in flight and the exporters' shutdown one deadline of
	 * FINAL_PUSH_MS together (a collector that is down or hung is given up on, and said so once).
	 */
	async shutdown(): Promise<void> {
		for (const t of this.timers) clearInterval(t);
		this.timers = [];
		const exporters = (await this.exporters) ?? [];
		this.exporters = undefined;
		this.exporterKey = "";
		const [span] = [...this.inflight.values()];
		const inTime = await capped(Promise.all([...this.inflight.keys(), ...exporters.map((e) => e.shutdown())]));
		if (inTime || this.inflight.size === 0) return;
		for (const e of exporters) {
			const message = `metrics exporter ${e.name} failed: no answer within ${FINAL_PUSH_MS} ms`;
			// Said in the span of the run whose end started the push.
			if (span) withCorrelation(span, () => reportOnce(`push:${e.name}`, message));
			else reportOnce(`push:${e.name}`, message);
		}
	}
}

/**
 * `work`, or FINAL_PUSH_MS, whichever ends first (a hung collector is given up on, never waited for); whether the
 * work ended in time.
 */
async function capped(work: Promise<unknown>): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const cap = new Promise<boolean>((resolve) => {
		timer = setTimeout(() => resolve(false), FINAL_PUSH_MS);
		timer.unref();
	});
	const done = work.then(
		() => true,
		() => true,
	);
	const inTime = await Promise.race([done, cap]);
	clearTimeout(timer);
	return inTime;
}

let current: ProcessTelemetry | undefined;

function telemetry(): ProcessTelemetry {
	if (!current) {
		current = new ProcessTelemetry();
		onStop(shutdownTelemetry);
	}
	return current;
}

export interface RunObserver {
	observe(event: CrewEvent, state: RunState): void;
	/** The coordinator stopped (however it ended). */
	end(): Promise<void>;
}

/** Observes the runs one coordinator call drives (a new run, or a resume) in `repo`. */
export async function observeRuns(repo: string, config: MetricsConfig = {}): Promise<RunObserver> {
	const t = telemetry();
	await t.open(repo, config);
	const sink = config.sink ?? DEFAULTS.sink;
	/** Each run observed, with its latest state. */
	const seen = new Map<string, RunState>();
	return {
		observe(event, state) {
			if (!seen.has(event.runId)) t.started(event.runId, repo, sink);
			seen.set(event.runId, state);
			t.live.observe(event, state);
		},
		async end() {
			// What the run's end reports (a collector that failed) carries the run's id.
			for (const [runId, state] of seen)
				await withCorrelation({ runId, span: String(state.resumes + 1) }, () => t.ended(runId));
		},
	};
}

/** Stops timers and exporters (CLI exit, pi session shutdown); the next run starts them again. */
async function shutdownTelemetry(): Promise<void> {
	const t = current;
	current = undefined;
	await t?.shutdown();
}
