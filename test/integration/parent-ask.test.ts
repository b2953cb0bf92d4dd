/**
 * A question reaches the pi session that started the run: the question (with how to answer) is in its context, and
 * the agent, under a profile that lets it act, answers with the team tool's `respond` action. Real pi in RPC mode on the scripted model.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { cli, type RunJson, sandbox } from "../support/index.js";
import { messageText, rpcSession } from "../support/parent.js";
import { askingTeam, eventsOf } from "../support/questions.js";

test("a background run's question is shown in the session that started it; the agent answers it with the team tool; the run succeeds", async (t: TestContext) => {
	const box = await sandbox();
	await askingTeam(box);
	// Each turn: the latest run's status (its id for {runId}), the answer, then what the answer did.
	const parent = await box.write(
		"../parent.yaml",
		`default:
  - tool: team
    args: { action: status }
  - tool: team
    args: { action: respond, runId: "{runId}", taskId: decide, answer: v2 }
  - say: "ANSWERED: {result}"
`,
	);
	const pi = rpcSession(t, box, { ...box.env, PI_CREW_SCENARIO: parent });
	await pi.send({ type: "prompt", message: "/team-run ask pick an API --bg --scenario scenario.yaml" });
	const runId = await pi.until("the run in the background", () =>
		pi
			.notices()
			.map((n) => /^pi-crew: run (\S+) \(team ask\) continues in the background$/.exec(n)?.[1])
			.find(Boolean),
	);
	// The user started the run: the question is shown in the session (no turn of its own); the user's next prompt
	// has the agent answer it.
	await pi.until("the question in the session", () =>
		pi.messages().find((m) => m.customType === "pi-crew-wake" && m.details?.taskId === "decide"),
	);
	assert.equal(pi.messages().filter((m) => m.role === "assistant").length, 0, "no turn nobody asked for");
	await pi.send({ type: "prompt", message: "answer the team's question: v2" });
	const answered = await pi.until("the agent's answer", () =>
		pi
			.messages()
			.filter((m) => m.role === "assistant")
			.map(messageText)
			.find((text) => text.startsWith("ANSWERED:")),
	);
	assert.equal(answered, `ANSWERED: answered decide of run ${runId}: v2`);
	const wake = pi.messages().find((m) => m.customType === "pi-crew-wake" && m.details?.taskId === "decide");
	const woken = wake ? messageText(wake) : "";
	assert.match(woken, new RegExp(`^pi-crew: task decide of run ${runId} \\(team ask\\) asks a question`));
	assert.match(woken, /Keep the v1 or the v2 API\?\nchoices: v1 \| v2\ndefault: v1/);
	assert.match(woken, new RegExp(`The user answers it: /team-respond ${runId} decide <answer>\\.$`));
	await cli(["status", runId, "--follow"], box);
	const done = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
	assert.equal(done.status, "succeeded");
	assert.match((await cli(["result", runId, "decide"], box)).stdout, /decided: v2/);
	assert.deepEqual(
		(await eventsOf(box, runId, "task.answered")).map((e) => [e.data.text, String(e.data.from).startsWith("pi-crew")]),
		[["v2", true]],
		"answered once",
	);
});
