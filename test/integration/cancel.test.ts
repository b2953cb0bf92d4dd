/**
 * Ctrl-C / SIGTERM of a foreground run: workers and their trees stop, tasks end cancelled, the log says so. A timeout
 * asks the worker to stop before it is killed.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, processesOfRun, projectTeam, SCRIPTED, sandbox, startCli, waitForRunLog } from "../support/index.js";

test("SIGTERM to a foreground run cancels it: tasks cancelled, nothing left running, exit 1", async () => {
	const box = await sandbox();
	await projectTeam(box, "slow", [
		{ id: "work", role: "executor" },
		{ id: "later", role: "writer", dependsOn: ["work"] },
	]);
	const scenario = await box.write(
		"scenario.yaml",
		`default:\n  - tool: bash\n    args: { command: "sleep 30" }\n  - say: done\n`,
	);
	const { child, done } = startCli(["run", "slow", "cancel me", "--model", SCRIPTED, "--scenario", scenario], box);
	const runId = await waitForRunLog(box, "the worker's bash call", '"task.tool"');
	child.kill("SIGTERM");
	// Not timed: a run that did not stop its worker would end with the `sleep 30` done and the tasks succeeded.
	const res = await done;
	assert.equal(res.code, 1);
	assert.match(res.stderr, /SIGTERM: cancelling the run/);
	assert.deepEqual(await processesOfRun(runId), []);
	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as {
		status: string;
		tasks: { id: string; status: string; reason?: string }[];
	};
	assert.equal(status.status, "cancelled");
	assert.deepEqual(
		status.tasks.map((t) => [t.id, t.status, t.reason]),
		[
			["work", "cancelled", "cancelled"],
			["later", "cancelled", "run cancelled"],
		],
	);
});

test("the scaffold runtime writes every prompt and starts no worker", async () => {
	const box = await sandbox();
	const res = await cli(["run", "review", "audit the code", "--runtime", "scaffold", "--json"], box);
	assert.equal(res.code, 0, res.stderr);
	const json = JSON.parse(res.stdout) as { runDir: string; tasks: { id: string; status: string }[] };
	assert.deepEqual(
		json.tasks.map((t) => t.status),
		["succeeded", "succeeded", "succeeded", "succeeded"],
	);
	const prompt = await readFile(join(json.runDir, "artifacts/tasks/report/prompt.md"), "utf8");
	assert.match(prompt, /write one review report for: audit the code/);
	const system = await readFile(join(json.runDir, "artifacts/tasks/report/attempt-1/system.md"), "utf8");
	assert.match(system, /You are the "writer" agent of a pi-crew team, working on task "report" \(attempt 1\)/);
});

test("a timed-out child worker is asked to stop first: its transcript ends with its own aborted turn; nothing is left", async () => {
	const box = await sandbox();
	await projectTeam(box, "slow", [{ id: "work", role: "executor" }]);
	const scenario = await box.write(
		"scenario.yaml",
		`default:\n  - tool: bash\n    args: { command: "sleep 60 & sleep 60" }\n  - say: done\n`,
	);
	const run = ["run", "slow", "time me out", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "child"];
	const res = await cli([...run, "--timeout", "8", "--json"], box);
	assert.equal(res.code, 1, res.stderr);
	const { runId, tasks } = JSON.parse(res.stdout) as { runId: string; tasks: { status: string; reason?: string }[] };
	assert.deepEqual(
		tasks.map((t) => [t.status, t.reason]),
		[["failed", "timed out after 8s"]],
	);
	const transcript = await readFile(
		join(box.repo, ".crew", "runs", runId, "artifacts", "tasks", "work", "attempt-1", "transcript.jsonl"),
		"utf8",
	);
	// pi ended the turn itself: its bash call aborted, its last events written, then it settled and exited.
	const last = transcript.trimEnd().split("\n").at(-1) ?? "";
	assert.deepEqual(JSON.parse(last), { type: "agent_settled", aborted: true });
	assert.deepEqual(await processesOfRun(runId), []);
});
