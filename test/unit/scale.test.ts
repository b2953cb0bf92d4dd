/** Work that must not grow with the run: the engine's per-task cost is flat in the number of tasks (issue 26 §3). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { executeRun } from "../../src/engine/coordinator.js";
import { type PlannedTask, planRun } from "../../src/engine/plan.js";
import { loadCatalog } from "../../src/resources/catalog.js";
import type { TaskState } from "../../src/store/events.js";
import type { WorkerRuntime } from "../../src/workers/runtime.js";
import { fixtures, projectTeam, sandbox } from "../support/index.js";

/** The run's task table, counting each task it hands out (a lookup, or a step of an iteration over it). */
class CountingTasks extends Map<string, TaskState> {
	static visits = 0;
	override get(id: string) {
		CountingTasks.visits++;
		return super.get(id);
	}
	override values(): MapIterator<TaskState> {
		return counted(super.values());
	}
	override entries(): MapIterator<[string, TaskState]> {
		return counted(super.entries());
	}
	override [Symbol.iterator](): MapIterator<[string, TaskState]> {
		return this.entries();
	}
}

function counted<T>(items: MapIterator<T>): MapIterator<T> {
	return (function* () {
		for (const item of items) {
			CountingTasks.visits++;
			yield item;
		}
	})() as unknown as MapIterator<T>;
}

/** Task visits per task of a run of `n` tasks in layers of 50, each depending on one or two of the layer before. */
async function visitsPerTask(n: number): Promise<number> {
	const box = await sandbox();
	await projectTeam(box, "wide", [{ id: "n0", role: "explorer" }]);
	const catalog = await loadCatalog({ repo: box.repo, home: join(box.dir, "home"), trustProject: false });
	const one = planRun(catalog, "wide");
	const template = one.tasks[0] as PlannedTask;
	const tasks = Array.from({ length: n }, (_, i) => {
		const layer = Math.floor(i / 50);
		const previous = (k: number) => `n${(layer - 1) * 50 + (k % 50)}`;
		const dependsOn = layer === 0 ? [] : [previous(i), ...(i % 3 === 0 ? [previous(i + 1)] : [])];
		return { ...template, id: `n${i}`, output: `n${i}`, dependsOn };
	});
	const runtime: WorkerRuntime = { name: "fake", run: async () => ({ kind: "succeeded", answer: "ok" }) };
	CountingTasks.visits = 0;
	const result = await executeRun({
		repo: box.repo,
		plan: { ...one, tasks },
		goal: "g",
		runtime,
		settings: { ...fixtures.created.settings, concurrency: 8 },
		// The fold's own table from its first event on: every reader of the run's state goes through it.
		onEvent: (e, state) => {
			if (e.type === "run.created") Object.setPrototypeOf(state.tasks, CountingTasks.prototype);
		},
	});
	assert.equal(result.state.status, "succeeded");
	assert.equal([...result.state.tasks.values()].filter((t) => t.status === "succeeded").length, n);
	return CountingTasks.visits / n;
}

test("the engine visits a bounded number of tasks per task, however many the run has (no scan of all per event)", async (t) => {
	const small = await visitsPerTask(100);
	const large = await visitsPerTask(800);
	t.diagnostic(`task visits per task: ${small.toFixed(1)} at 100 tasks, ${large.toFixed(1)} at 800`);
	// Flat: a scan of every task per event or per start would make the large run's cost per task ~8 times the small's.
	assert.ok(large < 60, `${large.toFixed(1)} task visits per task in an 800-task run (at most 60)`);
	assert.ok(large <= small * 1.5, `per task: ${small.toFixed(1)} visits at 100 tasks, ${large.toFixed(1)} at 800`);
});
