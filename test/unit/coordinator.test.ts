/** The coordinator with an injected runtime: what happens when the coordinator itself fails mid-run. */
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { executeRun } from "../../src/engine/coordinator.js";
import { planRun, reopenForResume } from "../../src/engine/plan.js";
import { loadCatalog } from "../../src/resources/catalog.js";
import { readEventLog } from "../../src/store/event-log.js";
import { loadRun } from "../../src/store/run-store.js";
import type { TaskSpec, WorkerOutcome, WorkerRuntime } from "../../src/workers/runtime.js";
import { fixtures, projectTeam, sandbox } from "../support/index.js";

test("an I/O failure in the coordinator stops running workers, is logged, and leaves the run resumable", async () => {
	const box = await sandbox();
	const { dir, repo } = box;
	await projectTeam(box, "pair", [
		{ id: "slow", role: "explorer" },
		{ id: "breaker", role: "explorer" },
	]);
	const catalog = await loadCatalog({ repo, home: join(dir, "home"), trustProject: false });
	let slowAborted = false;
	const runtime: WorkerRuntime = {
		name: "fake",
		async run(spec: TaskSpec, signal: AbortSignal): Promise<WorkerOutcome> {
			if (spec.taskId === "slow") {
				await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
				slowAborted = true;
				return { ok: false, reason: "cancelled", stop: "cancel" };
			}
			// Make the artifacts directory unwritable: the coordinator's next artifact write fails.
			const artifacts = join(spec.taskDir, "..", "..");
			await rm(artifacts, { recursive: true });
			await writeFile(artifacts, "not a directory");
			return { ok: true, answer: "done" };
		},
	};
	await assert.rejects(
		executeRun({
			repo,
			plan: planRun(catalog, "pair"),
			goal: "g",
			runtime,
			settings: { ...fixtures.created.settings, concurrency: 2 },
		}),
		/ENOTDIR|EEXIST/,
	);
	assert.ok(slowAborted, "the other running worker was stopped");
	const [runId] = await import("node:fs/promises").then((fs) => fs.readdir(join(repo, ".crew/runs")));
	const read = await readEventLog(join(repo, ".crew/runs", runId ?? "", "events.jsonl"));
	const alert = read.events.find((e) => e.type === "run.alert");
	assert.match(
		String(alert?.data && "message" in alert.data ? alert.data.message : ""),
		/^coordinator error: .*pi-crew resume/,
	);
	assert.ok(!read.events.some((e) => e.type === "run.finished"), "not finished: the run stays resumable");
	const view = await loadRun(repo, runId ?? "");
	assert.equal(view.status, "interrupted");
	assert.equal(view.state.tasks.get("slow")?.status, "cancelled");
	assert.deepEqual(reopenForResume(view.state, []).sort(), ["breaker", "slow"], "resume runs both again");
});

test("a UI callback that throws does not stop the coordinator from following its own log", async () => {
	const box = await sandbox();
	const { dir, repo } = box;
	await projectTeam(box, "two", [
		{ id: "a", role: "explorer" },
		{ id: "b", role: "explorer", dependsOn: ["a"] },
	]);
	const catalog = await loadCatalog({ repo, home: join(dir, "home"), trustProject: false });
	const runtime: WorkerRuntime = { name: "fake", run: async () => ({ ok: true, answer: "fine" }) };
	let thrown = false;
	const result = await executeRun({
		repo,
		plan: planRun(catalog, "two"),
		goal: "g",
		runtime,
		settings: fixtures.created.settings,
		onEvent: (e) => {
			if (e.type === "task.started" && !thrown) {
				thrown = true;
				throw new Error("the terminal went away");
			}
		},
	});
	assert.ok(thrown);
	assert.equal(result.state.status, "succeeded");
	assert.deepEqual(
		[...result.state.tasks.values()].map((t) => t.status),
		["succeeded", "succeeded"],
	);
});
