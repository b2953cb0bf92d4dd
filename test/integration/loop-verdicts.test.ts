/**
 * Whose verdict a loop takes, and when: only its own source's (its verify command or reviewer, else its agent's),
 * only this round's, and only from an agent that has the `verdict` tool (checked before any worker starts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runJson, SCRIPTED, sandbox, task } from "../support/index.js";
import { loopTeam } from "../support/loops.js";

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
