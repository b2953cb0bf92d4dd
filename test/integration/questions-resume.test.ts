/**
 * Questions across a coordinator's death, and with nobody to ask. After kill -9 of the coordinator while a task
 * waits, the question shows again and an answer given before or after `resume` is delivered; the log holds the
 * question and the answer once, and the task's attempts never overlap. Unattended runs fail or take the default.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { processStartTime } from "../../src/store/lease.js";
import { cli, type RunJson, runJson, type Sandbox, SCRIPTED, sandbox, waitFor } from "../support/index.js";
import { askedRun, askingTeam, eventsOf } from "../support/questions.js";

async function statusJson(box: Sandbox, runId: string): Promise<RunJson & { tasks: { question?: unknown }[] }> {
	return JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson & {
		tasks: { question?: unknown }[];
	};
}

/** A run whose coordinator was killed (-9) while its task waited for an answer. */
async function orphanedQuestion(box: Sandbox, runtime = "child"): Promise<string> {
	const runId = await askedRun(box, ["--runtime", runtime]);
	const pid = (await statusJson(box, runId)).coordinatorPid;
	assert.ok(pid);
	process.kill(pid, "SIGKILL");
	await waitFor("the coordinator to die", async () => (processStartTime(pid) === undefined ? true : undefined), 10_000);
	const interrupted = await statusJson(box, runId);
	assert.equal(interrupted.status, "interrupted");
	assert.equal(interrupted.tasks[0]?.status, "waiting", "the question shows again");
	assert.ok(interrupted.tasks[0]?.question);
	return runId;
}

/** The resumed run ended: it succeeded on the answer, asked and answered once, its attempts one after the other. */
async function endsOnTheAnswer(box: Sandbox, runId: string): Promise<void> {
	await cli(["status", runId, "--follow"], box);
	const final = await statusJson(box, runId);
	assert.equal(final.status, "succeeded", final.reason);
	assert.match((await cli(["result", runId, "decide"], box)).stdout, /decided: v2/);
	assert.equal((await eventsOf(box, runId, "task.asked")).length, 1);
	assert.equal((await eventsOf(box, runId, "task.answered")).length, 1);
	const [first, second] = final.tasks[0]?.attempts ?? [];
	assert.ok(first?.endedAt && second && Date.parse(first.endedAt) <= Date.parse(second.startedAt), "one at a time");
}

test("kill -9 while a task waits: answered before the resume, the resumed run delivers it", async () => {
	const box = await sandbox();
	const runId = await orphanedQuestion(box);
	const queued = await cli(["respond", runId, "decide", "v2"], box);
	assert.equal(queued.code, 0, queued.stderr);
	assert.match(queued.stdout, /queued: no coordinator runs it now; it gets the answer when resumed/);
	assert.equal((await cli(["resume", runId, "--background"], box)).code, 0);
	await endsOnTheAnswer(box, runId);
});

for (const runtime of ["child", "inprocess"])
	test(`${runtime}: kill -9 while a task waits: resumed, the task waits for the answer before it runs again`, async () => {
		const box = await sandbox();
		const runId = await orphanedQuestion(box, runtime);
		assert.equal((await cli(["resume", runId, "--background"], box)).code, 0);
		await waitFor("the resumed coordinator", async () =>
			(await statusJson(box, runId)).status === "running" ? true : undefined,
		);
		const resumed = await statusJson(box, runId);
		assert.equal(resumed.tasks[0]?.status, "waiting");
		assert.equal(resumed.tasks[0]?.attempts.length, 1, "no new attempt before the answer");
		const answered = await cli(["respond", runId, "decide", "v2"], box);
		assert.equal(answered.code, 0, answered.stderr);
		assert.match(answered.stdout, /answer delivered to decide/);
		await endsOnTheAnswer(box, runId);
	});

test("unattended: a foreground run without a terminal takes the default when the config says so; --no-input fails", async () => {
	const box = await sandbox();
	const scenario = await askingTeam(box);
	const args = ["ask", "pick an API", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"];
	await box.write("../crew-home/config.yaml", "questions: { unattended: default }\n");
	const defaulted = await runJson(args, box); // cli() gives the run a pipe, not a terminal, as stdin
	assert.equal(defaulted.json.status, "succeeded", defaulted.stderr);
	assert.match(defaulted.stderr, /\? decide asks: Keep the v1 or the v2 API\?/);
	assert.match(defaulted.stderr, /✓ decide answered \(its default: nobody can answer\): v1/);
	assert.match(defaulted.json.answer ?? "", /decided: v1/);
	const answers = await eventsOf(box, defaulted.json.runId, "task.answered");
	assert.deepEqual(
		answers.map((a) => [a.data.text, a.data.defaulted]),
		[["v1", true]],
	);

	await box.write("../crew-home/config.yaml", "questions: { unattended: fail }\n");
	const failed = await runJson([...args, "--no-input"], box);
	assert.equal(failed.json.status, "failed");
	const task = failed.json.tasks[0];
	assert.equal(task?.status, "failed");
	assert.match(
		task?.reason ?? "",
		/asked "Keep the v1 or the v2 API\?", which nobody can answer \(the run takes no input\)/,
	);
	assert.equal(task?.attempts.length, 1, "no retry can answer it either");
});

test("kill -9 while a task waits, then resume --no-input: the question takes its default, asked and answered once", async () => {
	const box = await sandbox();
	const runId = await orphanedQuestion(box);
	await box.write("../crew-home/config.yaml", "questions: { unattended: default }\n");
	const resumed = await cli(["resume", runId, "--no-input", "--json"], box);
	assert.equal(resumed.code, 0, resumed.stderr);
	assert.match((JSON.parse(resumed.stdout) as RunJson).answer ?? "", /decided: v1/);
	assert.equal((await eventsOf(box, runId, "task.asked")).length, 1);
	const answers = await eventsOf(box, runId, "task.answered");
	assert.deepEqual(
		answers.map((a) => [a.data.text, a.data.defaulted]),
		[["v1", true]],
	);
});
