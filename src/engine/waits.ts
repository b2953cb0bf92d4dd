/** Workers waiting for a person (an answer to a question, a verdict on an answer), until a control command brings it. */
import type { HeartbeatWatcher } from "./watcher.js";

interface Call<T> {
	taskId: string;
	settle: (word: T | undefined) => void;
}

/**
 * Calls that wait for a person's word, by the id of what they wait on (a question, an approval round; several calls
 * may wait on one id). While a call waits, its task's silence does not count against its heartbeat (the runtimes
 * pause its timeout). The commands that bring the word outlive a coordinator (control.ts `clearBefore`).
 */
export class PersonWaits<T> {
	private readonly open = new Map<string, Call<T>[]>();

	constructor(private readonly watcher: Pick<HeartbeatWatcher, "pause" | "resume">) {}

	/** The word given for `id` of task `taskId`; undefined once `stop` aborts (the task is being stopped). */
	wait(taskId: string, id: string, stop: AbortSignal): Promise<T | undefined> {
		this.watcher.pause(taskId);
		return new Promise((resolve) => {
			const call: Call<T> = {
				taskId,
				settle: (word) => {
					stop.removeEventListener("abort", onStop);
					const others = this.open.get(id)?.filter((c) => c !== call) ?? [];
					if (others.length > 0) this.open.set(id, others);
					else this.open.delete(id);
					this.watcher.resume(taskId);
					resolve(word);
				},
			};
			const onStop = () => call.settle(undefined);
			this.open.set(id, [...(this.open.get(id) ?? []), call]);
			stop.addEventListener("abort", onStop, { once: true });
			if (stop.aborted) onStop();
		});
	}

	/** Hands `word` to every call of task `taskId` waiting on `id`; a word nothing waits for is dropped. */
	give(taskId: string, id: string, word: T): void {
		for (const call of this.open.get(id) ?? []) if (call.taskId === taskId) call.settle(word);
	}
}
