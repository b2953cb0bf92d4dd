/** A task's timeout stops counting while its worker waits on the run, and counts on with what was left. */
import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { TaskTimer } from "../../src/workers/task-timer.js";

test("the timeout does not count during paused calls (overlapping ones included) and fires once on the rest", async () => {
	mock.timers.enable({ apis: ["setTimeout"] });
	try {
		let fired = 0;
		// The clock is injected: what was left is counted on it, not on the machine's.
		let clock = 0;
		const tick = (ms: number) => {
			clock += ms;
			mock.timers.tick(ms);
		};
		const timer = new TaskTimer(
			1000,
			() => fired++,
			() => clock,
		);
		tick(600);
		let release: () => void = () => undefined;
		const open = new Promise<void>((resolve) => {
			release = resolve;
		});
		const first = timer.paused(() => open);
		const second = timer.paused(() => open);
		tick(10_000);
		assert.equal(fired, 0, "an open call stops the clock");
		release();
		await Promise.all([first, second]);
		tick(399);
		assert.equal(fired, 0, "400 ms were left");
		tick(1);
		assert.equal(fired, 1);
		tick(5000);
		assert.equal(fired, 1);
		timer.clear();
	} finally {
		mock.timers.reset();
	}
});

test("a cleared timer never fires, even after a paused call ends", async () => {
	mock.timers.enable({ apis: ["setTimeout", "Date"] });
	try {
		let fired = 0;
		const timer = new TaskTimer(100, () => fired++);
		await timer.paused(async () => timer.clear());
		mock.timers.tick(1000);
		assert.equal(fired, 0);
	} finally {
		mock.timers.reset();
	}
});
