/**
 * Questions and plan approval in pi: a task's question on the live board answered with `/team-respond`, the approval
 * overlay (`/team-approve`) rejecting with feedback typed in it then approving with a planned task dropped, and the
 * team tool's `respond` action called by a session's agent. Real pi (tmux, or headless) and real workers on the
 * scripted model.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { approvalTeam, plannerSays } from "../support/approval.js";
import { askPi, cli, hasTool, type RunJson, SCRIPTED, sandbox, tmuxPi, waitForRunLog } from "../support/index.js";
import { askedRun, eventsOf } from "../support/questions.js";

/** The screen, appended to a failed wait's message. */
const showing = (screen: () => string) => (err: Error) => {
	throw new Error(`${err.message}; the screen:\n${screen()}`);
};

test("a task's question shows on the live board with how to answer; /team-respond answers it and the run succeeds", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	const pi = await tmuxPi(t, box, { x: 140, y: 40 });
	const runId = await askedRun(box, []);
	const board = await pi
		.until("the question on the board", (s) => s.includes(`answer: /team-respond ${runId} decide <answer>`))
		.catch(showing(pi.screen));
	assert.match(board, /\? decide +asker .*asks \(\S+\): Keep the v1 or the v2 API\? \[v1 \| v2\]/);
	// (No notice is asserted here: the run asks before this session may have seen it, and a session notifies only
	// what happens after it first sees a run. The notice's text: test/unit/waits.test.ts.)
	// Completion as the words are typed: the run with a task that asks, its asking task, then the question's choices.
	const editor = (text: string) => (s: string) => s.split("\n").some((l) => l.trimEnd() === text);
	pi.keys("-l", "/team-respond ");
	await pi.until("the run offered", (s) => s.includes("ask: decide waiting")).catch(showing(pi.screen));
	pi.keys("Enter");
	await pi.until("the run id taken", editor(`/team-respond ${runId}`)).catch(showing(pi.screen));
	pi.keys("-l", "d");
	await pi.until("the task offered", (s) => /^\W*decide\s+Keep the v1/m.test(s)).catch(showing(pi.screen));
	pi.keys("Enter");
	await pi.until("the task id taken", editor(`/team-respond ${runId} decide`)).catch(showing(pi.screen));
	pi.keys("-l", "v");
	await pi
		.until("the choices offered", (s) => /^\W*v1\s*$/m.test(s) && /^\W*v2\s*$/m.test(s))
		.catch(showing(pi.screen));
	pi.keys("Escape");
	// Cleared once no editor line holds what was typed (on a busy machine a key may land before the menu closes).
	await pi
		.until("the editor cleared", (s) => {
			const typed = s.split("\n").some((l) => /^v?\/team-respond|^v$/.test(l.trimEnd()));
			if (typed) pi.keys("End", "C-u");
			return !typed;
		})
		.catch(showing(pi.screen));
	pi.keys("-l", `/team-respond ${runId} decide v3`);
	pi.keys("Enter");
	await pi.until("the refusal", (s) => s.includes('"v3" is not one of the choices: v1, v2')).catch(showing(pi.screen));
	pi.keys("-l", `/team-respond ${runId} decide V2`);
	// Enter may first take the completion offered for "V2" (v2), then send the command.
	await pi
		.until(
			"the answer delivered",
			(s) => {
				if (/^\/team-respond /m.test(s)) pi.keys("Enter");
				return s.includes(`pi-crew: answered decide of run ${runId}: v2`);
			},
			30_000,
		)
		.catch(showing(pi.screen));
	await cli(["status", runId, "--follow"], box);
	assert.equal((JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson).status, "succeeded");
	assert.match((await cli(["result", runId, "decide"], box)).stdout, /decided: v2/);
	assert.deepEqual(
		(await eventsOf(box, runId, "task.answered")).map((e) => e.data.text),
		["v2"],
		"answered once, with the choice as written",
	);
});

const planned = (head: string) => JSON.stringify(plannerSays(head));

