/**
 * Kept workers: the worker of a loop's `to` task stays open once its answer is accepted (its session kept, its timeout
 * and heartbeat paused), so that the loop's next round reaches it as a follow-up in the same session; it ends when the
 * loop does, with the run, on a cancel, or when it dies (the next round then starts a fresh worker).
 */
import { type RunState, TERMINAL_TASK } from "../store/events.js";
import {
	failure,
	type Review,
	StopRequest,
	type TaskSpec,
	type WorkerEvent,
	type WorkerOutcome,
	type WorkerRuntime,
} from "../workers/runtime.js";

/** One attempt of the task in a kept worker: its own hooks (review, crew tools, events), stop signal and outcome. */
interface Turn {
	spec: TaskSpec;
	onEvent: (event: WorkerEvent) => void;
	done: (outcome: WorkerOutcome) => void;
	unlink: () => void;
}

/** A worker kept by task id: one runtime session that serves the attempts of several loop rounds, one at a time. */
class Kept {
	private turn: Turn | undefined;
	/** Set while it waits between rounds: called with the next round's follow-up, or undefined to let it end. */
	private next: ((followUp: string | undefined) => void) | undefined;
	private readonly stop = new AbortController();
	readonly ended: Promise<void>;

	constructor(runtime: WorkerRuntime, spec: TaskSpec, cancel: AbortSignal, onEnd: () => void) {
		const onCancel = () => this.end(new StopRequest("cancel", "run cancelled"));
		cancel.addEventListener("abort", onCancel, { once: true });
		const crew = spec.crew;
		const worker: TaskSpec = {
			...spec,
			review: (answer) => this.review(answer),
			// The crew tools answer for the attempt in progress: its questions stop with it, its verdict is its own.
			...(crew && {
				crew: {
					tools: crew.tools,
					request: (request) =>
						this.turn?.spec.crew?.request(request) ?? Promise.reject(new Error("no attempt is running")),
				},
			}),
		};
		this.ended = runtime
			.run(worker, this.stop.signal, (event) => this.turn?.onEvent(event))
			.catch((err: Error) => failure("spawn_failed", `worker runtime failed: ${err.message}`))
			.then((outcome) => {
				cancel.removeEventListener("abort", onCancel);
				this.finish(outcome);
				this.resume(undefined);
				onEnd();
			});
	}

	get waiting(): boolean {
		return this.next !== undefined;
	}

	/** Runs one attempt: the worker's first prompt (`spec.prompt`, already given), or `followUp` once it waits. */
	attempt(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void, followUp?: string) {
		return new Promise<WorkerOutcome>((done) => {
			const onStop = () => this.end(signal.reason instanceof StopRequest ? signal.reason : undefined);
			signal.addEventListener("abort", onStop, { once: true });
			this.turn = { spec, onEvent, done, unlink: () => signal.removeEventListener("abort", onStop) };
			if (followUp !== undefined) this.resume(followUp);
			if (signal.aborted) onStop();
		});
	}

	/** Lets a waiting worker end as it would have without a loop (its answer accepted); with `why`, stops it now. */
	end(why?: StopRequest): void {
		if (why) this.stop.abort(why);
		this.resume(undefined);
	}

	private resume(followUp: string | undefined): void {
		const next = this.next;
		this.next = undefined;
		next?.(followUp);
	}

	/** The attempt in progress ends with `outcome`; the worker goes on, or not, without it. */
	private finish(outcome: WorkerOutcome): void {
		const turn = this.turn;
		this.turn = undefined;
		turn?.unlink();
		turn?.done(outcome);
	}

	/** Each answer: the attempt's own review first; accepted, the attempt ends with it and the worker waits. */
	private async review(answer: string): Promise<Review> {
		const own = this.turn?.spec.review;
		const said = own ? await own(answer) : { approved: true as const };
		if (!("approved" in said) || this.stop.signal.aborted) return said;
		this.finish({ kind: "succeeded", answer });
		const followUp = await new Promise<string | undefined>((resolve) => {
			this.next = resolve;
		});
		return followUp === undefined ? { approved: true } : { feedback: followUp };
	}
}

/** The run's kept workers, by task id. */
export class KeptWorkers {
	private readonly workers = new Map<string, Kept>();
	/** Each loop's `to` task -> the tasks whose loop names it; indexed once (loops come with the plan, never later). */
	private loops: Map<string, string[]> | undefined;

	constructor(
		private readonly runtime: WorkerRuntime,
		private readonly cancel: AbortSignal,
		private readonly state: () => RunState,
	) {}

	/**
	 * Runs an attempt of task `spec.taskId`: a loop's next round (`followUp`, its finding) goes to the task's kept
	 * worker if one waits; otherwise a new worker starts with `spec.prompt`, kept once its answer is accepted when the
	 * task is a loop's `to`. Resolves with the attempt's outcome: its accepted answer, or how its worker ended.
	 */
	async run(
		spec: TaskSpec,
		signal: AbortSignal,
		onEvent: (event: WorkerEvent) => void,
		followUp: string | undefined,
	): Promise<WorkerOutcome> {
		const id = spec.taskId;
		const kept = this.workers.get(id);
		if (kept?.waiting && followUp) return kept.attempt(spec, signal, onEvent, followUp);
		// Ended before a new worker starts: a worker that exits reaps its task's processes, a new one's included.
		kept?.end();
		await kept?.ended;
		if (!this.loopsTo(id)) return this.runtime.run(spec, signal, onEvent);
		const worker = new Kept(this.runtime, spec, this.cancel, () => {
			if (this.workers.get(id) === worker) this.workers.delete(id);
		});
		this.workers.set(id, worker);
		return worker.attempt(spec, signal, onEvent);
	}

	/** Lets the task's kept worker end: the answer it gave did not stand. */
	release(id: string): void {
		this.workers.get(id)?.end();
	}

	private loopsTo(id: string): string[] | undefined {
		if (!this.loops) {
			this.loops = new Map();
			for (const t of this.state().tasks.values())
				if (t.loop) this.loops.set(t.loop.to, [...(this.loops.get(t.loop.to) ?? []), t.id]);
		}
		return this.loops.get(id);
	}

	/**
	 * Lets go of the waiting workers no loop will send work back to: their task did not succeed after all (its merge
	 * conflicted, its verify failed), or every loop that names it as `to` has ended.
	 */
	prune(): void {
		const { tasks } = this.state();
		for (const [id, worker] of this.workers) {
			if (!worker.waiting) continue;
			const status = tasks.get(id)?.status;
			const open = this.loopsTo(id)?.some((l) => {
				const t = tasks.get(l);
				return t !== undefined && !TERMINAL_TASK.has(t.status);
			});
			if (!open || (status !== "succeeded" && status !== "pending" && status !== "running")) worker.end();
		}
	}

	/** Lets every kept worker end (a cancel has stopped them already) and waits until they have. */
	async close(): Promise<void> {
		for (const worker of this.workers.values()) worker.end();
		await Promise.all([...this.workers.values()].map((w) => w.ended));
	}
}
