/**
 * A loop's `to` worker kept between rounds (real pi workers, scripted model): the next round's finding is a follow-up
 * in the same session, one pi process serving both rounds; a kept worker that dies falls back to a fresh worker whose
 * prompt carries the finding; a cancel stops a kept worker too.
 */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
	cli,
	processesOfRun,
	type RunJson,
	runJson,
	type Sandbox,
	SCRIPTED,
	sandbox,
	startCli,
	task,
	waitFor,
	waitForRunLog,
} from "../support/index.js";
import { loopTeam } from "../support/loops.js";
import { runWorkers } from "../support/pool.js";
import { eventsOf } from "../support/questions.js";

/**
 * A fresh fixer answers with its prompt; the second prompt of a fixer's session with its first prompt and the newest
 * one. The check says not clean in round 1 (after `go` exists, when `wait`), clean in round 2.
 */
const scenario = (wait: boolean) => `fixer:
  - say: "fresh: {message}"
"fixer#2":
  - say: "kept. FIRST: {first} NOW: {message}"
"task:check@1":${wait ? "\n  - waitFor: go" : ""}
  - tool: verdict
    args: { clean: false, findings: "parse.ts:12 drops the last token" }
  - say: "FAIL"
"task:check@2":
  - tool: verdict
    args: { clean: true, findings: "" }
  - say: "PASS"
`;

async function loopBox(wait: boolean): Promise<{ box: Sandbox; scenarioFile: string }> {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, until: verdict, max: 3 }");
	return { box, scenarioFile: await box.write("scenario.yaml", scenario(wait)) };
}

/** The transcripts of the fix task's workers: one per pi process (a child worker writes its attempt's). */
async function fixTranscripts(runDir: string): Promise<string[]> {
	const dir = join(runDir, "artifacts", "tasks", "fix");
	const files = await readdir(dir, { recursive: true });
	return files.filter((f) => f.endsWith("transcript.jsonl")).sort();
}

const fixResult = (runDir: string) => readFile(join(runDir, "artifacts", "tasks", "fix", "result.md"), "utf8");

/** The fix task's kept worker, once the check's worker runs beside it: the run's oldest worker. */
const keptFixer = async (runId: string) => {
	const workers = await runWorkers(runId);
	return workers.length >= 2 ? workers[0] : undefined;
};

for (const runtime of ["child", "inprocess"]) {
	test(`${runtime}: the loop's finding is a follow-up in the fixer's kept session, its first prompt still in context`, async () => {
		const { box, scenarioFile } = await loopBox(false);
		const run = await runJson(
			["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenarioFile, "--runtime", runtime],
			box,
		);
		assert.equal(run.code, 0, run.stderr);
		assert.equal(run.json.status, "succeeded", run.json.reason);
		assert.equal(task(run.json, "fix").attempts.length, 2);
		const result = await fixResult(run.json.runDir);
		const [first, now] = result.replace(/^kept\. FIRST: /, "").split(" NOW: ");
		assert.match(first ?? "", /## Your task\n\nfix the parser/, result);
		assert.match(now ?? "", /^## Sent back \(round 2\)[\s\S]*parse\.ts:12 drops the last token/, result);
		assert.doesNotMatch(now ?? "", /## Your task/, "the follow-up is the finding alone");
		const started = await eventsOf(box, run.json.runId, "task.started");
		assert.deepEqual(
			started.filter((e) => e.taskId === "fix").map((e) => e.data.attempt),
			[1, 2],
		);
		if (runtime === "child") {
			assert.deepEqual(await fixTranscripts(run.json.runDir), ["attempt-1/transcript.jsonl"], "one pi process");
			assert.deepEqual(await processesOfRun(run.json.runId), []);
		}
	});
}

test("a kept worker killed between rounds: the next round falls back to a fresh worker whose prompt carries the finding", async () => {
	const { box, scenarioFile } = await loopBox(true);
	const args = ["run", "loopy", "the parser", "--model", SCRIPTED, "--scenario", scenarioFile, "--runtime", "child"];
	const { done } = startCli([...args, "--json"], box);
	const runId = await waitForRunLog(box, "the check to start", '"task.started"', 2);
	// The fixer answered and the check waits for `go`: the fixer's worker is kept meanwhile.
	const kept = await waitFor("the fixer's kept worker", () => keptFixer(runId));
	for (const pid of kept.pids) process.kill(pid, "SIGKILL");
	await waitFor("the kept worker to die", async () =>
		(await runWorkers(runId)).some((w) => w.tmp === kept.tmp) ? undefined : true,
	);
	await writeFile(join(box.repo, "go"), "");
	const res = await done;
	assert.equal(res.code, 0, res.stderr);
	const json = JSON.parse(res.stdout) as RunJson;
	assert.equal(json.status, "succeeded", json.reason);
	const result = await fixResult(json.runDir);
	assert.match(
		result,
		/^fresh: [\s\S]*## Your task\n\nfix the parser[\s\S]*## Sent back \(round 2\)[\s\S]*parse\.ts:12/,
	);
	assert.deepEqual(await fixTranscripts(json.runDir), ["attempt-1/transcript.jsonl", "attempt-2/transcript.jsonl"]);
	assert.deepEqual(await processesOfRun(runId), []);
});

test("a cancel while a worker is kept stops it: nothing of the run is left running", async () => {
	const { box, scenarioFile } = await loopBox(true);
	const args = ["run", "loopy", "the parser", "--model", SCRIPTED, "--scenario", scenarioFile, "--runtime", "child"];
	const { done } = startCli(args, box);
	const runId = await waitForRunLog(box, "the check to start", '"task.started"', 2);
	await waitFor("the fixer's kept worker", () => keptFixer(runId));
	const cancel = await cli(["cancel", runId], box);
	assert.equal(cancel.code, 0, cancel.stderr);
	const res = await done;
	assert.equal(res.code, 1, res.stderr);
	assert.deepEqual(await processesOfRun(runId), []);
	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
	assert.equal(status.status, "cancelled");
	assert.deepEqual(
		status.tasks.map((t) => [t.id, t.status]),
		[
			["fix", "succeeded"],
			["check", "cancelled"],
		],
	);
});