test("the approval overlay: a rejection typed in it is revised in the same session, then approved with a task dropped", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	await approvalTeam(box, "planned", [{ id: "plan", role: "planner", adaptive: true, approval: true }], ["explorer"]);
	const file = await box.write(
		"scenario.yaml",
		`planner:\n  - say: ${planned("DRAFT heard=[{message}]")}\nexplorer:\n  - say: "{task} done"\n`,
	);
	const pi = await tmuxPi(t, box, { x: 140, y: 40 });
	const started = await cli(
		["run", "planned", "ship it", "--model", SCRIPTED, "--scenario", file, "--runtime", "inprocess", "--background"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	await waitForRunLog(box, "the plan to wait for approval", '"task.awaiting_approval"');
	pi.keys("-l", `/team-approve ${runId}`);
	// Enter may first take the completion offered for the run id (on a busy machine), then send the command.
	const typed = (s: string) => s.split("\n").some((l) => l.trimEnd() === `/team-approve ${runId}`);
	let pressed = 0;
	const first = await pi
		.until("the overlay with the plan", (s) => {
			// At most once a second: a key sent while the screen lags would reach the overlay.
			if (typed(s) && !s.includes("pi-crew approval ·") && Date.now() - pressed > 1000) {
				pressed = Date.now();
				pi.keys("Enter");
			}
			return s.includes("DRAFT heard=[") && s.includes("planned tasks: 3 of 3 to run");
		})
		.catch(showing(pi.screen));
	assert.match(first, new RegExp(`pi-crew approval · run ${runId} · task plan · round 1`));
	assert.match(first, /› \[x\] run +keep \(explorer\): look here/);
	assert.match(first, /\[x\] run +sum \(explorer\) after keep, skip: sum up/);
	pi.keys("r");
	await pi.until("the feedback field", (s) => s.includes("(enter send · esc cancel)")).catch(showing(pi.screen));
	pi.keys("-l", "also look at the tests");
	pi.keys("Enter");
	const second = await pi
		.until(
			"round 2 in the overlay",
			(s) => s.includes("round 2") && s.includes("heard=[Your answer was not approved"),
			60_000,
		)
		.catch(showing(pi.screen));
	assert.match(second, /Feedback:\s+also look at the tests/);
	pi.keys("j");
	pi.keys("Space");
	await pi.until("skip dropped", (s) => /› \[ \] drop +skip/.test(s)).catch(showing(pi.screen));
	assert.match(pi.screen(), /planned tasks: 2 of 3 to run/);
	pi.keys("a");
	await pi
		.until("the approval", (s) => s.includes("approved plan without skip: the run goes on"), 30_000)
		.catch(showing(pi.screen));
	pi.keys("Escape");
	await cli(["status", runId, "--follow"], box);
	const done = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
	assert.equal(done.status, "succeeded");
	assert.deepEqual(done.tasks.map((x) => x.id).sort(), ["keep", "plan", "sum"], "the dropped task never ran");
	assert.deepEqual(
		(await eventsOf(box, runId, "task.rejected")).map((e) => e.data.feedback),
		["also look at the tests"],
	);
});

test("the team tool's respond action answers a task's question from a session's agent; what a call lacks", async () => {
	const box = await sandbox();
	const runId = await askedRun(box, []);
	const calls = [
		{ action: "respond", runId, taskId: "decide" },
		{ action: "respond", runId, taskId: "decide", answer: "v3" },
		{ action: "respond", runId, taskId: "decide", answer: "v2" },
		{ action: "respond", runId, taskId: "decide", answer: "v1" },
	];
	const script = calls.map((args) => `  - tool: team\n    args: ${JSON.stringify(args)}`).join("\n");
	const parent = await box.write("parent.yaml", `default:\n${script}\n  - say: "done"\n`);
	const asked = await askPi(box, parent, "answer the team", "json");
	assert.equal(asked.code, 0, asked.stderr);
	assert.deepEqual(asked.toolResults.slice(0, 3), [
		"team respond needs `taskId` and `answer`.",
		'"v3" is not one of the choices: v1, v2',
		`answered decide of run ${runId}: v2`,
	]);
	assert.match(asked.toolResults[3] ?? "", /^task decide of run \S+ is not waiting for an answer/);
	await cli(["status", runId, "--follow"], box);
	assert.match((await cli(["result", runId, "decide"], box)).stdout, /decided: v2/);
});

test("the team tool's approve action: a rejection with feedback, then an approval that drops a planned task", async () => {
	const box = await sandbox();
	await approvalTeam(box, "planned", [{ id: "plan", role: "planner", adaptive: true, approval: true }], ["explorer"]);
	const file = await box.write(
		"scenario.yaml",
		`planner:\n  - say: ${planned("DRAFT heard=[{message}]")}\nexplorer:\n  - say: "{task} done"\n`,
	);
	const started = await cli(
		["run", "planned", "ship it", "--model", SCRIPTED, "--scenario", file, "--runtime", "inprocess", "--background"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	await waitForRunLog(box, "the plan to wait for approval", '"task.awaiting_approval"');
	const call = async (args: object) => {
		const parent = await box.write(
			"parent.yaml",
			`default:\n  - tool: team\n    args: ${JSON.stringify(args)}\n  - say: "done"\n`,
		);
		const asked = await askPi(box, parent, "approve the plan", "json");
		assert.equal(asked.code, 0, asked.stderr);
		return asked.toolResults[0] ?? "";
	};
	assert.equal(
		await call({ action: "approve", runId, reject: "also look at the tests" }),
		`rejected plan of run ${runId}: its worker revises its answer with the feedback`,
	);
	await waitForRunLog(box, "the second round", '"task.awaiting_approval"', 2);
	assert.match(await call({ action: "approve", runId, drop: ["nope"] }), /--drop: nope not in the plan of plan/);
	assert.equal(
		await call({ action: "approve", runId, taskId: "plan", drop: ["skip"] }),
		`approved plan of run ${runId} (dropped: skip): the run goes on`,
	);
	await cli(["status", runId, "--follow"], box);
	const done = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
	assert.equal(done.status, "succeeded");
	assert.deepEqual(done.tasks.map((x) => x.id).sort(), ["keep", "plan", "sum"]);
});
