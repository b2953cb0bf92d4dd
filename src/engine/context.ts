/** What the parts of a running coordinator share. State is always read through `state()`: the fold of the log. */
import type { EventLogWriter } from "../store/event-log.js";
import type { RunState } from "../store/events.js";
import type { RunPaths } from "../store/run-store.js";
import type { RunSettings } from "../store/settings.js";
import type { WorkerChannel, WorkerRuntime } from "../workers/runtime.js";
import type { Workspace } from "../workspace/worktrees.js";
import type { ApproveCommand } from "./approval.js";
import type { KeptWorkers } from "./kept.js";
import type { Mailbox } from "./mailbox.js";
import type { Plan } from "./plan.js";
import type { Questions } from "./questions.js";
import type { PersonWaits } from "./waits.js";
import type { HeartbeatWatcher } from "./watcher.js";

export interface RunContext {
	repo: string;
	/** pi's trust decision for the repository, taken when this coordinator started (config/trust.ts). */
	projectTrusted: boolean;
	/** Worktrees and the merge queue of an isolated run (settings.isolation "worktree"). */
	workspace?: Workspace;
	paths: RunPaths;
	log: EventLogWriter;
	plan: Plan;
	goal: string;
	settings: RunSettings;
	runtime: WorkerRuntime;
	/** Variables workers and verify commands get besides the essentials (config `env.allow`). */
	allowEnv: readonly string[];
	state(): RunState;
	watcher: HeartbeatWatcher;
	gate: RateGate;
	/** Aborted when the run is cancelled (Ctrl-C, `pi-crew cancel`) or the coordinator fails. */
	cancel: AbortSignal;
	/** Stops every worker now (the coordinator failed); no event is written for it. */
	abortAll(): void;
	random: () => number;
	now: () => number;
	/** The workers of loops' `to` tasks kept open between rounds. */
	kept: KeptWorkers;
	/** The conversation of each running task that takes messages now. */
	channels: Map<string, WorkerChannel>;
	/** The answers waiting for approval (approval.ts), by approval id: the `approve` command decides them. */
	approvals: PersonWaits<ApproveCommand>;
	/** The workers' questions waiting for a person. */
	questions: Questions;
	/** Messages between tasks (their workers' `message` tool). */
	mailbox: Mailbox;
	/** Dead-letter rate checks run one at a time; the alert is raised once per coordinator. */
	deadLetterAlert: { check: Promise<void>; raised: boolean };
}

/** The rate-limit gate never stays closed longer than this at a time. */
export const MAX_GATE_MS = 5 * 60_000;

/** setTimeout fires at once for delays above 2^31-1 ms: longer waits are cut to that. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Sleeps `ms` (at most MAX_TIMER_MS), or less if `signal` aborts first. Never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
	if (ms <= 0 || signal.aborted) return Promise.resolve();
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			signal.removeEventListener("abort", done);
			resolve();
		};
		const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
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

	/**
	 * Closes the gate; returns how long from now it stays closed. Rate limits hitting while it is closed (the tasks
	 * that were already running) do not grow the backoff: one step per closure, capped.
	 */
	async close(reason: string): Promise<number> {
		if (this.openAt() <= this.now()) this.hits++;
		const until = Math.max(this.now() + Math.min(this.delayFor(Math.max(1, this.hits)), MAX_GATE_MS), this.openAt());
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
