import assert from "node:assert/strict";
import { test } from "node:test";
import { foldEvents, type RunState } from "../../src/store/events.js";
import { fit, renderBoard } from "../../src/view/board.js";
import { eventBuilder, fixtures } from "../support/index.js";

/** A diamond run caught mid-way: a done, b running a tool, c thinking, d waiting for both; 2.5k tokens, $0.0123. */
function midRun(): { state: RunState; now: number } {
	const ev = eventBuilder();
	const events = [
		ev("run.created", { ...fixtures.created, team: "diamond" }),
		ev("task.planned", fixtures.planned(), "a"),
		ev("task.planned", fixtures.planned(["a"]), "b"),
		ev("task.planned", fixtures.planned(["a"]), "c"),
		ev("task.planned", fixtures.planned(["b", "c"]), "d"),
		ev("run.started", { pid: 1 }),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.succeeded", { resultPath: "r", chars: 1 }, "a"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "b"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "c"),
		ev("task.tool", { tool: "bash", phase: "start", summary: "npm test -- --grep 'a long pattern'" }, "b"),
		ev("task.usage", { input: 2000, output: 500, cacheRead: 0, cacheWrite: 0, total: 2500, cost: 0.0123 }, "c"),
	];
	const state = foldEvents(events);
	assert.ok(state);
	// The events are a second apart from 1_700_000_000_000; "now" is 4.5 s after the last one.
	return { state, now: 1_700_000_000_000 + events.length * 1000 + 4500 };
}

test("the board shows each task's state, elapsed time and what it is doing; the run's progress, tokens and cost", () => {
	const { state, now } = midRun();
	const lines = renderBoard({ state, status: "running" }, { now, width: 120 }).map((l) => l.text);
	assert.equal(lines[0], "pi-crew diamond · r · running 1/4 · 15.5s · 2.5k tok · $0.01");
	assert.match(lines[1] ?? "", /^ {2}✓ a +r +1\.0s$/);
	assert.match(lines[2] ?? "", /^ {2}▶ b +r +7\.5s +bash npm test -- --grep 'a long pattern' \(5\.5s\)$/);
	assert.match(lines[3] ?? "", /^ {2}▶ c +r +6\.5s +2\.5k tok {2}thinking \(6\.5s\)$/);
	assert.match(lines[4] ?? "", /^ {2}· d +r +- +waiting for b, c$/);
	const compact = renderBoard({ state, status: "running" }, { now, width: 120, compact: true }).map((l) => l.text);
	assert.deepEqual(
		compact.slice(1).map((l) => l.trim().slice(0, 3)),
		["▶ b", "▶ c", "1 d"],
	);
	assert.equal(compact.at(-1), "  1 done · 1 waiting");
});

test("every line fits widths from 60 to 200 columns, control characters included", () => {
	const { state, now } = midRun();
	const b = state.tasks.get("b");
	if (b?.activity) b.activity.summary = `x\ny\tz${"é".repeat(300)}`;
	for (const width of [60, 80, 120, 200])
		for (const line of renderBoard({ state, status: "running" }, { now, width })) {
			assert.ok([...line.text].length <= width, `${width}: ${line.text}`);
			assert.doesNotMatch(line.text, /[\n\t]/);
		}
	assert.equal(fit("abcdef", 4), "abc…");
});
