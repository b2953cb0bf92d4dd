/**
 * Plan approval: a step with `approval: true` waits for `pi-crew approve` with its worker open; feedback revises it; a
 * worker that asks first is answered, then waits for approval.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { approvalTeam, plannerSays } from "../support/approval.js";
import { cli, processesOfRun, type Sandbox, SCRIPTED, sandbox, waitForRunLog } from "../support/index.js";
import { ASKING } from "../support/questions.js";

/** Starts `team` in the background on `scenario`; returns the run id. */
async function startRun(box: Sandbox, team: string, scenario: string, runtime: string): Promise<string> {
	const file = await box.write("scenario.yaml", scenario);
	const started = await cli(
		["run", team, "ship the parser", "--model", SCRIPTED, "--scenario", file, "--runtime", runtime, "--background"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	return started.stdout.trim();
}

interface ApprovalJson {
	round: number;
	resultPath: string;
	plan?: { id: string; role: string; task: string; dependsOn: string[] }[];
}

/** `status --json` of the run, with what a task waiting for approval shows. */
async function status(box: Sandbox, runId: string) {
	const shown = await cli(["status", runId, "--json"], box);
	assert.equal(shown.code, 0, shown.stderr);
	return JSON.parse(shown.stdout) as {
		status: string;
		tasks: { id: string; status: string; dependsOn: string[]; approval?: ApprovalJson }[];
	};
}

async function eventTypes(box: Sandbox, runId: string): Promise<{ type: string; taskId?: string; data: never }[]> {
	const log = await readFile(join(box.repo, ".crew", "runs", runId, "events.jsonl"), "utf8");
	return log
		.split("\n")
		.filter(Boolean)
		.map((l) => JSON.parse(l))
		.filter((e) => typeof e.type === "string");
}

test("a rejected answer is revised in the same child worker session with the feedback, then approved", async () => {
	const box = await sandbox();
	await approvalTeam(box, "gated", [
		{ id: "draft", role: "explorer", approval: true },
		{ id: "after", role: "explorer", dependsOn: ["draft"] },
	]);
	const runId = await startRun(
		box,
		"gated",
		`"task:draft":\n  - say: "DRAFT heard=[{message}] first=[{first}]"\n"task:after":\n  - say: "after done"\n`,
		"child",
	);
	await waitForRunLog(box, "the first draft", '"task.awaiting_approval"');
	const waiting = await status(box, runId);
	const draft = waiting.tasks.find((t) => t.id === "draft");
	assert.equal(draft?.status, "waiting");
	assert.equal(draft?.approval?.round, 1);
	assert.match(await readFile(draft?.approval?.resultPath ?? "", "utf8"), /^DRAFT heard=\[/);
	const shown = await cli(["status", runId], box);
	assert.match(shown.stdout, /draft .* waiting/);
	assert.match(shown.stdout, /waiting for approval \(round 1\)/);
	const rejected = await cli(["approve", runId, "draft", "--reject", "use the v2 API"], box);
	assert.equal(rejected.code, 0, rejected.stderr);
	assert.match(rejected.stdout, /rejected draft of run/);
	await waitForRunLog(box, "the second draft", '"task.awaiting_approval"', 2);
	const second = await status(box, runId);
	const revised = second.tasks.find((t) => t.id === "draft")?.approval;
	assert.equal(revised?.round, 2);
	// Its newest message is the feedback; its task prompt is still the first message of the same session.
	const text = await readFile(revised?.resultPath ?? "", "utf8");
	assert.match(text, /heard=\[Your answer was not approved\. Feedback:\s+use the v2 API/);
	assert.match(text, /first=\[## Goal\s+ship the parser[\s\S]*do draft for/);
	const approved = await cli(["approve", runId], box);
	assert.equal(approved.code, 0, approved.stderr);
	assert.match(approved.stdout, /approved draft of run/);
	await cli(["status", runId, "--follow"], box);
	const done = await status(box, runId);
	assert.equal(done.status, "succeeded");
	const result = await cli(["result", runId, "draft"], box);
	assert.match(result.stdout, /use the v2 API/);
	const events = await eventTypes(box, runId);
	const of = (type: string, taskId = "draft") => events.filter((e) => e.type === type && e.taskId === taskId).length;
	assert.deepEqual(
		["task.started", "task.awaiting_approval", "task.rejected", "task.approved", "task.succeeded"].map((t) => of(t)),
		[1, 2, 1, 1, 1],
	);
	assert.equal(of("task.succeeded", "after"), 1);
	// Nothing waits any more: approve says so.
	const again = await cli(["approve", runId], box);
	assert.equal(again.code, 2);
	assert.match(again.stderr, /nothing waits for approval/);
});

test("a child task that asks and needs approval: answered, its answer then waits for approval, approved once", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/asker.md", "---\nname: asker\ndescription: asks\ntools: read, ask\n---\nYou decide.\n");
	await approvalTeam(box, "asked", [{ id: "decide", role: "asker", approval: true }]);
	const runId = await startRun(box, "asked", ASKING, "child");
	await waitForRunLog(box, "the question", '"task.asked"');
	assert.equal((await status(box, runId)).tasks[0]?.status, "waiting");
	assert.equal((await cli(["approve", runId], box)).code, 2, "a question is not an approval");
	assert.equal((await cli(["respond", runId, "decide", "v2"], box)).code, 0);
	await waitForRunLog(box, "the answer to approve", '"task.awaiting_approval"');
	const waiting = (await status(box, runId)).tasks[0];
	assert.equal(waiting?.status, "waiting");
	assert.match(await readFile(waiting?.approval?.resultPath ?? "", "utf8"), /^decided: v2/);
	assert.equal((await cli(["approve", runId, "decide"], box)).code, 0);
	await cli(["status", runId, "--follow"], box);
	assert.equal((await status(box, runId)).status, "succeeded");
	const events = await eventTypes(box, runId);
	const of = (type: string) => events.filter((e) => e.type === type && e.taskId === "decide").length;
	assert.deepEqual(
		["task.started", "task.asked", "task.answered", "task.awaiting_approval", "task.approved", "task.succeeded"].map(
			of,
		),
		[1, 1, 1, 1, 1, 1],
	);
});

test("an adaptive plan approved with --drop (in-process): the dropped task never runs; unknown ids are listed", async () => {
	const box = await sandbox();
	await approvalTeam(box, "planned", [{ id: "plan", role: "planner", adaptive: true, approval: true }], ["explorer"]);
	const say = plannerSays();
	const runId = await startRun(
		box,
		"planned",
		`planner:\n  - say: ${JSON.stringify(say)}\nexplorer:\n  - say: "{task} done"\n`,
		"inprocess",
	);
	await waitForRunLog(box, "the plan to wait for approval", '"task.awaiting_approval"');
	const waiting = await status(box, runId);
	assert.deepEqual(
		waiting.tasks.find((t) => t.id === "plan")?.approval?.plan?.map((s) => s.id),
		["keep", "skip", "sum"],
	);
	assert.match((await cli(["status", runId], box)).stdout, /plan: skip \(explorer\)/);
	const unknown = await cli(["approve", runId, "--drop", "nope"], box);
	assert.equal(unknown.code, 2);
	assert.match(unknown.stderr, /nope not in the plan of plan \(its tasks: keep, skip, sum\)/);
	const approved = await cli(["approve", runId, "plan", "--drop", "skip"], box);
	assert.equal(approved.code, 0, approved.stderr);
	assert.match(approved.stdout, /approved plan of run .* \(dropped: skip\)/);
	await cli(["status", runId, "--follow"], box);
	const done = await status(box, runId);
	assert.equal(done.status, "succeeded");
	assert.deepEqual(done.tasks.map((t) => t.id).sort(), ["keep", "plan", "sum"]);
	const sum = done.tasks.find((t) => t.id === "sum");
	assert.deepEqual(sum?.dependsOn, ["plan", "keep"]);
	const events = await eventTypes(box, runId);
	assert.equal(events.filter((e) => e.taskId === "skip").length, 0);
});

test("cancel while a child task waits for approval leaves no process behind", async () => {
	const box = await sandbox();
	await approvalTeam(box, "gated", [{ id: "draft", role: "explorer", approval: true }]);
	const runId = await startRun(box, "gated", `explorer:\n  - say: "a draft"\n`, "child");
	await waitForRunLog(box, "the draft", '"task.awaiting_approval"');
	assert.ok((await processesOfRun(runId)).length > 0, "the worker stays open while it waits");
	assert.equal((await cli(["cancel", runId], box)).code, 0);
	assert.deepEqual(await processesOfRun(runId), []);
	const done = await status(box, runId);
	assert.equal(done.status, "cancelled");
});
