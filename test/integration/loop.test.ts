/**
 * Bounded loops on real workers (scripted model): a check's verdict sends the work back to the step it names, round
 * after round, until it is clean or `max` rounds are spent; the finding reaches the re-run worker's prompt.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { integrationBranch } from "../../src/workspace/worktrees.js";
import { git, gitBox } from "../support/git.js";
import { cli, runJson, SCRIPTED, sandbox, task } from "../support/index.js";
import { failsUntil, foldedRun, loopTeam } from "../support/loops.js";
import { eventsOf } from "../support/questions.js";

/** The fixer answers with the prompt it was given ({message}): what it was told shows in its result. */
const FIXER = `fixer:\n  - say: "fixed. I was told: {message}"\ndefault:\n  - say: "checked"\n`;

test("a verify command that fails twice then passes: three rounds, each failure sent back to the fixer, and success", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, max: 3 }", failsUntil(3));
	const scenario = await box.write("scenario.yaml", FIXER);
	const run = await runJson(
		["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"],
		box,
	);
	assert.equal(run.code, 0, run.stderr);
	assert.equal(run.json.status, "succeeded", run.json.reason);
	assert.equal(task(run.json, "fix").attempts.length, 3);
	assert.equal(task(run.json, "check").attempts.length, 3);
	const looped = await eventsOf(box, run.json.runId, "task.looped");
	assert.deepEqual(
		looped.map((e) => [e.taskId, e.data.round, e.data.to, e.data.reopened]),
		[
			["check", 2, "fix", ["fix", "check"]],
			["check", 3, "fix", ["fix", "check"]],
		],
	);
	assert.match(String(looped[1]?.data.finding), /verify `.*` exited with code 1:\ntests fail \(run 2\)/);
	const verdicts = await eventsOf(box, run.json.runId, "task.verdict");
	assert.deepEqual(
		verdicts.map((e) => [e.data.by, e.data.clean]),
		[
			["command", false],
			["command", false],
			["command", true],
		],
	);
	// The last round's fixer was told the second failure, fenced as a worker's text, under its round.
	const result = await readFile(join(run.json.runDir, "artifacts", "tasks", "fix", "result.md"), "utf8");
	assert.match(
		result,
		/## Sent back \(round 3\)[\s\S]*<loop-finding>[\s\S]*tests fail \(run 2\)[\s\S]*<\/loop-finding>/,
	);
	const state = await foldedRun(box, run.json.runId);
	assert.equal(state.tasks.get("fix")?.round, 3);
	assert.equal(state.tasks.get("check")?.round, 3);
	// The views of this real run: each task event says its round, from the event after the loop back that opened it.
	const rounds = roundsInLog(await readFile(join(run.json.runDir, "events.jsonl"), "utf8"));
	assert.deepEqual(rounds.wrong, []);
	assert.deepEqual(rounds.seen, [2, 3]);
	const status = JSON.parse((await cli(["status", run.json.runId, "--json"], box)).stdout) as {
		rounds?: { lastFinding?: string }[];
	};
	const [loop] = status.rounds ?? [];
	assert.deepEqual(
		{ ...loop, lastFinding: undefined },
		{ step: "check", to: "fix", round: 3, max: 3, lastFinding: undefined },
	);
	assert.match(loop?.lastFinding ?? "", /tests fail \(run 2\)$/, "what the last round was sent back with");
	const metrics = await cli(["metrics", run.json.runId, "--prometheus", "--filter", "crew.loop.*"], box);
	assert.equal(metrics.code, 0, metrics.stderr);
	assert.match(metrics.stdout, /^crew_loop_rounds_total\{workflow="loopy",step="check"\} 2$/m);
});

/**
 * The log's task events against their loop round: the round each should carry (none in round 1; a task is in the
 * round its last `task.looped` opened from the event after it on), the events that do not, and the rounds seen.
 */
function roundsInLog(log: string): { wrong: string[]; seen: number[] } {
	const open = new Map<string, number>();
	const wrong: string[] = [];
	const seen = new Set<number>();
	for (const line of log.split("\n").filter(Boolean)) {
		const e = JSON.parse(line) as { seq: number; type: string; taskId?: string; round?: number; data: never };
		if (!e.taskId) continue;
		const want = open.get(e.taskId);
		if (e.round !== want) wrong.push(`${e.seq} ${e.type} ${e.taskId}: round ${e.round}, not ${want}`);
		if (e.round) seen.add(e.round);
		if (e.type === "task.looped") {
			const { round, reopened } = e.data as { round: number; reopened: string[] };
			for (const id of reopened) open.set(id, round);
		}
	}
	return { wrong, seen: [...seen].sort() };
}

