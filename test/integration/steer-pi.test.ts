/**
 * Steering from pi: the team tool's `steer` action called by a session's agent, and the dashboard's `s` key on the
 * selected running task, each reaching a child worker held at work.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { askPi, cli, hasTool, type RunJson, sandbox, tmuxPi } from "../support/index.js";
import { startedTask } from "../support/steer.js";

/** The worker holds at a barrier in its first model call; each answer quotes the newest message it got. */
const HELD = `default:\n  - waitFor: go.flag\n  - say: "heard: {message}"\n`;

test("the team tool's steer action: a steer and a follow-up reach a running child worker; what a call lacks", async () => {
	const box = await sandbox();
	const runId = await startedTask(box, HELD);
	const calls = [
		{ action: "steer", runId, taskId: "work", message: "take the v2 API" },
		{ action: "steer", runId, taskId: "work", message: "then summarize", followUp: true },
		{ action: "steer", runId, taskId: "nope", message: "hello" },
		{ action: "steer", runId },
	];
	const script = calls.map((args) => `  - tool: team\n    args: ${JSON.stringify(args)}`).join("\n");
	const parent = await box.write("parent.yaml", `default:\n${script}\n  - say: "done"\n`);
	const asked = await askPi(box, parent, "steer the team", "json");
	assert.equal(asked.code, 0, asked.stderr);
	assert.deepEqual(asked.toolResults, [
		`steer message delivered to work of run ${runId}`,
		`follow-up delivered to work of run ${runId}`,
		`not delivered to run ${runId}: say which task: work`,
		"team steer needs `message` (and `taskId` when several tasks run).",
	]);
	await writeFile(join(box.repo, "go.flag"), "");
	await cli(["status", runId, "--follow"], box);
	assert.equal((JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson).status, "succeeded");
	// The steer joined the first turn; the follow-up came after it, and its answer is the task's.
	assert.match((await cli(["transcript", runId, "work"], box)).stdout, /heard: take the v2 API/);
	assert.match((await cli(["result", runId, "work"], box)).stdout, /\n\nheard: then summarize\n$/);
});

test("the dashboard's s key steers the selected running task with the message typed", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	const runId = await startedTask(box, HELD);
	const pi = await tmuxPi(t, box, { x: 120, y: 40 });
	pi.keys(`/team-dashboard ${runId}`, "Enter");
	await pi.until("work running in the graph", (s) => /^› ▶ work +running/m.test(s));
	pi.keys("s");
	await pi.until("the message field", (s) => s.includes("(enter send · esc cancel)"), 15_000);
	pi.keys("-l", "keep it short");
	pi.keys("Enter");
	await pi
		.until("the delivery", (s) => s.includes("steer message delivered to work"), 30_000)
		.catch((err) => {
			throw new Error(`${err.message}; the screen:\n${pi.screen()}`);
		});
	await writeFile(join(box.repo, "go.flag"), "");
	await cli(["status", runId, "--follow"], box);
	assert.match((await cli(["result", runId, "work"], box)).stdout, /\n\nheard: keep it short\n$/);
	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as {
		tasks: { messages?: { text: string; from: string; delivered?: boolean }[] }[];
	};
	assert.deepEqual(
		status.tasks[0]?.messages?.map((m) => [m.text, m.delivered]),
		[["keep it short", true]],
	);
});
