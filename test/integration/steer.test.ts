/**
 * `pi-crew steer` from another process reaches a running worker (child and in-process): a steer mid-task, a follow-up
 * after its turn; each logged first with its text (redacted), then its delivery.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, processesOfRun, sandbox } from "../support/index.js";
import { startedTask } from "../support/steer.js";

/** A credential's shape (the redactor knows it): said in a follow-up, it never reaches the log. */
const SECRET = "sk-ant-steer0123456789abcdefXYZ";

interface StatusTask {
	messages?: { id: string; mode: string; text: string; delivered?: boolean }[];
}

test("pi-crew steer reaches a running child worker mid-task and --follow-up after its turn; each logged first, then its delivery", async () => {
	const box = await sandbox();
	// The worker holds at a barrier in its first model call, so both messages arrive while it is at work.
	const runId = await startedTask(
		box,
		`default:\n  - waitFor: go.flag\n  - tool: ls\n    args: { path: "." }\n  - say: "heard: {message}"\n`,
	);
	const steered = await cli(["steer", runId, "work", "turn left at the fork"], box);
	assert.equal(steered.code, 0, steered.stderr);
	assert.equal(steered.stdout.trim(), `steer message delivered to work of run ${runId}`);
	const followed = await cli(["steer", runId, "work", `now summarize; key ${SECRET}`, "--follow-up"], box);
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
	assert.ok(!log.includes(SECRET), "the log holds no secret");
	// Each message is logged before its delivery, which names it.
	const said = log
		.split("\n")
		.filter((l) => /"task\.(?:message|steered)"/.test(l))
		.map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
	assert.deepEqual(
		said.map((e) => [e.type, e.data.id ?? e.data.message, e.data.mode ?? e.data.delivered, e.data.followUp ?? false]),
		[
			["task.message", "m1", "steer", false],
			["task.steered", "m1", true, false],
			["task.message", "m2", "follow-up", false],
			["task.steered", "m2", true, true],
		],
	);
	assert.ok(said.every((e) => String(e.data.from).startsWith("pi-crew (pid ")));
	const tasks = (JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as { tasks: StatusTask[] }).tasks;
	assert.deepEqual(
		tasks[0]?.messages?.map((m) => [m.id, m.mode, m.text, m.delivered]),
		[
			["m1", "steer", "turn left at the fork", true],
			["m2", "follow-up", "now summarize; key [REDACTED]", true],
		],
	);
	const events = await cli(["events", runId], box);
	assert.match(events.stdout, /task\.message\s+work pi-crew \(pid \d+\) → work: turn left at the fork \(m1, steer\)/);
});

test("an in-process worker takes a follow-up mid-task: its final answer is the answer to it", async () => {
	const box = await sandbox();
	const runId = await startedTask(box, `default:\n  - waitFor: go.flag\n  - say: "heard: {message}"\n`, "inprocess");
	const followed = await cli(["steer", runId, "work", "now summarize", "--follow-up"], box);
	assert.equal(followed.code, 0, followed.stderr);
	assert.equal(followed.stdout.trim(), `follow-up delivered to work of run ${runId}`);
	await writeFile(join(box.repo, "go.flag"), "");
	await cli(["status", runId, "--follow"], box);
	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as {
		status: string;
		tasks: StatusTask[];
	};
	assert.equal(status.status, "succeeded");
	assert.match((await cli(["result", runId, "work"], box)).stdout, /\n\nheard: now summarize\n$/);
	assert.deepEqual(
		status.tasks[0]?.messages?.map((m) => [m.id, m.mode, m.text, m.delivered]),
		[["m1", "follow-up", "now summarize", true]],
	);
});

test("cancel of a steered child task leaves no process behind", async () => {
	const box = await sandbox();
	const runId = await startedTask(box, `default:\n  - waitFor: never.flag\n  - say: "done"\n`);
	assert.equal((await cli(["steer", runId, "work", "stop dawdling"], box)).code, 0);
	assert.equal((await cli(["cancel", runId], box)).code, 0);
	assert.deepEqual(await processesOfRun(runId), []);
});
