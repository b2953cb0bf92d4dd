/** Workers waiting for a person (an answer to a question, a verdict on an answer), until a control command brings it. */
import type { RunContext } from "./context.js";

interface Call<T> {
	taskId: string;
	settle: (end: WaitEnd<T>) => void;
}

/** How a wait ended: the word given, the task stopped, or the run's wall budget spent (why, for the task's reason). */
export type WaitEnd<T> = { word: T } | { stopped: true } | { budget: string };

type WaitContext = Pick<RunContext, "watcher" | "settings" | "state" | "now">;

/** What is left of the run's wall budget (ms, at least 0), or undefined without one. */
export function wallLeft(ctx: Pick<RunContext, "settings" | "state" | "now">): number | undefined {
	const { maxWallMs } = ctx.settings.budget ?? {};
	if (maxWallMs === undefined) return undefined;
	const state = ctx.state();
	return Math.max(0, Date.parse(state.activeSince ?? state.createdAt) + maxWallMs - ctx.now());
}

/**
 * Calls that wait for a person's word, by the id of what they wait on (a question, an approval round; several calls
 * may wait on one id). While a call waits, its task's silence does not count against its heartbeat (the runtimes
 * pause its timeout); the run's wall budget still counts. The commands that bring the word outlive a coordinator
 * (control.ts `clearBefore`).
 */
export class PersonWaits<T> {
	private readonly open = new Map<string, Call<T>[]>();

	/** @param what what the calls wait for, in the reason of a wait the wall budget ends ("approval") */
	constructor(
		private readonly ctx: WaitContext,
		private readonly what: string,
	) {}

	/**
	 * Registers a call now (a word given from here on reaches it: register before showing what it waits on) and
	 * resolves with how it ended; `stop` aborts it (the task is being stopped).
	 */
	wait(taskId: string, id: string, stop: AbortSignal): Promise<WaitEnd<T>> {
		this.ctx.watcher.pause(taskId);
		return new Promise((resolve) => {
			let timer: NodeJS.Timeout | undefined;
			const call: Call<T> = {
				taskId,
				settle: (end) => {
					clearTimeout(timer);
					stop.removeEventListener("abort", onStop);
					const others = this.open.get(id)?.filter((c) => c !== call) ?? [];
					if (others.length > 0) this.open.set(id, others);
					else this.open.delete(id);
					this.ctx.watcher.resume(taskId);
					resolve(end);
				},
			};
			const onStop = () => call.settle({ stopped: true });
			this.open.set(id, [...(this.open.get(id) ?? []), call]);
			stop.addEventListener("abort", onStop, { once: true });
			const left = wallLeft(this.ctx);
			if (left !== undefined) {
				const max = this.ctx.settings.budget?.maxWallMs ?? 0;
				const budget = `budget-exceeded: no ${this.what} within the run's ${Math.round(max / 1000)}s`;
				// A setTimeout waits at most 2^31-1 ms.
				timer = setTimeout(() => call.settle({ budget }), Math.min(left, 2 ** 31 - 1));
			}
			if (stop.aborted) onStop();
		});
	}

	/** Hands `word` to every call of task `taskId` waiting on `id`; a word nothing waits for is dropped. */
	give(taskId: string, id: string, word: T): void {
		for (const call of this.open.get(id) ?? []) if (call.taskId === taskId) call.settle({ word });
	}
}
