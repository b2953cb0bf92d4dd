/**
 * Questions end to end: a real worker (child and in-process) asks with its `ask` tool, the run shows it waiting with
 * the question, `pi-crew respond` answers from another process, and the worker goes on with the answer. Waiting
 * counts against neither the task's timeout nor its heartbeat; cancel while waiting leaves no process.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cli, processesOfRun, type RunJson, sandbox } from "../support/index.js";
import { askedRun, eventsOf } from "../support/questions.js";

type WithQuestion = RunJson & { tasks: { status: string; question?: { text: string; choices?: string[] } }[] };

async function statusJson(box: Awaited<ReturnType<typeof sandbox>>, runId: string): Promise<WithQuestion> {
	return JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as WithQuestion;
}

for (const runtime of ["child", "inprocess"]) {
	test(`${runtime}: a worker asks, pi-crew respond answers from another process, the worker goes on with the answer`, async () => {
		const box = await sandbox();
		const runId = await askedRun(box, ["--runtime", runtime]);
		const waiting = await statusJson(box, runId);
		assert.equal(waiting.tasks[0]?.status, "waiting");
		assert.deepEqual(waiting.tasks[0]?.question && { ...waiting.tasks[0].question, askedAt: undefined }, {
			text: "Keep the v1 or the v2 API?",
			choices: ["v1", "v2"],
			default: "v1",
			askedAt: undefined,
		});
		const shown = await cli(["status", runId], box);
		assert.match(shown.stdout, /decide .* waiting/);
		assert.match(shown.stdout, /asks: Keep the v1 or the v2 API\? \(choices: v1 \| v2; default: v1\)/);
		assert.match(shown.stdout, new RegExp(`answer: pi-crew respond ${runId} decide "<answer>"`));
		const wrong = await cli(["respond", runId, "decide", "v3"], box);
		assert.equal(wrong.code, 2);
		assert.match(wrong.stderr, /"v3" is not one of the choices: v1, v2/);
		const answered = await cli(["respond", runId, "decide", "V2"], box);
		assert.equal(answered.code, 0, answered.stderr);
		assert.equal(answered.stdout.trim(), `answer delivered to decide of run ${runId}: v2`);
		await cli(["status", runId, "--follow"], box);
		const final = await statusJson(box, runId);
		assert.equal(final.status, "succeeded", final.reason);
		assert.match((await cli(["result", runId, "decide"], box)).stdout, /decided: v2/);
		assert.equal((await eventsOf(box, runId, "task.asked")).length, 1);
		const answers = await eventsOf(box, runId, "task.answered");
		assert.deepEqual(
			answers.map((a) => [a.data.text, String(a.data.from).startsWith("pi-crew (pid ")]),
			[["v2", true]],
		);
		const again = await cli(["respond", runId, "decide", "v1"], box);
		assert.equal(again.code, 2);
		assert.match(again.stderr, /is not waiting for an answer \(it is succeeded\)/);
	});
}

test("a wait longer than the task's timeout and its heartbeat's dead time trips neither", async () => {
	const box = await sandbox();
	// An in-process worker makes no output while it waits: without the pause its heartbeat dies within ~6 s.
	await box.write(
		"../crew-home/config.yaml",
		"heartbeat: { warnMs: 2000, staleMs: 4000, deadMs: 6000, pollMs: 200, deadTicks: 2 }\n",
	);
	const runId = await askedRun(box, ["--runtime", "inprocess", "--timeout", "5"]);
	await new Promise((resolve) => setTimeout(resolve, 9000));
	assert.equal((await statusJson(box, runId)).tasks[0]?.status, "waiting");
	assert.equal((await cli(["respond", runId, "decide", "v2"], box)).code, 0);
	await cli(["status", runId, "--follow"], box);
	const final = await statusJson(box, runId);
	assert.equal(final.status, "succeeded", final.reason);
	assert.equal(final.tasks[0]?.attempts.length, 1);
});

test("cancel while a child worker waits for an answer ends the run and leaves no process", async () => {
	const box = await sandbox();
	const runId = await askedRun(box, ["--runtime", "child"]);
	assert.equal((await cli(["cancel", runId], box)).code, 0);
	const final = await statusJson(box, runId);
	assert.equal(final.status, "cancelled");
	assert.equal(final.tasks[0]?.status, "cancelled");
	assert.deepEqual(await processesOfRun(runId), []);
	assert.equal((await eventsOf(box, runId, "task.answered")).length, 0);
});

test("the run's wall budget still ends a wait: the task fails with why", async () => {
	const box = await sandbox();
	const runId = await askedRun(box, ["--runtime", "inprocess", "--max-wall", "2"]);
	await cli(["status", runId, "--follow"], box);
	const final = await statusJson(box, runId);
	assert.equal(final.status, "failed");
	assert.equal(final.tasks[0]?.status, "failed");
	assert.match(final.tasks[0]?.reason ?? "", /budget-exceeded: no answer to its question within the run's 2s/);
});
