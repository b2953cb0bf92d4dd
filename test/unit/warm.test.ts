/** The coordinator asks its runtime for warm workers for a new run's first tasks before it writes anything. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { executeRun } from "../../src/engine/coordinator.js";
import { planRun } from "../../src/engine/plan.js";
import { loadCatalog } from "../../src/resources/catalog.js";
import type { TaskSpec, WorkerRuntime, WorkerShape } from "../../src/workers/runtime.js";
import { fixtures, projectTeam, sandbox } from "../support/index.js";

/** The part of a task's spec its worker process is started with (runtime.ts WorkerShape). */
function shapeOf(spec: TaskSpec): WorkerShape {
	const keys = [
		"runId",
		"cwd",
		"repo",
		"projectTrusted",
		"model",
		"thinking",
		"tools",
		"skills",
		"extensions",
	] as const;
	const shape: Record<string, unknown> = { scenario: spec.scenario, beatMs: spec.beatMs };
	for (const key of keys) shape[key] = spec[key];
	if (spec.crew) shape.crewTools = spec.crew.tools;
	return JSON.parse(JSON.stringify(shape)) as WorkerShape;
}

test("a new run warms a worker for each first ready task (up to its concurrency), shaped as the task then starts", async () => {
	const box = await sandbox();
	const { dir, repo } = box;
	await projectTeam(box, "three", [
		{ id: "a", role: "explorer" },
		{ id: "b", role: "executor" },
		{ id: "c", role: "explorer", dependsOn: ["a", "b"] },
		{ id: "d", role: "explorer" },
	]);
	const catalog = await loadCatalog({ repo, home: join(dir, "home"), trustProject: false });
	const warmed: { shape: WorkerShape; logged: boolean }[] = [];
	const started = new Map<string, WorkerShape>();
	const runtime: WorkerRuntime = {
		name: "fake",
		warm(shape) {
			// Before the coordinator has written anything of the run: the start-up overlaps the log and the prompts.
			warmed.push({ shape: JSON.parse(JSON.stringify(shape)), logged: existsSync(join(repo, ".crew", "runs")) });
		},
		async run(spec) {
			started.set(spec.taskId, shapeOf(spec));
			return { kind: "succeeded", answer: "done" };
		},
	};
	const settings = { ...fixtures.created.settings, concurrency: 2 };
	const result = await executeRun({ repo, plan: planRun(catalog, "three"), goal: "g", runtime, settings });
	assert.equal(result.state.status, "succeeded");
	assert.equal(warmed.length, 2, "the first two ready tasks (a and b), not c (it waits) nor d (over concurrency)");
	assert.deepEqual(
		warmed.map((w) => w.logged),
		[false, false],
		"warmed before the run's directory exists",
	);
	assert.deepEqual(
		warmed.map((w) => w.shape),
		[started.get("a"), started.get("b")],
	);
	assert.notDeepEqual(started.get("a"), started.get("b"), "the two agents' workers differ (tools)");
});
