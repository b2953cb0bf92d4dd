/**
 * A loop whose verdict comes from a reviewer agent (`verify: {agent}`, `loop: {until: verify}`): each round the reviewer
 * judges the loop step's answer; not clean, its findings go to the loop's `to` step, never back to the step's worker.
 * Real pi workers on the scripted model.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { runJson, SCRIPTED, sandbox, task } from "../support/index.js";
import { loopTeam } from "../support/loops.js";
import { verdicts } from "../support/review.js";

const VERDICT = (clean: boolean, findings: string) =>
	`  - tool: verdict\n    args: { clean: ${clean}, findings: ${JSON.stringify(findings)} }\n  - say: "reviewed"\n`;

test("a reviewer's loop verdict: not clean sends its findings to the loop's `to` step, clean ends the loop in round 2", async () => {
	const box = await sandbox();
	await loopTeam(box, "{ to: fix, until: verify, max: 3 }", { agent: "reviewer" });
	// The judge answers with the newest message it was given: a follow-up would show in its answer.
	const scenario = await box.write(
		"scenario.yaml",
		[
			"fixer:",
			'  - say: "fixed"',
			"judge:",
			'  - say: "checked. I was told: {message}"',
			'"task:check.review@1":',
			VERDICT(false, "parse.ts:12 drops the last token"),
			'"task:check.review@2":',
			VERDICT(true, "looks right"),
		].join("\n"),
	);
	const run = await runJson(
		["loopy", "the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess"],
		box,
	);
	assert.equal(run.code, 0, run.stderr);
	assert.equal(run.json.status, "succeeded", run.json.reason);
	assert.equal(task(run.json, "fix").attempts.length, 2);
	assert.equal(task(run.json, "check").attempts.length, 2);
	assert.deepEqual(
		(await verdicts(run.json.runDir)).map((v) => [v.taskId, v.clean, v.by, v.source]),
		[
			["check", false, "agent", "reviewer"],
			["check", true, "agent", "reviewer"],
		],
	);
	const tasks = join(run.json.runDir, "artifacts", "tasks");
	const fixPrompt = await readFile(join(tasks, "fix", "attempt-2", "prompt.md"), "utf8");
	assert.match(fixPrompt, /## Sent back \(round 2\)[\s\S]*<loop-finding>[\s\S]*parse\.ts:12 drops the last token/);
	// The loop step's worker heard its own prompt each round, never the findings as a follow-up.
	const checked = await readFile(join(tasks, "check", "result.md"), "utf8");
	assert.match(checked, /^checked\. I was told: /);
	assert.doesNotMatch(checked, /parse\.ts:12|sent back by its reviewer/);
	const checkPrompt = await readFile(join(tasks, "check", "attempt-2", "prompt.md"), "utf8");
	assert.doesNotMatch(checkPrompt, /parse\.ts:12/);
});
