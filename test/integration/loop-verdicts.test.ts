/**
 * Whose verdict a loop takes, and when: only its own source's (its verify command or reviewer, else its agent's),
 * only this round's, and only from an agent that has the `verdict` tool (checked before any worker starts).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { integrationBranch } from "../../src/workspace/worktrees.js";
import { git, gitBox } from "../support/git.js";
import { cli, runJson, SCRIPTED, sandbox, task } from "../support/index.js";
import { killedWhile } from "../support/loop-kill.js";
import { foldedRun, loopTeam } from "../support/loops.js";
import { eventsOf } from "../support/questions.js";

test("a loop step that fails in a later round for another reason: the run says so, not as an earlier round's verdict", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, until: verdict, max: 3 }");
	const scenario = await box.write(
		"scenario.yaml",
		`fixer:\n  - say: "fixed"\n"task:check@1":\n  - tool: verdict\n    args: { clean: false, findings: "parse.ts:12 drops the last token" }\n  - say: "FAIL"\n"task:check@2":\n  - fault: empty\n`,
	);
	const run = await runJson(
		["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"],
		box,
	);
	assert.equal(run.json.status, "failed");
	assert.match(task(run.json, "check").reason ?? "", /empty final answer/);
	assert.match(run.json.reason ?? "", /^1 of 2 tasks did not succeed; first: check failed \(.*empty final answer/);
});

test("a loop's verify command refused on resume fails the step with the refusal, never loops on its agent's own verdict", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, max: 3 }", "true");
	// The first fixer never answers: the coordinator dies under it, and the workflow's command changes meanwhile.
	const scenario = await box.write(
		"scenario.yaml",
		`fixer:\n  - say: "fixed"\n"task:fix@1":\n  - waitFor: never-written\n  - say: "unreachable"\njudge:\n  - tool: verdict\n    args: { clean: false, findings: "my own claim" }\n  - say: "FAIL"\n`,
	);
	const args = ["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"];
	const runId = await killedWhile(box, args, (starts) => starts.some((e) => e.taskId === "fix"));
	await loopTeam(box, "{ to: fix, max: 3 }", "echo changed");
	const resumed = await cli(["resume", runId], box);
	assert.equal(resumed.code, 1, resumed.stderr);
	const state = await foldedRun(box, runId);
	const check = state.tasks.get("check");
	assert.equal(check?.status, "failed");
	assert.match(check?.reason ?? "", /^verify `true` not run: the run's workflow "loopy" as it is now does not name/);
	assert.deepEqual(await eventsOf(box, runId, "task.looped"), [], "no round on the agent's own claim");
});

test("a loop until its agent's verdict, whose agent lacks the verdict tool or has it denied: refused before any worker, saying where", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, until: verdict, max: 3 }");
	const home = join(box.dir, "crew-home");
	await box.write(
		"../crew-home/agents/judge.md",
		"---\nname: judge\ndescription: judges\ntools: read, bash\n---\nJudge.\n",
	);
	const args = ["run", "loopy", "x", "--model", SCRIPTED];
	const noTool = await cli(args, box);
	assert.equal(noTool.code, 2, noTool.stderr);
	const workflow = join(home, "workflows", "loopy.workflow.md");
	assert.ok(
		noTool.stderr.includes(
			`${workflow}:12 [steps.1.loop.until]: "check" loops until its agent's verdict, and agent "judge" has no verdict tool`,
		),
		noTool.stderr,
	);
	assert.match(
		noTool.stderr,
		/add verdict to agent judge's tools \(.*judge\.md\), or use until: verify with a command/,
	);
	// The builtin default workflow's verifier has it, and a reviewer is given it, unless the user's config denies it.
	const config = await box.write("../crew-home/config.yaml", "tools:\n  deny: [verdict]\nverify:\n  agent: reviewer\n");
	const denied = await cli(["run", "default", "x", "--model", SCRIPTED], box);
	assert.equal(denied.code, 2, denied.stderr);
	assert.ok(
		denied.stderr.includes(
			`${config}:2 [tools.deny]: "verify" loops until its agent's verdict, and agent "verifier" has no verdict tool: tools.deny denies it`,
		),
		denied.stderr,
	);
	assert.ok(
		denied.stderr.includes(
			`${config}:2 [tools.deny]: tools.deny denies verdict, which reviewer "reviewer" needs to judge`,
		),
		denied.stderr,
	);
	assert.equal((await cli(["list"], box)).stdout.trim(), "no runs yet");
});

test("an isolated loop step that writes: a rejected round's edits are discarded, never blocking or joining the next round", async () => {
	const box = await gitBox();
	await loopTeam(box, "{ to: fix, max: 3 }", "grep -q fixed state.txt", true);
	// Round 1's check edits a tracked file and adds one; round 2's adds another.
	const scenario = await box.write(
		"../scenario.yaml",
		`fixer:\n  - tool: bash\n    args: { command: "echo broken > state.txt" }\n  - say: "wrote it"\n"fixer#2":\n  - tool: bash\n    args: { command: "echo fixed > state.txt" }\n  - say: "fixed it"\n"task:check@1":\n  - tool: bash\n    args: { command: "echo note > round1.txt; echo tampered > state.txt" }\n  - say: "checked"\n"task:check@2":\n  - tool: bash\n    args: { command: "echo note > round2.txt" }\n  - say: "checked"\n`,
	);
	const run = await runJson(
		["loopy", "the state", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"],
		box,
	);
	assert.equal(run.json.status, "succeeded", run.json.reason);
	assert.equal(task(run.json, "check").attempts.length, 2);
	const integration = integrationBranch(run.json.runId);
	assert.equal(git(box.repo, "show", `${integration}:state.txt`), "fixed");
	assert.equal(git(box.repo, "show", `${integration}:round2.txt`), "note");
	const files = git(box.repo, "ls-tree", "--name-only", integration).split("\n");
	assert.ok(!files.includes("round1.txt"), `round 1's file is gone: ${files.join(", ")}`);
});

test("a loop step's agent that answers without its verdict is asked once more in the same session, and its verdict stands", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, until: verdict, max: 3 }");
	const scenario = await box.write(
		"scenario.yaml",
		`fixer:\n  - say: "fixed"\njudge:\n  - say: "looks fine"\n"judge#2":\n  - tool: verdict\n    args: { clean: true, findings: "" }\n  - say: "PASS after: {message}"\n`,
	);
	const run = await runJson(
		["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "child"],
		box,
	);
	assert.equal(run.json.status, "succeeded", run.json.reason);
	assert.equal(task(run.json, "check").attempts.length, 1, "the same attempt, not a new round");
	const verdicts = await eventsOf(box, run.json.runId, "task.verdict");
	assert.deepEqual(
		verdicts.map((e) => [e.data.by, e.data.clean]),
		[["self", true]],
	);
	const result = await readFile(join(run.json.runDir, "artifacts", "tasks", "check", "result.md"), "utf8");
	assert.match(result, /^PASS after: You answered without calling the `verdict` tool/);
});
