/**
 * The pi session that starts a background run hears from it when the run ends (a run the user started: shown, no
 * turn); a session that ended gets nothing. Real pi in RPC mode on the scripted model.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { cli, projectTeam, type RunJson, sandbox, waitForRunLog } from "../support/index.js";
import { messageText, rpcSession } from "../support/parent.js";

test("a background run the user started tells the session that started it, once, with its id, status and summary, without a turn; an ended session gets nothing", async (t: TestContext) => {
	const box = await sandbox();
	await projectTeam(box, "solo", [{ id: "look", role: "explorer" }]);
	const hold = join(box.dir, "hold");
	await box.write("workers.yaml", `explorer:\n  - waitFor: ${JSON.stringify(hold)}\n  - say: looked\n`);
	// Were the session woken into a turn, its model would answer with what it got ({message}): none is expected.
	const parent = await box.write("../parent.yaml", 'default:\n  - say: "WOKE: {message}"\n');
	const pi = rpcSession(t, box, { ...box.env, PI_CREW_SCENARIO: parent });
	const startRun = async (goal: string) => {
		const before = pi.notices().length;
		await pi.send({ type: "prompt", message: `/team-run solo ${goal} --bg --scenario workers.yaml` });
		return pi.until("the run in the background", () =>
			pi
				.notices()
				.slice(before)
				.map((n) => /^pi-crew: run (\S+) \(team solo\) continues in the background$/.exec(n)?.[1])
				.find(Boolean),
		);
	};
	const wakes = () => pi.messages().filter((m) => m.customType === "pi-crew-wake");

	// Started here, then this session ends (a new one replaces it) before the run does.
	const first = await startRun("first");
	const renewed = pi.lines.length;
	await pi.send({ type: "new_session" });
	// The new session watches the run (its board shows it) before the run may end: on a busy machine pi's restart of
	// its extensions can take longer than the run.
	await pi.until("the new session's board of the first run", () =>
		pi.lines
			.slice(renewed)
			.find((l) => l.method === "setWidget" && JSON.stringify(l.widgetLines ?? null).includes(first)),
	);
	await writeFile(hold, "");
	await pi.until("the new session to see the first run end", () =>
		pi.notices().find((n) => n.startsWith(`pi-crew: run ${first} (solo) succeeded`)),
	);

	const second = await startRun("second");
	const woke = await pi.until("the wake-up of the second run", () => wakes().find((m) => m.details?.runId === second));
	const text = messageText(woke);
	assert.match(text, new RegExp(`^pi-crew: background run ${second} \\(team solo\\) succeeded\\.\n`));
	assert.match(text, new RegExp(`summary: \\S+/\\.crew/runs/${second}/artifacts/summary\\.md\n`));
	// The user started it (/team-run): shown to the session, the user follows it; the agent is not made to act.
	assert.match(text, new RegExp(`See /team-status ${second}\\.$`));
	// The board lingers a few seconds after the run: polled all that time, the end is still said once.
	const woken = pi.lines.findIndex(
		(l) => l.type === "message_end" && (l.message as { role: string }).role === "custom",
	);
	await pi.until("the board to clear", () =>
		pi.lines.slice(woken).find((l) => l.method === "setWidget" && l.widgetLines === undefined),
	);
	assert.deepEqual(
		wakes().map((m) => m.details?.runId),
		[second],
		"one wake-up, for the run of the session still going",
	);
	assert.equal(pi.messages().filter((m) => m.role === "assistant").length, 0, "no turn nobody asked for");
});

test("a background run the agent started wakes it into a turn when it ends (assisted)", async (t: TestContext) => {
	const box = await sandbox();
	await projectTeam(box, "solo", [{ id: "look", role: "explorer" }]);
	await box.write("workers.yaml", "explorer:\n  - say: looked\n");
	await box.write("../pi-agent/crew/config.yaml", "autonomy: assisted\n");
	// First prompt: the agent starts the team in the background. Its second prompt is the wake-up: it says what it got.
	const parent = await box.write(
		"../parent.yaml",
		`"default#1":
  - tool: team
    args: { action: run, team: solo, goal: "look around", scenario: workers.yaml, background: true }
  - say: "STARTED"
"default#2":
  - say: "WOKE: {message}"
`,
	);
	const pi = rpcSession(t, box, { ...box.env, PI_CREW_SCENARIO: parent });
	await pi.send({ type: "prompt", message: "run the solo team in the background" });
	const said = () =>
		pi
			.messages()
			.filter((m) => m.role === "assistant")
			.map(messageText)
			.filter(Boolean); // a tool call's message has no text
	const woke = await pi.until("the agent's turn on the wake-up", () => said().find((x) => x.startsWith("WOKE:")));
	const runId = /background run (\S+) \(team solo\) succeeded\./.exec(woke)?.[1];
	assert.ok(runId, woke);
	assert.match(woke, new RegExp(`team tool \\(action "summary", runId "${runId}"\\)`));
	assert.deepEqual(said(), ["STARTED", woke], "one turn of its own, on the wake-up");
});

test("/compact while a foreground run streams: pi 1.x ends the turn first (the run is cancelled), so the call is never cut from its result", async (t: TestContext) => {
	const box = await sandbox();
	await projectTeam(box, "solo", [{ id: "look", role: "explorer" }]);
	const hold = join(box.dir, "hold");
	await box.write("workers.yaml", `explorer:\n  - waitFor: ${JSON.stringify(hold)}\n  - say: looked\n`);
	const parent = await box.write(
		"../parent.yaml",
		'default:\n  - tool: team\n    args: { action: run, team: solo, goal: "hold on", scenario: workers.yaml }\n  - say: "DONE: {result}"\n',
	);
	// Little is kept verbatim, so there is something to compact right after the call.
	await box.write("../pi-agent/settings.json", JSON.stringify({ compaction: { keepRecentTokens: 50 } }));
	// pi's own cut, with a summary of our own: the scripted model would answer pi's summary request with its script.
	const summarizer = await box.write(
		"../summary.ts",
		'export default (pi: any) => pi.on("session_before_compact", (e: any) => ({ compaction: { summary: "(summary)", firstKeptEntryId: e.preparation.firstKeptEntryId, tokensBefore: e.preparation.tokensBefore } }));\n',
	);
	const pi = rpcSession(t, box, { ...box.env, PI_CREW_SCENARIO: parent }, ["-e", summarizer]);
	await pi.send({ type: "prompt", message: `start the team. ${"Some context for the session. ".repeat(200)}` });
	await waitForRunLog(box, "the run's task at work", '"task.started"');
	const compacted = await pi.send({ type: "compact" });
	assert.equal(compacted.success, true, JSON.stringify(compacted));

	// pi aborted the turn and waited for the call to return before it compacted: never a call in flight.
	const callEnded = pi.lines.findIndex((l) => l.type === "tool_execution_end" && l.toolName === "team");
	const started = pi.lines.findIndex((l) => l.type === "compaction_start");
	assert.ok(callEnded >= 0 && callEnded < started, "the call ended before compaction began");
	const { data } = (await pi.send({ type: "get_entries" })) as unknown as { data: { entries: Entry[] } };
	const entries = data.entries;
	const call = entries.findIndex((e) => e.message?.content.some?.((c) => c.type === "toolCall" && c.name === "team"));
	const callId = entries[call]?.message?.content.find((c) => c.type === "toolCall")?.id;
	assert.ok(callId);
	assert.equal(entries[call + 1]?.message?.role, "toolResult", "its result right after it");
	assert.equal(entries[call + 1]?.message?.toolCallId, callId);
	assert.match(JSON.stringify(entries[call + 1]?.message?.content), /cancelled/);
	const compaction = entries.findIndex((e) => e.type === "compaction");
	assert.ok(compaction > call + 1, "the compaction comes after both");
	assert.notEqual(entries[compaction]?.firstKeptEntryId, entries[call + 1]?.id, "the cut never falls between them");
	// The turn was aborted as by Esc: the foreground run it streamed is cancelled (a resume brings it back).
	const runId = await waitForRunLog(box, "the run's end", '"run.finished"');
	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
	assert.equal(status.status, "cancelled");
});

interface Entry {
	type: string;
	id: string;
	firstKeptEntryId?: string;
	message?: { role: string; toolCallId?: string; content: { type: string; id?: string; name?: string }[] };
}
