/** A loop across a coordinator's death: kill -9 mid-round, then `resume`, continues that same round. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { processStartTime } from "../../src/store/lease.js";
import { cli, type RunJson, SCRIPTED, sandbox, task, waitFor } from "../support/index.js";
import { foldedRun, loopTeam } from "../support/loops.js";
import { eventsOf } from "../support/questions.js";

test("kill -9 of the coordinator in a loop's second round, then resume: the same round goes on, no round is added", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, until: verdict, max: 3 }");
	// Round 2's fixer (its kept session's second prompt) never answers (it waits for a file nobody writes): the
	// coordinator dies under it; the resumed run's fresh fixer answers.
	const scenario = await box.write(
		"scenario.yaml",
		`fixer:\n  - say: "fixed. I was told: {message}"\n"fixer#2":\n  - waitFor: never-written\n  - say: "unreachable"\n"task:check@1":\n  - tool: verdict\n    args: { clean: false, findings: "the cache is never invalidated" }\n  - say: "FAIL"\n"task:check@2":\n  - tool: verdict\n    args: { clean: true, findings: "" }\n  - say: "PASS"\n`,
	);
	const args = ["loopy", "the cache", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"];
	const started = await cli(["run", ...args, "--background"], box);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	await waitFor("round 2's fixer to start", async () => {
		const starts = await eventsOf(box, runId, "task.started");
		return starts.some((e) => e.taskId === "fix" && e.data.attempt === 2) ? true : undefined;
	});
	const status = async () => JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
	const pid = (await status()).coordinatorPid;
	assert.ok(pid);
	process.kill(pid, "SIGKILL");
	await waitFor("the coordinator to die", async () => (processStartTime(pid) === undefined ? true : undefined), 10_000);
	assert.equal((await status()).status, "interrupted");
	assert.equal((await foldedRun(box, runId)).tasks.get("fix")?.round, 2);

	const resumed = await cli(["resume", runId], box);
	assert.equal(resumed.code, 0, resumed.stderr);
	const final = await status();
	assert.equal(final.status, "succeeded", final.reason);
	const state = await foldedRun(box, runId);
	assert.equal(state.tasks.get("fix")?.round, 2, "the round it was in");
	assert.equal(state.tasks.get("check")?.round, 2);
	assert.equal((await eventsOf(box, runId, "task.looped")).length, 1, "no round was added");
	// Round 1, round 2's killed attempt, round 2 again: and the check once per round.
	assert.equal(task(final, "fix").attempts.length, 3);
	assert.equal(task(final, "check").attempts.length, 2);
	const result = await readFile(join(final.runDir, "artifacts", "tasks", "fix", "result.md"), "utf8");
	assert.match(
		result,
		/## Sent back \(round 2\)[\s\S]*the cache is never invalidated/,
		"the resumed attempt still has it",
	);
});
