/**
 * The warm pool of child workers (workers/pool.ts), with real pi workers on the scripted model: tasks of one shape
 * share a process, each in a fresh session with its own marker; other tools mean another process; a recycled or
 * crashed worker never loses or duplicates a result; cancel and kill -9 leave no idle worker behind.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
	cli,
	processesOfRun,
	projectTeam,
	type RunJson,
	runEvents,
	runJson,
	type Sandbox,
	SCRIPTED,
	sandbox,
	startCli,
	task,
	waitFor,
	waitForRunLog,
} from "../support/index.js";
import { runWorkers } from "../support/pool.js";

/** A task's result file, as its worker wrote it. */
const result = (run: RunJson, id: string) => readFile(task(run, id).result ?? "", "utf8");

/** The worker's temp directory a task's result names (`tmp=...`): one per worker process. */
async function tmpOf(run: RunJson, id: string): Promise<string> {
	const tmp = /tmp=(\S+)/.exec(await result(run, id))?.[1];
	assert.ok(tmp, `task ${id} says its worker's temp directory`);
	return tmp;
}

const SAYS_WORKER = `  - tool: bash\n    args: { command: 'echo "task=$PI_CREW_TASK_ID tmp=$TMPDIR left=[$(ls $TMPDIR)]"; touch $TMPDIR/left-by-$PI_CREW_TASK_ID' }\n  - say: "{task}: {result} first=[{first}]"\n`;

async function run(box: Sandbox, name: string, scenario: string, ...flags: string[]) {
	const file = await box.write(`${name}.yaml`, scenario);
	const res = await runJson(
		[name, "pool", "--runtime", "child", "--model", SCRIPTED, "--scenario", file, "--concurrency", "1", ...flags],
		box,
	);
	assert.equal(res.code, 0, res.stderr);
	return res.json;
}

test("tasks of one shape share a warm worker, each in a fresh session with its own marker and an empty temp; other tools take another worker", async () => {
	const box = await sandbox();
	await projectTeam(box, "iso", [
		{ id: "one", role: "executor", task: "the-first-task" },
		{ id: "two", role: "executor", task: "the-second-task" },
		{ id: "three", role: "explorer", task: "the-third-task" },
	]);
	// `three` is read-only (read, ls, grep, find): it asks for bash anyway, then reads its own process's environment.
	const json = await run(
		box,
		"iso",
		`"task:one":\n${SAYS_WORKER}"task:two":\n${SAYS_WORKER}"task:three":\n  - tool: bash\n    args: { command: "echo leaked" }\n  - say: "three: bash=[{result}]"\n`,
	);
	assert.deepEqual(
		json.tasks.map((t) => [t.id, t.status]),
		[
			["one", "succeeded"],
			["two", "succeeded"],
			["three", "succeeded"],
		],
	);
	const one = await result(json, "one");
	const two = await result(json, "two");
	assert.equal(await tmpOf(json, "two"), await tmpOf(json, "one"), "one worker process served both tasks");
	assert.match(one, /task=one /);
	assert.match(two, /task=two /, "the second task's bash carries its own marker, not the first's");
	assert.match(two, /left=\[\]/, "what the first task left in the worker's temp is gone");
	assert.match(two, /first=\[[\s\S]*the-second-task/);
	assert.doesNotMatch(two, /the-first-task/, "the second task's session holds none of the first task's messages");
	assert.match(await result(json, "three"), /bash=\[Tool bash not found\]/, "a read-only task gets no bash");
	// What the shared worker says for each task is that task's: in its own attempt's correlation span.
	for (const e of await runEvents(json.runDir))
		if (e.taskId === "two" && (e.type === "task.tool" || e.type === "task.usage"))
			assert.equal(e.cid, `${json.runId}:two:1`, `${e.type} of the worker's second task`);
});

test("a crashed pool worker is replaced: its attempt failed once, retried, and every result recorded once; recycleAfter 1 starts a process per task", async () => {
	const box = await sandbox();
	await projectTeam(box, "crash", [
		{ id: "a", role: "executor" },
		{ id: "b", role: "executor" },
		{ id: "c", role: "executor" },
	]);
	// b's first attempt takes a's warm worker and kills it mid-turn.
	const json = await run(box, "crash", `"task:b@1":\n  - fault: crash\ndefault:\n${SAYS_WORKER}`, "--retry");
	assert.deepEqual(
		json.tasks.map((t) => [t.id, t.status, t.attempts.length]),
		[
			["a", "succeeded", 1],
			["b", "succeeded", 2],
			["c", "succeeded", 1],
		],
	);
	assert.match(task(json, "b").attempts[0]?.reason ?? "", /exited with code 70/);
	const events = await runEvents(json.runDir);
	for (const id of ["a", "b", "c"])
		assert.equal(events.filter((e) => e.type === "task.succeeded" && e.taskId === id).length, 1, `${id} once`);
	assert.match(await result(json, "b"), /^b: task=b /);
	assert.notEqual(await tmpOf(json, "b"), await tmpOf(json, "a"), "the crashed worker is never reused");
	assert.equal(await tmpOf(json, "c"), await tmpOf(json, "b"), "its replacement is");

	await mkdir(box.env.PI_CREW_HOME ?? "", { recursive: true });
	await writeFile(join(box.env.PI_CREW_HOME ?? "", "config.yaml"), "workers: { recycleAfter: 1 }\n");
	const fresh = await run(box, "crash", `default:\n${SAYS_WORKER}`);
	const tmps = await Promise.all(["a", "b", "c"].map((id) => tmpOf(fresh, id)));
	assert.equal(new Set(tmps).size, 3, "recycleAfter 1: a fresh worker for each task");
});

/** A background-able run whose first task ends at once (its worker then idles) while the second waits. */
async function idleAndBusy(box: Sandbox): Promise<string[]> {
	await projectTeam(box, "idle", [
		{ id: "quick", role: "executor" },
		{ id: "hold", role: "explorer" },
	]);
	const scenario = await box.write(
		"idle.yaml",
		`"task:hold":\n  - waitFor: never.flag\n  - say: never\ndefault:\n  - say: done\n`,
	);
	return ["run", "idle", "pool", "--runtime", "child", "--model", SCRIPTED, "--scenario", scenario];
}

test("cancel of a background run with an idle warm worker leaves no process behind", async () => {
	const box = await sandbox();
	const res = await cli([...(await idleAndBusy(box)), "--background"], box);
	assert.equal(res.code, 0, res.stderr);
	const runId = res.stdout.trim();
	await waitForRunLog(box, "the quick task to succeed", '"task.succeeded"');
	assert.equal((await runWorkers(runId)).length, 2, "the quick task's worker idles beside the busy one");
	const cancel = await cli(["cancel", runId], box);
	assert.equal(cancel.code, 0, cancel.stderr);
	await waitFor("the run to end", async () => {
		const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
		return status.status === "cancelled" ? true : undefined;
	});
	await waitFor("every worker to exit", async () => ((await processesOfRun(runId)).length === 0 ? true : undefined));
});

test("kill -9 of the coordinator: its idle warm worker stops too", async () => {
	const box = await sandbox();
	const { child, done } = startCli(await idleAndBusy(box), box);
	const runId = await waitForRunLog(box, "the quick task to succeed", '"task.succeeded"');
	assert.equal((await runWorkers(runId)).length, 2, "the quick task's worker idles beside the busy one");
	child.kill("SIGKILL");
	await done;
	await waitFor(
		"every worker to stop",
		async () => ((await processesOfRun(runId)).length === 0 ? true : undefined),
		10_000,
	);
});
