/** Correlation ids across async work and in the log, and the metric name filters. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { EventLogWriter, readEventLog } from "../../src/store/event-log.js";
import { correlatedLine, eventCorrelationId, withCorrelation } from "../../src/util/correlation.js";
import { globMatch } from "../../src/util/glob.js";
import { fixtures } from "../support/fixtures.js";
import { sandbox } from "../support/index.js";

test("correlation ids follow async work, stay apart between parallel tasks, and stamp events and log lines", async () => {
	const seen: string[] = [];
	const task = (taskId: string, delay: number) =>
		withCorrelation({ runId: "r1", taskId, span: "2" }, async () => {
			await new Promise((resolve) => setTimeout(resolve, delay));
			seen.push(correlatedLine(`done ${taskId}`));
			return eventCorrelationId("r1", taskId);
		});
	assert.deepEqual(await Promise.all([task("a", 20), task("b", 5)]), ["r1:a:2", "r1:b:2"]);
	assert.deepEqual(seen, ["[r1:b:2] done b", "[r1:a:2] done a"]);
	assert.equal(correlatedLine("outside"), "outside");
	assert.equal(eventCorrelationId("r1", "t"), "r1:t:0", "a task event outside any span: its scheduling span");
	withCorrelation({ runId: "r1", span: "3" }, () => {
		assert.equal(eventCorrelationId("r1", undefined), "r1:-:3");
		assert.equal(eventCorrelationId("r1", "t"), "r1:t:0");
		assert.equal(eventCorrelationId("other", undefined), "other:-:1");
	});

	const box = await sandbox();
	const file = join(box.dir, "events.jsonl");
	const log = await EventLogWriter.create(file, "r1");
	await withCorrelation({ runId: "r1", span: "1" }, () => log.append("run.created", fixtures.created));
	await withCorrelation({ runId: "r1", taskId: "t", span: "4" }, () =>
		log.append("task.planned", { role: "x", agent: "x", dependsOn: [], template: "t", output: "o" }, "t"),
	);
	await log.close();
	const events = (await readEventLog(file)).events;
	assert.deepEqual(
		events.map((e) => e.cid),
		["r1:-:1", "r1:t:4"],
	);
});

test("metric name filters: `*` wildcards, everything else literal, linear whatever the pattern", () => {
	const cases: [string, string, boolean][] = [
		["crew.task.*", "crew.task.count", true],
		["crew.task.*", "crew.run.count", false],
		["*count", "crew.run.count", true],
		["crew.*.duration_ms", "crew.task.duration_ms", true],
		["crew.run.count", "crew.run.count", true],
		["crew.run.coun", "crew.run.count", false],
		["crew.run.*.x", "crew.run.count", false],
		["crew.run..", "crew.run.xx", false], // `.` is literal, not a regex
		["*", "", true],
		["", "x", false],
	];
	for (const [glob, name, expected] of cases) assert.equal(globMatch(glob, name), expected, `${glob} ~ ${name}`);
	// Exponential for a backtracking regex (`.*` × 40 against 60 characters that fail at the end).
	assert.equal(globMatch(`${"*a".repeat(40)}x`, "a".repeat(60)), false);
});
