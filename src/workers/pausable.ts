/** A timeout that can be paused: a worker's time waiting for a person does not count against its task's timeout. */
export class PausableTimer {
	private timer: NodeJS.Timeout | undefined;
	private startedAt = 0;

	/** Starts counting `ms`; `onExpire` runs once they have passed while not paused. */
	constructor(
		private remainingMs: number,
		private readonly onExpire: () => void,
		private readonly now: () => number = Date.now,
	) {
		this.resume();
	}

	/** Stops counting; what is left is kept for `resume`. */
	pause(): void {
		if (!this.timer) return;
		clearTimeout(this.timer);
		this.timer = undefined;
		this.remainingMs = Math.max(0, this.remainingMs - (this.now() - this.startedAt));
	}

	resume(): void {
		if (this.timer) return;
		this.startedAt = this.now();
		this.timer = setTimeout(this.onExpire, this.remainingMs);
	}

	clear(): void {
		clearTimeout(this.timer);
		this.timer = undefined;
	}
}
