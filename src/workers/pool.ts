/**
 * The warm pool of one child runtime (one run): idle pi RPC workers kept by their shape (workers/runtime.ts
 * `WorkerShape`), so that a task takes a started worker instead of paying pi's start-up. A worker is recycled after
 * `recycleAfter` tasks, after `idleMs` without one, and never reused after a task that did not succeed (its taker
 * stops it). Idle workers are at most `size` in all (the run's concurrency): the oldest goes first.
 */
import { DEFAULTS } from "../config/config.js";
import { PiProcess, type SpawnOptions } from "./pi-process.js";
import type { TaskSpec, WorkerShape } from "./runtime.js";

export interface PoolOptions {
	/** Tasks a worker serves before it is replaced (1: a fresh process per task). */
	recycleAfter: number;
	/** How long an idle worker is kept. */
	idleMs: number;
	/** Idle workers kept in all. */
	size: number;
}

export const POOL_DEFAULTS: PoolOptions = {
	recycleAfter: DEFAULTS.workers.recycleAfter,
	idleMs: DEFAULTS.workers.idleSeconds * 1000,
	size: DEFAULTS.concurrency,
};

/** The shape of the worker that runs `spec`: what a task shares with the others that may use the same process. */
export function shapeOf(spec: TaskSpec): WorkerShape {
	const { runId, cwd, repo, projectTrusted, model, thinking, tools, skills, extensions, scenario, beatMs } = spec;
	return {
		runId,
		cwd,
		repo,
		projectTrusted,
		model,
		thinking,
		tools,
		skills,
		extensions,
		scenario,
		beatMs,
		...(spec.crew && { crewTools: spec.crew.tools }),
	};
}

/** Every field of the shape, in a fixed order: two shapes share workers only when they are equal. */
function keyOf(s: WorkerShape): string {
	return JSON.stringify([
		s.runId,
		s.cwd,
		s.repo,
		s.projectTrusted,
		s.model,
		s.thinking,
		s.tools,
		s.skills,
		s.extensions,
		s.scenario,
		s.beatMs,
		s.crewTools,
	]);
}

export class WorkerPool {
	/** Idle workers, oldest first. */
	private idle: PiProcess[] = [];
	private readonly timers = new Map<PiProcess, NodeJS.Timeout>();
	/** Workers started by `warm` that no task has taken yet, by key. */
	private readonly warming = new Map<string, Promise<PiProcess | undefined>[]>();
	private closed = false;

	constructor(
		private readonly options: PoolOptions,
		private readonly spawnOptions: SpawnOptions,
	) {}

	/** A worker of `shape`: an idle one, one warming up, or a new one. */
	async take(shape: WorkerShape): Promise<PiProcess> {
		const key = keyOf(shape);
		const i = this.idle.findIndex((w) => w.key === key && !w.exited);
		const idle = i >= 0 ? this.idle.splice(i, 1)[0] : undefined;
		if (idle) {
			clearTimeout(this.timers.get(idle));
			this.timers.delete(idle);
			return idle;
		}
		const warm = await this.warming.get(key)?.shift();
		return warm && !warm.exited ? warm : this.start(key, shape);
	}

	/** Starts a worker of `shape` in the background, unless one is idle or starting already. */
	warm(shape: WorkerShape): void {
		const key = keyOf(shape);
		if (this.closed || this.idle.some((w) => w.key === key) || this.warming.get(key)?.length) return;
		const started: Promise<PiProcess | undefined> = this.start(key, shape).then(
			(worker) => {
				// Started before any task asked for it: idle like any other (its idle timer, the size cap), or stopped
				// if the pool has closed meanwhile.
				const waiting = this.warming.get(key) ?? [];
				if (!waiting.includes(started)) return worker;
				this.warming.set(
					key,
					waiting.filter((w) => w !== started),
				);
				this.give(worker);
				return undefined;
			},
			() => undefined, // the task that runs tells why it cannot start
		);
		this.warming.set(key, [...(this.warming.get(key) ?? []), started]);
	}

	/** Takes back a worker whose task succeeded: kept idle for the next task of its shape, or recycled. */
	give(worker: PiProcess): void {
		worker.detach();
		if (this.closed || worker.exited || worker.served >= this.options.recycleAfter) {
			void worker.stop();
			return;
		}
		while (this.idle.length >= this.options.size) {
			const oldest = this.idle.shift();
			if (oldest) this.forget(oldest, true);
		}
		this.idle.push(worker);
		const timer = setTimeout(() => this.forget(worker, true), this.options.idleMs);
		timer.unref();
		this.timers.set(worker, timer);
	}

	/** Stops every idle or warming worker, now and from now on, and waits until they have exited. */
	async close(): Promise<void> {
		this.closed = true;
		const warming = [...this.warming.values()].flat();
		this.warming.clear();
		const stopping = [...this.idle].map((w) => {
			this.forget(w, false);
			return w.stop();
		});
		const started = await Promise.all(warming);
		await Promise.all([...stopping, ...started.map((w) => w?.stop())]);
	}

	private async start(key: string, shape: WorkerShape): Promise<PiProcess> {
		const worker = await PiProcess.start(key, shape, this.spawnOptions);
		worker.onExit = () => this.forget(worker, false);
		return worker;
	}

	private forget(worker: PiProcess, stop: boolean): void {
		clearTimeout(this.timers.get(worker));
		this.timers.delete(worker);
		this.idle = this.idle.filter((w) => w !== worker);
		if (stop) void worker.stop();
	}
}
