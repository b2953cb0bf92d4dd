/** What the parts of a running coordinator share. State is always read through `state()`: the fold of the log. */
import type { EventLogWriter } from "../store/event-log.js";
import type { RunSettings, RunState } from "../store/events.js";
import type { RunPaths } from "../store/run-store.js";
import type { WorkerRuntime } from "../workers/runtime.js";
import type { Plan } from "./plan.js";
import type { HeartbeatWatcher } from "./watcher.js";

export interface RunContext {
	repo: string;
	paths: RunPaths;
	log: EventLogWriter;
	plan: Plan;
	goal: string;
	settings: RunSettings;
	runtime: WorkerRuntime;
	state(): RunState;
	watcher: HeartbeatWatcher;
	gate: RateGate;
	/** Aborted when the run is cancelled (Ctrl-C, `pi-crew cancel`) or the coordinator fails. */
	cancel: AbortSignal;
	/** Stops every worker now (the coordinator failed); no event is written for it. */
	abortAll(): void;
	random: () => number;
	now: () => number;
}

/** Sleeps `ms`, or less if `signal` aborts first. Never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
	if (ms <= 0 || signal.aborted) return Promise.resolve();
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			signal.removeEventListener("abort", done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		signal.addEventListener("abort", done, { once: true });
	});
}

/**
 * The run-wide rate-limit gate: a provider 429 closes it for everyone with growing backoff, so a rate limit pauses
 * new starts instead of burning every task's attempts. Its state is the `run.throttled` events (`throttledUntil`).
 */
export class RateGate {
	private hits = 0;

	constructor(
		private readonly delayFor: (hit: number) => number,
		private readonly log: EventLogWriter,
		private readonly state: () => RunState,
		private readonly now: () => number,
	) {}

	/** Closes the gate (or keeps it closed longer); returns how long from now it stays closed. */
	async close(reason: string): Promise<number> {
		this.hits++;
		const until = Math.max(this.now() + this.delayFor(this.hits), this.openAt());
		const delayMs = until - this.now();
		await this.log.append("run.throttled", { reason, delayMs, until: new Date(until).toISOString() });
		return delayMs;
	}

	/** A success means the provider accepts calls again: backoff starts over. */
	opened(): void {
		this.hits = 0;
	}

	openAt(): number {
		const until = this.state().throttledUntil;
		return until ? Date.parse(until) : 0;
	}

	async wait(signal: AbortSignal): Promise<void> {
		for (let wait = this.openAt() - this.now(); wait > 0 && !signal.aborted; wait = this.openAt() - this.now())
			await sleep(wait, signal);
	}
}
