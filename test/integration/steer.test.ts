/** `pi-crew steer` from another process reaches a running child worker: a steer mid-task, a follow-up after its turn. */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, processesOfRun, projectTeam, type Sandbox, SCRIPTED, sandbox, waitForRunLog } from "../support/index.js";

/** A one-task team running `scenario` in a background child worker, once its task has started: the run's id. */
async function startedChildTask(box: Sandbox, scenario: string): Promise<string> {
	await projectTeam(box, "solo", [{ id: "work", role: "explorer" }]);
	const file = await box.write("scenario.yaml", scenario);
	const started = await cli(
		["run", "solo", "look", "--model", SCRIPTED, "--scenario", file, "--runtime", "child", "--background"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	await waitForRunLog(box, "the task to start", '"task.started"');
	return started.stdout.trim();
}

test("pi-crew steer reaches a running child worker mid-task and --follow-up after its turn; each logged once", async () => {
	const box = await sandbox();
	// The worker holds at a barrier in its first model call, so both messages arrive while it is at work.
	const runId = await startedChildTask(
		box,
		`default:\n  - waitFor: go.flag\n  - tool: ls\n    args: { path: "." }\n  - say: "heard: {message}"\n`,
	);
	const steered = await cli(["steer", runId, "work", "turn left at the fork"], box);
	assert.equal(steered.code, 0, steered.stderr);
	assert.equal(steered.stdout.trim(), `steer message delivered to work of run ${runId}`);
	const followed = await cli(["steer", runId, "work", "now summarize", "--follow-up"], box);
	assert.equal(followed.code, 0, followed.stderr);
	await writeFile(join(box.repo, "go.flag"), "");
	await cli(["status", runId, "--follow"], box);
	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as { status: string };
	assert.equal(status.status, "succeeded");
	// The steer joined the first turn (its answer quotes it); the follow-up came after it, as a turn of its own.
	const result = await cli(["result", runId, "work"], box);
	assert.match(result.stdout, /heard: now summarize/);
	const transcript = await cli(["transcript", runId, "work"], box);
	assert.match(transcript.stdout, /heard: turn left at the fork[\s\S]*heard: now summarize/);
	const log = await readFile(join(box.repo, ".crew", "runs", runId, "events.jsonl"), "utf8");
	const steers = log
		.split("\n")
		.filter((l) => l.includes('"task.steered"'))
		.map((l) => (JSON.parse(l) as { data: { delivered: boolean; followUp?: boolean; from?: string } }).data);
	assert.deepEqual(
		steers.map((s) => [s.delivered, s.followUp ?? false]),
		[
			[true, false],
			[true, true],
		],
	);
	assert.ok(steers.every((s) => s.from?.startsWith("pi-crew (pid ")));
});

test("cancel of a steered child task leaves no process behind", async () => {
	const box = await sandbox();
	const runId = await startedChildTask(box, `default:\n  - waitFor: never.flag\n  - say: "done"\n`);
	assert.equal((await cli(["steer", runId, "work", "stop dawdling"], box)).code, 0);
	assert.equal((await cli(["cancel", runId], box)).code, 0);
	assert.deepEqual(await processesOfRun(runId), []);
});
