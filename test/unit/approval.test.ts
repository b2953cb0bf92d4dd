/** Plan approval in the engine, with a runtime that only answers: nobody to approve, and the bound on rounds. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { NOBODY_APPROVES } from "../../src/engine/approval.js";
import { sendControl } from "../../src/engine/control.js";
import { executeRun } from "../../src/engine/coordinator.js";
import { planRun } from "../../src/engine/plan.js";
import { loadCatalog } from "../../src/resources/catalog.js";
import { shownStatus } from "../../src/store/events.js";
import { foldEvents } from "../../src/store/fold.js";
import { type RunPaths, runPaths } from "../../src/store/run-store.js";
import type { RunSettings } from "../../src/store/settings.js";
import { failure, type TaskSpec, type WorkerOutcome, type WorkerRuntime } from "../../src/workers/runtime.js";
import { approvalTeam } from "../support/approval.js";
import { eventBuilder, fixtures, sandbox } from "../support/index.js";

/** A worker that answers "draft N" and shows each answer for review, as the child and in-process runtimes do. */
function reviewedRuntime(prompts: string[]): WorkerRuntime {
	return {
		name: "fake",
		async run(spec: TaskSpec): Promise<WorkerOutcome> {
			for (let n = 1; ; n++) {
				const answer = `draft ${n}`;
				const review = await spec.review?.(answer);
				if (!review || "approved" in review) return { kind: "succeeded", answer };
				if ("refused" in review) return failure("rejected", review.refused);
				if ("failed" in review) return review.failed;
				prompts.push(review.feedback);
			}
		},
	};
}

async function gatedRun(settings: Partial<RunSettings>, onAwaiting?: (paths: RunPaths, id: string) => void) {
	const box = await sandbox();
	await approvalTeam(box, "gated", [{ id: "draft", role: "explorer", approval: true }]);
	const catalog = await loadCatalog({ repo: box.repo, home: join(box.dir, "home"), trustProject: false });
	const prompts: string[] = [];
	const result = await executeRun({
		repo: box.repo,
		plan: planRun(catalog, "gated"),
		goal: "g",
		runtime: reviewedRuntime(prompts),
		settings: { ...fixtures.created.settings, ...settings },
		onEvent: (e, state) => {
			if (e.type === "task.awaiting_approval") onAwaiting?.(runPaths(box.repo, state.runId), e.data.id);
		},
	});
	return { result, prompts };
}

test("unattended fail: a step that needs approval fails, its draft recorded; default: approved, said in the log", async () => {
	const failed = await gatedRun({ unattended: "fail" });
	const task = failed.result.state.tasks.get("draft");
	assert.equal(task?.status, "failed");
	assert.equal(task?.reason, NOBODY_APPROVES);
	assert.equal(failed.result.state.status, "failed");
	const approved = await gatedRun({ unattended: "default" });
	assert.equal(approved.result.state.tasks.get("draft")?.status, "succeeded");
	assert.equal(approved.result.state.status, "succeeded");
	assert.match(
		await readFile(approved.result.paths.events, "utf8"),
		/"task.approved".*unattended: approved by default/,
	);
});

test("an answer rejected for the last allowed round fails its task with the last feedback, without a retry", async () => {
	let rejections = 0;
	const { result, prompts } = await gatedRun({ approvalRounds: 2 }, (paths, id) => {
		rejections++;
		void sendControl(paths, {
			type: "approve",
			taskId: "draft",
			approvalId: id,
			reject: `no ${rejections}`,
			from: "t",
		});
	});
	const task = result.state.tasks.get("draft");
	assert.equal(task?.status, "failed");
	assert.equal(task?.reason, "not approved after 2 round(s): no 2");
	assert.equal(task?.attempt, 1);
	assert.equal(prompts.length, 1);
	assert.match(prompts[0] ?? "", /Feedback:\s+no 1/);
});

test("a new attempt of a task (a resume) no longer waits for the approval of the previous attempt's draft", () => {
	const ev = eventBuilder();
	const planned = { role: "r", agent: "a", dependsOn: [], template: "t", output: "d" };
	const base = [ev("run.created", fixtures.created), ev("task.planned", planned, "d"), ev("run.started", { pid: 1 })];
	const waiting = [
		...base,
		ev("task.started", { attempt: 1, promptPath: "p" }, "d"),
		ev("task.awaiting_approval", { id: "d-1-1", round: 1, resultPath: "x.md" }, "d"),
	];
	assert.equal(shownStatus(foldEvents(waiting)?.tasks.get("d") ?? { status: "pending" }), "waiting");
	const again = foldEvents([
		...waiting,
		ev("run.resumed", { pid: 2, reopened: ["d"] }),
		ev("task.started", { attempt: 2, promptPath: "p" }, "d"),
	]);
	assert.equal(shownStatus(again?.tasks.get("d") ?? { status: "pending" }), "running");
});
