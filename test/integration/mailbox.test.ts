/**
 * The mailbox between tasks, with real child workers on the scripted model: task `a` messages `b` (running beside
 * it), `c` (which waits for both), the lead, and a task that does not exist; `c` then messages `a`, which has ended.
 * One run serves every assertion.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { CrewEvent } from "../../src/store/events.js";
import { cli, projectTeam, runEvents, SCRIPTED, sandbox, waitForRunLog } from "../support/index.js";

const AGENT = `---\nname: talker\ndescription: a worker that may message the others\ntools: [ls, message]\n---\nWork with your team.\n`;

// `b` holds at a barrier while `a` talks; once its message is delivered the test lets `b` end its turn, and `b` then
// answers the message as a turn of its own. `c` starts last and shows its prompt.
const SCENARIO = `"task:a":
  - waitFor: go-a.flag
  - tool: message
    args: { to: b, text: "b: the parser moved to src/parse.ts" }
  - tool: message
    args: { to: c, text: "c: use the new parser" }
  - tool: message
    args: { to: lead, text: "the old parser is gone" }
  - tool: message
    args: { to: nope, text: "anyone?" }
  - say: "a done: {result}"
"task:b":
  - tool: ls
    args: { path: "." }
  - waitFor: go-b.flag
  - say: "b heard: {message}"
"task:c":
  - tool: message
    args: { to: a, text: "thanks" }
  - say: "c: {result}; c was told: {prompt}"
`;

test("a worker's message reaches a running task, a task not started yet, and the lead; an unknown or ended task is refused", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/talker.md", AGENT);
	await projectTeam(box, "talk", [
		{ id: "a", role: "talker" },
		{ id: "b", role: "talker" },
		{ id: "c", role: "talker", dependsOn: ["a", "b"] },
	]);
	const scenario = await box.write("scenario.yaml", SCENARIO);
	const started = await cli(
		["run", "talk", "move the parser", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "child"].concat([
			"--background",
		]),
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	// `b` is at work (its first tool ran): `a` may talk.
	await waitForRunLog(box, "b's first tool call", '"task.tool"');
	await writeFile(join(box.repo, "go-a.flag"), "");
	await waitForRunLog(box, "the message to b delivered", '"delivered":true');
	await writeFile(join(box.repo, "go-b.flag"), "");
	// Following the run shows the messages between tasks, and to the lead, as they are said.
	const followed = await cli(["status", runId, "--follow"], box);
	assert.match(followed.stderr, /✉ task:a → b: b: the parser moved to src\/parse\.ts\n/);
	assert.match(followed.stderr, /✉ task:a → lead: the old parser is gone\n/);

	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as {
		status: string;
		messages?: { from: string; text: string }[];
		tasks: { id: string; messages?: { from: string; text: string; mode: string; delivered?: boolean }[] }[];
	};
	assert.equal(status.status, "succeeded");
	// To the lead: on the run, shown by status.
	assert.deepEqual(
		status.messages?.map((m) => [m.from, m.text]),
		[["task:a", "the old parser is gone"]],
	);
	assert.match(
		(await cli(["status", runId], box)).stdout,
		/message from task:a \(\d\d:\d\d:\d\d\): the old parser is gone/,
	);
	// Each task message is logged on its recipient and delivered once.
	const thread = (id: string) =>
		status.tasks.find((t) => t.id === id)?.messages?.map((m) => [m.from, m.mode, m.text, m.delivered]);
	assert.deepEqual(thread("b"), [["task:a", "message", "b: the parser moved to src/parse.ts", true]]);
	assert.deepEqual(thread("c"), [["task:a", "message", "c: use the new parser", true]]);
	// A task that has ended is refused, and its sender told why.
	assert.deepEqual(thread("a"), [["task:c", "message", "thanks", false]]);

	// The running task got it as a follow-up: its last answer answers the message.
	const b = await cli(["result", runId, "b"], box);
	assert.match(b.stdout, /b heard: A message from task a[\s\S]*b: the parser moved to src\/parse\.ts/);
	// The task not started yet found it in its prompt.
	const c = await cli(["result", runId, "c"], box);
	assert.match(c.stdout, /^c: task a has ended \(succeeded\): it takes no messages;/m);
	assert.match(c.stdout, /## Messages from other tasks[\s\S]*A message from task a[\s\S]*c: use the new parser/);
	// The sender was told what happened to each message; the unknown task was refused, saying which ones exist.
	const a = (await cli(["transcript", runId, "a"], box)).stdout;
	assert.match(a, /delivered to task b, which is running/);
	assert.match(a, /queued for task c, which has not started/);
	assert.match(a, /sent to the lead/);
	assert.match(
		(await cli(["result", runId, "a"], box)).stdout,
		/a done: .*no task "nope" in this run: send to one of its tasks \(b, c\) or to lead/,
	);

	// The log: each message once, before its delivery; the events listing shows the thread.
	const events: CrewEvent[] = await runEvents(join(box.repo, ".crew", "runs", runId));
	const said = events.filter((e) => e.type === "task.message" || e.type === "run.message");
	assert.deepEqual(
		said.map((e) => [e.type, e.taskId ?? "lead"]),
		[
			["task.message", "b"],
			["task.message", "c"],
			["run.message", "lead"],
			["task.message", "a"],
		],
	);
	const listing = (await cli(["events", runId], box)).stdout;
	assert.match(listing, /task\.message +b +task:a → b: b: the parser moved to src\/parse\.ts/);
	assert.match(listing, /run\.message +task:a → lead: the old parser is gone/);
});
