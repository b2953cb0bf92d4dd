/**
 * A crew tool runs alone in its turn: a model that calls `ask` and a long `bash` in one message cannot run the bash
 * while its question waits, when neither the task's timeout nor its heartbeat runs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cli, projectTeam, SCRIPTED, sandbox, waitForRunLog } from "../support/index.js";

test("ask and bash in one turn: the bash runs once the question is answered, under the task's time", async () => {
	const box = await sandbox();
	await box.write(
		".crew/agents/asker.md",
		"---\nname: asker\ndescription: asks and works\ntools: read, bash, ask\n---\nYou decide.\n",
	);
	await projectTeam(box, "ask", [{ id: "decide", role: "asker" }]);
	const scenario = await box.write(
		"scenario.yaml",
		`default:
  - tools:
      - { tool: ask, args: { question: "Go on?", choices: [yes, no] } }
      - { tool: bash, args: { command: "test -e answered && echo after the answer || echo while asking" } }
  - say: "bash ran {result}"
`,
	);
	const started = await cli(
		["run", "ask", "go", "--model", SCRIPTED, "--scenario", scenario, "--background", "--runtime", "child"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	await waitForRunLog(box, "the question", '"task.asked"');
	await box.write("answered", "");
	assert.equal((await cli(["respond", runId, "decide", "yes"], box)).code, 0);
	await cli(["status", runId, "--follow"], box);
	assert.match((await cli(["result", runId, "decide"], box)).stdout, /bash ran after the answer/);
});
