/** A task's timeout, for both runtimes, that does not count while its worker waits on the run (an open `ask`). */

export class TaskTimer {
	private timer: NodeJS.Timeout | undefined;
	private left: number;
	private since = 0;
	private open = 0;
	private done = false;

	/** Starts counting `ms` on `now`'s clock; `onTimeout` runs once they have passed outside `paused` calls. */
	constructor(
		ms: number,
		private readonly onTimeout: () => void,
		private readonly now: () => number = Date.now,
	) {
		this.left = ms;
		this.run();
	}

	/** Runs `work` with the clock stopped (calls may overlap); it counts on with what was left once none is open. */
	async paused<T>(work: () => Promise<T>): Promise<T> {
		if (this.open++ === 0 && this.timer) {
			clearTimeout(this.timer);
			this.timer = undefined;
			this.left -= this.now() - this.since;
		}
		try {
			return await work();
		} finally {
			if (--this.open === 0) this.run();
		}
	}

	/** Stops it for good. */
	clear(): void {
		this.done = true;
		clearTimeout(this.timer);
	}

	private run(): void {
		if (this.done) return;
		this.since = this.now();
		this.timer = setTimeout(
			() => {
				this.done = true;
				this.onTimeout();
			},
			Math.max(0, this.left),
		);
	}
}
