/**
 * A coordinator killed while the resolver settles a conflict: nothing half-merged is left, and the resumed run meets
 * the conflict again and resolves it anew (real git, real pi workers on the scripted model).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { git, worktreesOf } from "../support/git.js";
import {
	cli,
	processesOfRun,
	type RunJson,
	runEvents,
	SCRIPTED,
	startCli,
	waitFor,
	waitForRunLog,
} from "../support/index.js";
import { BOTH, clashBox, clashScenario, mergerWrites, tip } from "../support/merge.js";

test("kill -9 while the resolver works: the task's branch goes back to its own work, and resume resolves it again", async () => {
	const box = await clashBox();
	// The merger waits for `.crew/go` in its worktree (ignored by git): the first coordinator dies before it is there.
	const scenario = await clashScenario(box, `  - waitFor: .crew/go\n${mergerWrites(BOTH)}`);
	const { child, done } = startCli(
		["run", "clash", "go", "--isolation", "worktree", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	const runId = await waitForRunLog(box, "the resolver to start", '"task.resolving"');
	const runDir = join(box.repo, ".crew", "runs", runId);
	await waitFor("the resolver's worker", async () =>
		existsSync(join(runDir, "artifacts", "tasks", "a", "merge-1")) ||
		existsSync(join(runDir, "artifacts", "tasks", "b", "merge-1"))
			? true
			: undefined,
	);
	child.kill("SIGKILL");
	await done;
	await waitFor("workers to stop", async () => ((await processesOfRun(runId)).length === 0 ? true : undefined), 10_000);
	const before = await runEvents(runDir);
	const id = before.find((e) => e.type === "task.resolving")?.taskId ?? "";
	const integration = `pi-crew/${runId}/integration`;
	const landed = tip(box, integration);
	assert.notEqual(landed, git(box.repo, "rev-parse", "main"), "the first task's work is merged, the second's not");

	await mkdir(join(worktreesOf(box), runId, id, ".crew"), { recursive: true });
	await writeFile(join(worktreesOf(box), runId, id, ".crew", "go"), "");
	const resumed = await cli(["resume", runId, "--json"], box);
	assert.equal(resumed.code, 0, resumed.stderr);
	assert.equal((JSON.parse(resumed.stdout) as RunJson).status, "succeeded");
	const events = (await runEvents(runDir)).filter((e) => e.taskId === id);
	const resolutions = events.filter((e) => e.type === "task.resolving" || e.type === "task.resolved");
	assert.deepEqual(
		resolutions.map((e) => [e.type, "failed" in e.data ? e.data.failed : "commit" in e.data ? "commit" : ""]),
		[
			["task.resolving", ""],
			["task.resolved", "cut short: the coordinator stopped while it ran"],
			["task.resolving", ""],
			["task.resolved", "commit"],
		],
	);
	// The second resolution started from the task's own commit again, and landed on what was merged before.
	const [first, second] = events
		.filter((e) => e.type === "task.resolving")
		.map((e) => e.data as { from: string; into: string });
	assert.deepEqual(second, first);
	assert.equal(first?.into, landed);
	assert.equal(git(box.repo, "show", `${integration}:config.py`), BOTH);
	assert.ok(existsSync(join(runDir, "artifacts", "tasks", id, "merge-2", "prompt.md")));
});