test("a verify command that always fails: after max rounds the run needs attention, with the finding as its reason", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, max: 2 }", failsUntil(99));
	const scenario = await box.write("scenario.yaml", FIXER);
	const run = await runJson(
		["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "child"],
		box,
	);
	assert.equal(run.code, 1, run.stderr);
	const reason =
		/^needs attention: not clean after 2 round\(s\): verify `.*` exited with code 1:\ntests fail \(run 2\)$/;
	assert.match(run.json.reason ?? "", reason);
	assert.equal(task(run.json, "check").status, "failed");
	assert.equal(task(run.json, "check").attempts.length, 2, "a verdict is not a failure: no retry");
	assert.equal(task(run.json, "fix").attempts.length, 2);
	const status = JSON.parse((await cli(["status", run.json.runId, "--json"], box)).stdout) as { reason?: string };
	assert.match(status.reason ?? "", reason);
});

test("an agent's verdict sends its findings back: the re-run fixer's prompt shows them, and the clean verdict ends the loop", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, until: verdict, max: 3 }");
	const scenario = await box.write(
		"scenario.yaml",
		`${FIXER}"task:check@1":
  - tool: verdict
    args: { clean: false, findings: "parse.ts:12 drops the last token" }
  - say: "FAIL"
"task:check@2":
  - tool: verdict
    args: { clean: true, findings: "" }
  - say: "PASS"
`,
	);
	const run = await runJson(
		["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"],
		box,
	);
	assert.equal(run.json.status, "succeeded", run.json.reason);
	assert.equal(task(run.json, "fix").attempts.length, 2);
	const result = await readFile(join(run.json.runDir, "artifacts", "tasks", "fix", "result.md"), "utf8");
	assert.match(result, /## Sent back \(round 2\)[\s\S]*parse\.ts:12 drops the last token/);
	const verdicts = await eventsOf(box, run.json.runId, "task.verdict");
	assert.deepEqual(
		verdicts.map((e) => [e.data.by, e.data.clean]),
		[
			["self", false],
			["self", true],
		],
	);
});

test("a loop step whose agent gives no verdict fails, saying so: a verdict is never taken from its prose", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, until: verdict, max: 3 }");
	const scenario = await box.write("scenario.yaml", FIXER);
	const run = await runJson(
		["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"],
		box,
	);
	assert.equal(run.json.status, "failed");
	assert.match(task(run.json, "check").reason ?? "", /"check" gave no verdict: its agent must call the verdict tool/);
	assert.equal(task(run.json, "check").attempts.length, 1);
});

test("validate and run report a loop to a step its step does not depend on, with file, line and field, before any worker", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: nowhere, until: verdict, max: 3 }");
	const file = join(box.dir, "crew-home", "workflows", "loopy.workflow.md");
	const problem = `${file}:12 [steps.1.loop.to]: "check" loops to "nowhere", which it does not depend on`;
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 2, validate.stdout);
	assert.ok(`${validate.stdout}${validate.stderr}`.includes(problem), validate.stdout + validate.stderr);
	const run = await cli(["run", "loopy", "x", "--model", SCRIPTED], box);
	assert.equal(run.code, 2);
	assert.ok(run.stderr.includes(problem), run.stderr);
	assert.match(run.stderr, /fix: loop to a step "check" depends on, directly or not \(its dependsOn: fix\)/);
});

test("an isolated loop: the fixer's new commit is merged again, and the next round's check runs on it", async () => {
	const box = await gitBox();
	// The check works in a worktree of its own (it has bash): its second round must see round 2's fix, which the
	// fixer's kept session makes on its second prompt.
	await loopTeam(
		box,
		"{ to: fix, max: 3 }",
		'grep -q fixed state.txt || { echo "state.txt says $(cat state.txt)"; exit 1; }',
		true,
	);
	const scenario = await box.write(
		"../scenario.yaml",
		`fixer:\n  - tool: bash\n    args: { command: "echo broken > state.txt" }\n  - say: "wrote it"\n"fixer#2":\n  - tool: bash\n    args: { command: "echo fixed > state.txt" }\n  - say: "fixed it: {message}"\ndefault:\n  - say: "checked"\n`,
	);
	const run = await runJson(
		["loopy", "the state", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"],
		box,
	);
	assert.equal(run.json.status, "succeeded", run.json.reason);
	assert.equal(task(run.json, "check").attempts.length, 2);
	const looped = await eventsOf(box, run.json.runId, "task.looped");
	assert.match(String(looped[0]?.data.finding), /state\.txt says broken/);
	assert.equal(git(box.repo, "show", `${integrationBranch(run.json.runId)}:state.txt`), "fixed");
	const merges = await eventsOf(box, run.json.runId, "task.succeeded");
	assert.deepEqual(
		merges.filter((e) => e.taskId === "fix").map((e) => typeof e.data.merged),
		["string", "string"],
		"each round's fix merged",
	);
});
