/** Metrics of any runs rebuilt from their logs: the same subscriber a coordinator feeds live, fed by the log. */
import { holderLiveness } from "../store/lease.js";
import { listRunIds, loadRun, type RunView } from "../store/run-store.js";
import { CrewMetrics } from "./crew-metrics.js";

export interface Replay {
	metrics: CrewMetrics;
	/** Each run replayed, as its log reads. */
	runs: RunView[];
	/** Runs whose log could not be read at all. */
	broken: { runId: string; error: string }[];
}

/** Replays `runIds` (default: every run of the repository) into one fresh registry, one pass over each log. */
export async function replayRuns(repo: string, runIds?: string[]): Promise<Replay> {
	const metrics = new CrewMetrics();
	const runs: RunView[] = [];
	const broken: Replay["broken"] = [];
	for (const runId of runIds ?? (await listRunIds(repo))) {
		let view: RunView;
		try {
			view = await loadRun(repo, runId, (e, state) => metrics.observe(e, state));
		} catch (err) {
			if (runIds) throw err;
			broken.push({ runId, error: (err as Error).message });
			continue;
		}
		// Gauges count what runs now: not a run whose coordinator is gone, or on another host (no telling).
		const holder = view.coordinator;
		if (view.status !== "running" || !holder || holderLiveness(holder) !== "alive") metrics.forget(runId);
		runs.push(view);
	}
	return { metrics, runs, broken };
}
