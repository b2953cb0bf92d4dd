/**
 * A warm worker serves several tasks, so a task's model (prompt-injected, say) may leave a process behind to reach the
 * next task on the same worker: one that has dropped the task's marker from its environment, so the reaper's
 * environment scan misses it. Before the pool, each sandboxed task's processes died with its own sandbox; in a warm
 * sandboxed worker the worker's pid namespace is swept before it serves again, so nothing of a task outlives it.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { processesOfRun, projectTeam, runJson, SCRIPTED, sandbox, task } from "../support/index.js";
import { runWorkers } from "../support/pool.js";

test("a process a task leaves in its sandboxed warm worker, its marker dropped, does not live into the next task", async () => {
	const box = await sandbox();
	await box.write("../crew-home/config.yaml", "sandbox: required\n");
	await projectTeam(box, "pool", [
		{ id: "one", role: "executor" },
		{ id: "two", role: "executor", dependsOn: ["one"] },
	]);
	const trace = join(box.repo, "leftover.txt");
	const plant = await box.write(
		"plant.sh",
		`env -u PI_CREW_TASK_ID setsid sh -c "sleep 3; echo leftover ran >> ${trace}" </dev/null >/dev/null 2>&1 &\necho planted\n`,
	);
	const scenario = await box.write(
		"scenario.yaml",
		[
			`"task:one":`,
			`  - tool: bash`,
			`    args: { command: 'sh ${plant}; echo "tmp=$TMPDIR"' }`,
			`  - say: "one: {result}"`,
			`"task:two":`,
			`  - tool: bash`,
			`    args: { command: 'sleep 6; echo "tmp=$TMPDIR"; cat ${trace} 2>/dev/null || echo "no leftover"' }`,
			`  - say: "two: {result}"`,
			"",
		].join("\n"),
	);
	const res = await runJson(
		["pool", "go", "--runtime", "child", "--model", SCRIPTED, "--scenario", scenario, "--concurrency", "1"],
		box,
	);
	assert.equal(res.code, 0, res.stderr);
	const one = await readFile(task(res.json, "one").result ?? "", "utf8");
	const two = await readFile(task(res.json, "two").result ?? "", "utf8");
	assert.match(one, /planted/);
	assert.equal(/tmp=(\S+)/.exec(two)?.[1], /tmp=(\S+)/.exec(one)?.[1], "one warm worker served both tasks");
	assert.match(two, /no leftover/, "the first task's process did not run on into the second task");
	assert.equal(await readFile(trace, "utf8").catch(() => ""), "");
	assert.deepEqual(await runWorkers(res.json.runId), []);
	assert.deepEqual(await processesOfRun(res.json.runId), []);
});
