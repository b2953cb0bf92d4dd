/**
 * Golden logs: event logs written by this version of pi-crew, kept as they are. Every later version must read them
 * to the same state, so resuming or inspecting an old run never silently changes meaning.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { readEventLog } from "../../src/store/event-log.js";
import { foldEvents } from "../../src/store/fold.js";
import { ROOT } from "../support/index.js";

async function golden(name: string) {
	const read = await readEventLog(join(ROOT, "test", "golden", name));
	assert.deepEqual([...read.errors, ...read.warnings], [], name);
	const state = foldEvents(read.events);
	assert.ok(state);
	assert.deepEqual(state.anomalies, [], name);
	return state;
}

test("v1: retry succeeds on attempt 2, retries exhausted dead-letter, dependents skipped", async () => {
	const state = await golden("v1-retry-deadletter.jsonl");
	assert.equal(state.status, "failed");
	assert.deepEqual(
		[...state.tasks.values()].map((t) => [t.id, t.status, t.attempts.length, t.deadLetter]),
		[
			["flaky", "succeeded", 2, undefined],
			["doomed", "failed", 2, "max-retries"],
			["after", "skipped", 0, undefined],
		],
	);
	assert.match(state.tasks.get("flaky")?.attempts[0]?.reason ?? "", /worker exited with code 70/);
	assert.equal(state.settings.retry?.maxAttempts, 2);
});

test("v1: an adaptive plan added tasks and rewired the review", async () => {
	const state = await golden("v1-adaptive.jsonl");
	assert.equal(state.status, "succeeded");
	const added = [...state.tasks.values()].filter((t) => t.from === "plan").map((t) => t.id);
	assert.deepEqual(added, ["step-1"]);
	assert.deepEqual(state.tasks.get("review")?.dependsOn, ["plan", "step-1"]);
	assert.equal(state.tasks.get("plan")?.adaptive, true);
});
