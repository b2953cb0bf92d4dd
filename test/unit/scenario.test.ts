/** Scenario files of the scripted model: parsing with located errors, per-call step selection, templates. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fillTemplate, parseScenario, planCall, ScenarioError, scriptFor } from "../../src/scripted/scenario.js";
import { goalSection, identityLine, parseGoal, parseIdentity } from "../../src/util/identity.js";

test("a scenario parses agents, tasks and default", () => {
	const s = parseScenario(
		'explorer:\n  - tool: ls\n    args: { path: "." }\n  - say: hi\n"task:b":\n  - fault: crash\n"task:b@2":\n  - say: fixed\ndefault:\n  - sleepMs: 5\n  - say: d\n',
		"s.yaml",
	);
	assert.deepEqual(scriptFor(s, "explorer", "a")[0], { kind: "tool", tool: "ls", args: { path: "." } });
	assert.deepEqual(scriptFor(s, "explorer", "b"), [{ kind: "fault", fault: "crash" }], "task: wins over the agent");
	assert.deepEqual(
		scriptFor(s, "explorer", "b", 2),
		[{ kind: "say", text: "fixed" }],
		"task:id@attempt wins over task:id",
	);
	assert.deepEqual(scriptFor(s, "explorer", "b", 3), [{ kind: "fault", fault: "crash" }]);
	assert.equal(scriptFor(s, "writer", "c").length, 2, "default for unnamed agents");
	const perPrompt = parseScenario('default:\n  - say: any\n"default#2":\n  - say: second\n', "s.yaml");
	assert.deepEqual(scriptFor(perPrompt, "default", undefined, 1, 1), [{ kind: "say", text: "any" }]);
	assert.deepEqual(scriptFor(perPrompt, "default", undefined, 1, 2), [{ kind: "say", text: "second" }], "#n wins");
	assert.deepEqual(scriptFor(perPrompt, "default", undefined, 1, 3), [{ kind: "say", text: "any" }]);
	assert.equal(scriptFor(undefined, "verifier", "c")[0]?.kind, "tool", "builtin agents have a default script");
	assert.deepEqual(scriptFor(undefined, "custom", "c"), [{ kind: "say", text: "{agent} finished: {goal}" }]);
});

test("every bad step is reported with file, line and field", () => {
	let error: ScenarioError | undefined;
	try {
		parseScenario("explorer:\n  - say: ok\n  - fault: explode\n  - say: a\n    sleepMs: 3\nwriter: nope\n", "s.yaml");
	} catch (err) {
		error = err as ScenarioError;
	}
	assert.ok(error instanceof ScenarioError);
	const byField = (a: unknown[], b: unknown[]) => String(a[1]).localeCompare(String(b[1]));
	assert.deepEqual(error.problems.map((p) => [p.line, p.field]).sort(byField), [
		[3, "explorer[1]"],
		[4, "explorer[2]"],
		[6, "writer"],
	]);
	assert.throws(() => parseScenario("a: [\n", "bad.yaml"), /bad\.yaml:\d+: invalid YAML/);
});

test("each model call takes the next step that is not a pause, with the pauses before it in order", () => {
	const steps =
		parseScenario("a:\n  - sleepMs: 10\n  - tool: ls\n  - sleepMs: 5\n  - waitFor: go.flag\n  - say: done\n", "s").get(
			"a",
		) ?? [];
	assert.deepEqual(planCall(steps, 0), {
		pauses: [{ kind: "sleep", ms: 10 }],
		step: { kind: "tool", tool: "ls", args: {} },
	});
	assert.deepEqual(planCall(steps, 1), {
		pauses: [
			{ kind: "sleep", ms: 5 },
			{ kind: "wait", file: "go.flag" },
		],
		step: { kind: "say", text: "done" },
	});
	assert.deepEqual(planCall(steps, 2), { pauses: [], exhausted: true, callIndex: 2 });
});

test("templates and the identity/goal markers round-trip", () => {
	assert.equal(
		fillTemplate("{agent}: {goal} -> {result} {other}", { agent: "x", goal: "g", result: "r" }),
		"x: g -> r {other}",
	);
	const who = { agent: "test-engineer", taskId: "step_2", attempt: 3 };
	assert.deepEqual(parseIdentity(`${identityLine(who)} more`), who);
	assert.equal(parseIdentity("You are a helpful assistant"), undefined);
	assert.equal(parseGoal(`${goalSection("fix the\nbug")}\n## Your task\n\nx`), "fix the\nbug");
	assert.equal(parseGoal("just a prompt"), "just a prompt");
});

test("the scripted model answers a context recorded from pi 1.6: system sections, images, thinking, tool results", async () => {
	const { readFile } = await import("node:fs/promises");
	const { normalizeContext } = await import("@earendil-works/pi-ai");
	const { scriptedProvider } = await import("../../src/scripted/extension.js");
	// Recorded with test/golden/record-pi-context.ts: a system message with sections (the identity line in one of
	// them), a user message with text and an image, an assistant turn with thinking and a tool call, an image result.
	const messages = JSON.parse(await readFile(new URL("../golden/pi-1.6.0-context.json", import.meta.url), "utf8"));
	const scenario = parseScenario(
		'explorer:\n  - tool: read\n    args: { path: x }\n  - say: "{agent}/{task}: {goal} <- {result}"\n',
		"s.yaml",
	);
	const provider = await scriptedProvider(scenario);
	const model = provider.getModels()[0];
	assert.ok(model);
	const answer = await provider.streamSimple(model, normalizeContext({ messages })).result();
	assert.equal(answer.stopReason, "stop", answer.errorMessage);
	assert.deepEqual(answer.content, [
		{ type: "text", text: "explorer/look: describe the pixel <- Read image file [image/png]" },
	]);
});

test("a tools step is several tool calls in one message; each is {tool, args}", () => {
	const s = parseScenario(
		"default:\n  - tools:\n      - { tool: ask, args: { question: q } }\n      - tool: ls\n",
		"s.yaml",
	);
	assert.deepEqual(scriptFor(s, "x", "a")[0], {
		kind: "tools",
		calls: [
			{ tool: "ask", args: { question: "q" } },
			{ tool: "ls", args: {} },
		],
	});
	assert.throws(() => parseScenario("default:\n  - tools: [ls]\n", "s.yaml"), /each of tools is \{tool, args\}/);
});
