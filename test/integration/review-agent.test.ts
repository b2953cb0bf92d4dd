/**
 * Verification by an agent (`verify: {agent}`): a read-only reviewer judges each answer and its diff with a `verdict`
 * call; its findings go back to the same worker session, at most `verifyRounds` times. Real pi workers on the
 * scripted model, in an untrusted repository (an agent-only verify needs no trust).
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { gitBox } from "../support/git.js";
import { cli, processesOfRun, runJson, SCRIPTED, task, waitForRunLog } from "../support/index.js";
import { reviewTeam, verdicts } from "../support/review.js";

const VERDICT = (clean: boolean, findings: string) =>
	`  - tool: verdict\n    args: { clean: ${clean}, findings: ${JSON.stringify(findings)} }\n  - say: "reviewed"\n`;

// The child runtime in the checkout (its diff: since the attempt started), the in-process one isolated (its worktree's).
for (const [runtime, isolation] of [
	["child", "shared"],
	["inprocess", "worktree"],
]) {
	test(`${runtime}, ${isolation}: a reviewer's findings go back to the same worker, which answers again; clean, the run succeeds`, async () => {
		const box = await gitBox({ "notes.txt": "committed\n" });
		await reviewTeam(box, "checked", [{ id: "fix", role: "executor", verify: "{ agent: reviewer }" }]);
		const scenario = await box.write(
			"../scenario.yaml",
			[
				'"task:fix":',
				"  - tool: write",
				"    args: { path: notes.txt, content: 'changed by fix' }",
				'  - say: "FIX heard=[{message}]"',
				'"task:fix.review@1":',
				VERDICT(false, "F1: notes.txt must end with a newline"),
				'"task:fix.review@2":',
				VERDICT(true, "looks right"),
			].join("\n"),
		);
		const run = await runJson(
			[
				...["checked", "tidy the notes", "--model", SCRIPTED, "--scenario", scenario],
				...["--runtime", runtime ?? "", "--isolation", isolation ?? ""],
			],
			box,
		);
		assert.equal(run.code, 0, run.stderr);
		assert.equal(run.json.status, "succeeded");
		const fix = task(run.json, "fix");
		// The worker's second answer is its answer to the findings, in its kept session.
		const answer = await readFile(fix.result ?? "", "utf8");
		assert.match(answer, /FIX heard=\[## Your work was sent back by its reviewer[\s\S]*F1: notes\.txt must end/);
		assert.deepEqual(
			(await verdicts(run.json.runDir)).map((v) => [v.taskId, v.clean, v.by, v.source]),
			[
				["fix", false, "agent", "reviewer"],
				["fix", true, "agent", "reviewer"],
			],
		);
		// Each review is the task's: its prompt (the answer and the diff, fenced) in the attempt's review-<n>/, its tool
		// calls among the task's.
		const first = await readFile(join(run.json.runDir, "artifacts/tasks/fix/attempt-1/review-1/prompt.md"), "utf8");
		assert.match(first, /<task-answer>\s*FIX heard=/);
		assert.match(first, /<task-diff>[\s\S]*-committed\n\+changed by fix/);
		assert.ok(fix.attempts.length === 1, "one attempt: the rounds are in its session");
		const log = await readFile(join(run.json.runDir, "events.jsonl"), "utf8");
		assert.equal(log.split('"tool":"verdict","phase":"start"').length - 1, 2);
		assert.deepEqual(await processesOfRun(run.json.runId), []);
	});
}

test("a reviewer that never gives a clean verdict ends the task needing attention after verifyRounds", async () => {
	const box = await gitBox();
	await box.write("../crew-home/config.yaml", "verifyRounds: 2\n");
	// The team's reviewer judges its writing task, not its read-only one; it never calls verdict: never clean.
	await reviewTeam(
		box,
		"strict",
		[
			{ id: "look", role: "explorer" },
			{ id: "fix", role: "executor", dependsOn: ["look"] },
		],
		"{ agent: reviewer }",
	);
	const scenario = await box.write(
		"../scenario.yaml",
		'"task:fix":\n  - say: "FIX heard=[{message}]"\n"task:fix.review":\n  - say: "it looks fine to me"\n',
	);
	const run = await runJson(
		["strict", "tidy the notes", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"],
		box,
	);
	assert.equal(run.code, 1, run.stderr);
	const fix = task(run.json, "fix");
	assert.equal(fix.status, "failed");
	assert.match(
		fix.reason ?? "",
		/^needs attention: the reviewer's findings after 2 round\(s\): the reviewer gave no verdict/,
	);
	assert.equal(task(run.json, "look").status, "succeeded");
	const said = await verdicts(run.json.runDir);
	assert.deepEqual(
		said.map((v) => [v.taskId, v.clean, v.findings]),
		[
			["fix", false, "the reviewer gave no verdict"],
			["fix", false, "the reviewer gave no verdict"],
		],
	);
});

test("the config's reviewer judges every writing task, not a read-only one, and `config` shows where it is set", async () => {
	const box = await gitBox();
	await box.write("../crew-home/config.yaml", "verify:\n  agent: reviewer\n");
	await reviewTeam(box, "plain", [
		{ id: "look", role: "explorer" },
		{ id: "fix", role: "executor", dependsOn: ["look"] },
	]);
	const scenario = await box.write("../scenario.yaml", `reviewer:\n${VERDICT(true, "fine")}`);
	const run = await runJson(["plain", "tidy", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(run.code, 0, run.stderr);
	assert.deepEqual(
		(await verdicts(run.json.runDir)).map((v) => [v.taskId, v.clean, v.source]),
		[["fix", true, "reviewer"]],
	);
	const shown = await cli(["config"], box);
	assert.equal(shown.code, 0, shown.stderr);
	assert.match(shown.stdout, /verify\.agent\s+reviewer\s+.*config\.yaml:2/);
});

test("cancel while the reviewer runs stops it and the worker that waits on it: no process is left", async () => {
	const box = await gitBox();
	await reviewTeam(box, "checked", [{ id: "fix", role: "executor", verify: "{ agent: reviewer }" }]);
	const scenario = await box.write(
		"../scenario.yaml",
		'"task:fix":\n  - say: "done"\nreviewer:\n  - tool: ls\n    args: { path: . }\n  - waitFor: never.txt\n  - say: "late"\n',
	);
	const started = await cli(
		["run", "checked", "tidy", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "child", "--background"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	await waitForRunLog(box, "the reviewer's first call", '"tool":"ls"');
	assert.ok((await processesOfRun(runId)).length >= 2, "the worker stays open while its reviewer runs");
	assert.equal((await cli(["cancel", runId], box)).code, 0);
	assert.deepEqual(await processesOfRun(runId), []);
	const shown = await cli(["status", runId, "--json"], box);
	assert.equal((JSON.parse(shown.stdout) as { status: string }).status, "cancelled");
});

test("an unknown reviewer stops the run before it starts, and validate names its file, line and field", async () => {
	const box = await gitBox();
	await reviewTeam(box, "typo", [{ id: "fix", role: "executor", verify: "{ agent: reveiwer }" }]);
	const run = await cli(["run", "typo", "tidy", "--model", SCRIPTED], box);
	assert.equal(run.code, 2);
	assert.match(run.stderr, /typo\.workflow\.md:7 \[steps\.0\.verify\.agent\]: unknown reviewer agent "reveiwer"/);
	const validated = await cli(["validate"], box);
	assert.match(
		validated.stdout + validated.stderr,
		/typo\.workflow\.md:7 \[steps\.0\.verify\.agent\]: unknown reviewer agent/,
	);
	assert.equal(
		await readdir(join(box.repo, ".crew", "runs"))
			.catch(() => [])
			.then((r) => r.length),
		0,
	);
});
