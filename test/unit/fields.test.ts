/**
 * The agent, team and step fields where they are pure: which model a task runs on, how a model error is classified,
 * what the log records of a task so a resume runs what was planned, and the team's cap on concurrency.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runSettings } from "../../src/api/index.js";
import type { EffectiveConfig } from "../../src/config/resolve.js";
import { type PlannedTask, plannedPayload, plannedTask, taskModels, taskSkills } from "../../src/engine/plan.js";
import type { AgentDef } from "../../src/resources/schema.js";
import { foldEvents } from "../../src/store/fold.js";
import { isProviderOutage, isRateLimitError, PiStreamReader } from "../../src/workers/pi-stream.js";
import { eventBuilder, fixtures } from "../support/index.js";

const agent = (fields: Partial<AgentDef> = {}): AgentDef => ({
	name: "a",
	description: "d",
	prompt: "p",
	source: { file: "f", scope: "user", lineOf: () => undefined },
	...fields,
});

test("a task's models: --model alone; else step > role (both as the task's model) > agent > default; then fallbacks", () => {
	const fallbacks = agent({ model: "x/agent", fallbackModels: ["x/one", "x/agent", "x/two", "x/one"] });
	assert.deepEqual(taskModels({ model: "x/forced", defaultModel: "x/d" }, { agent: fallbacks, model: "x/step" }), [
		"x/forced",
	]);
	assert.deepEqual(taskModels({ defaultModel: "x/d" }, { agent: fallbacks, model: "x/step" }), [
		"x/step",
		"x/one",
		"x/agent",
		"x/two",
	]);
	assert.deepEqual(taskModels({ defaultModel: "x/d" }, { agent: fallbacks }), ["x/agent", "x/one", "x/two"]);
	assert.deepEqual(taskModels({ defaultModel: "x/d" }, { agent: agent() }), ["x/d"]);
	assert.deepEqual(taskModels({}, { agent: agent() }), [undefined], "pi's own default");
	// On a scenario, only the scripted model's: a real model named by a resource is passed over.
	const mixed = agent({ model: "anthropic/claude", fallbackModels: ["openai/gpt", "crew-scripted/fast"] });
	assert.deepEqual(taskModels({ defaultModel: "crew-scripted/scripted", scenario: "/s.yaml" }, { agent: mixed }), [
		"crew-scripted/scripted",
		"crew-scripted/fast",
	]);
});

test("skills: none named keeps pi's discovery; the agent's and the step's together, once each", () => {
	assert.equal(taskSkills({ agent: agent() }), undefined);
	assert.deepEqual(taskSkills({ agent: agent({ skills: [] }) }), []);
	assert.deepEqual(taskSkills({ agent: agent({ skills: ["a", "b"] }), skills: ["b", "c"] }), ["a", "b", "c"]);
});

test("outages are told from rate limits and other model errors, from the model's error only", () => {
	for (const outage of [
		"503 Service Unavailable",
		'529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
		"HTTP 502 Bad Gateway",
		"status: 500 internal server error",
		"Connection error.",
		"fetch failed",
		"request to https://api.example.com/v1 failed, reason: getaddrinfo ENOTFOUND api.example.com",
		"read ECONNRESET",
		"socket hang up",
	])
		assert.ok(isProviderOutage(outage) && !isRateLimitError(outage), outage);
	for (const other of [
		"400 Bad Request: invalid model",
		"401 invalid x-api-key",
		"prompt is too long: 210000 tokens > 200000 maximum",
		"error at src/x.ts:503:12",
		"request id 5003 rejected",
	])
		assert.ok(!isProviderOutage(other) && !isRateLimitError(other), other);
	const reader = new PiStreamReader();
	reader.push(
		JSON.stringify({
			type: "message_end",
			message: { role: "assistant", stopReason: "error", errorMessage: "503 Service Unavailable" },
		}),
	);
	assert.deepEqual(reader.outcome(), {
		kind: "provider_unavailable",
		detail: "model error: 503 Service Unavailable",
		retryable: true,
	});
});

test("task.planned records a task's model, skills, verify and reads, and its agent's fallbacks and skills", () => {
	const planned: PlannedTask = {
		id: "t",
		role: "r",
		agent: agent({ fallbackModels: ["x/one"], skills: ["s1"], thinking: "high", maxTurns: 3 }),
		dependsOn: ["d"],
		template: "go",
		output: "t",
		model: "x/step",
		skills: ["s2"],
		verify: { command: "npm test", scope: "project" },
		reads: ["e"],
	};
	const ev = eventBuilder();
	const state = foldEvents([
		ev("run.created", fixtures.created),
		ev("task.planned", fixtures.planned(), "d"),
		ev("task.planned", fixtures.planned(), "e"),
		ev("task.planned", plannedPayload(planned), "t"),
	]);
	assert.ok(state);
	const plan = { team: "t", workflow: "w", autoRetry: false, roles: new Map(), tasks: [] };
	const resumed = plannedTask(state, plan, "t");
	const { source: _, ...recorded } = resumed.agent;
	assert.deepEqual(recorded, {
		name: "a",
		description: "d",
		prompt: "p",
		thinking: "high",
		maxTurns: 3,
		fallbackModels: ["x/one"],
		skills: ["s1"],
	});
	assert.deepEqual(
		{ model: resumed.model, skills: resumed.skills, verify: resumed.verify, reads: resumed.reads },
		{ model: "x/step", skills: ["s2"], verify: { command: "npm test", scope: "project" }, reads: ["e"] },
	);
});

test("a team's maxConcurrency lowers the run's concurrency and never raises it", () => {
	const config = { concurrency: 4, runtime: "child", budget: {}, tools: { deny: [] } } as unknown as EffectiveConfig;
	const settings = (concurrency: number | undefined, maxConcurrency: number | undefined) =>
		runSettings({ team: "t", goal: "g", concurrency }, config, { autoRetry: false, maxConcurrency }, undefined)
			.concurrency;
	assert.equal(settings(undefined, 2), 2);
	assert.equal(settings(undefined, 8), 4);
	assert.equal(settings(1, 3), 1);
	assert.equal(settings(6, undefined), 6);
});
