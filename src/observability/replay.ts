/** Metrics of any runs rebuilt from their logs: the same subscriber a coordinator feeds live, fed by the log. */
import { applyEvent, type RunState } from "../store/events.js";
import { holderLiveness } from "../store/lease.js";
import { listRunIds, readRun } from "../store/run-store.js";
import { CrewMetrics } from "./crew-metrics.js";
import { MetricRegistry } from "./metrics.js";

export interface Replay {
	metrics: CrewMetrics;
	runs: string[];
	/** Each replayed run's final state. */
	states: Map<string, RunState>;
	/** Runs whose log could not be read at all. */
	broken: { runId: string; error: string }[];
}

/** Replays `runIds` (default: every run of the repository) into one fresh registry. */
export async function replayRuns(repo: string, runIds?: string[], warn?: (m: string) => void): Promise<Replay> {
	const metrics = new CrewMetrics(new MetricRegistry(warn));
	const runs: string[] = [];
	const states = new Map<string, RunState>();
	const broken: Replay["broken"] = [];
	for (const runId of runIds ?? (await listRunIds(repo))) {
		let read: Awaited<ReturnType<typeof readRun>>;
		try {
			read = await readRun(repo, runId);
		} catch (err) {
			if (runIds) throw err;
			broken.push({ runId, error: (err as Error).message });
			continue;
		}
		let state: RunState | undefined;
		for (const e of read.events) {
			state = applyEvent(state, e);
			metrics.observe(e, state);
		}
		// Gauges count what runs now: not a run whose coordinator is gone, or on another host (no telling).
		const holder = read.view.coordinator;
		if (read.view.status !== "running" || !holder || holderLiveness(holder) !== "alive") metrics.forget(runId);
		runs.push(runId);
		if (state) states.set(runId, state);
	}
	return { metrics, runs, states, broken };
}
