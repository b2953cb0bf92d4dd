/**
 * A worker cannot flood the person running its team: each attempt may ask a bounded number of questions and send a
 * bounded number of messages; past them a call is refused with why, and the run goes on. Status shows the newest
 * messages to the lead (`--json` has them all).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_LIMITS } from "../../src/engine/requests.js";
import { cli, projectTeam, type RunJson, SCRIPTED, sandbox } from "../support/index.js";
import { eventsOf } from "../support/questions.js";

test("an attempt's asks and messages past their limits are refused with why; status shows the newest messages", async () => {
	const box = await sandbox();
	// Nobody answers a foreground run without a terminal: each question takes its default at once.
	await box.write("../crew-home/config.yaml", "questions: { unattended: default }\n");
	await box.write(
		".crew/agents/talker.md",
		"---\nname: talker\ndescription: asks and talks\ntools: read, ask, message\n---\nYou talk.\n",
	);
	await projectTeam(box, "talk", [{ id: "talk", role: "talker" }]);
	const asks = Array.from(
		{ length: REQUEST_LIMITS.ask + 1 },
		(_, i) => `  - tool: ask\n    args: { question: "Question ${i + 1}?", default: "yes" }\n`,
	);
	const messages = Array.from(
		{ length: REQUEST_LIMITS.message + 1 },
		(_, i) => `  - tool: message\n    args: { to: lead, text: "note ${i + 1}" }\n`,
	);
	const scenario = await box.write(
		"scenario.yaml",
		`default:\n${asks.join("")}${messages.join("")}  - say: "last: {result}"\n`,
	);
	const run = await cli(["run", "talk", "talk", "--model", SCRIPTED, "--scenario", scenario, "--json"], box);
	const json = JSON.parse(run.stdout) as RunJson & { messages?: { text: string }[] };
	assert.equal(json.status, "succeeded", `${json.reason}\n${run.stderr}`);
	assert.equal((await eventsOf(box, json.runId, "task.asked")).length, REQUEST_LIMITS.ask);
	assert.equal(json.messages?.length, REQUEST_LIMITS.message);
	assert.match(
		(await cli(["result", json.runId, "talk"], box)).stdout,
		/last: this attempt has made its 20 message calls, the most one may: go on without/,
	);
	const status = (await cli(["status", json.runId], box)).stdout;
	assert.match(status, /15 earlier messages to the lead: pi-crew status \S+ --json/);
	assert.match(status, /message from task:talk \([\d:]+\): note 20/);
	assert.doesNotMatch(status, /note 15\b/);
});
