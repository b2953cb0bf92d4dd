import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import stringWidth from "string-width";
import type { CrewEvent, RunState } from "../../src/store/events.js";
import { foldEvents } from "../../src/store/fold.js";
import { fit, renderBoard } from "../../src/view/board.js";
import { NOTABLE, TaskTally } from "../../src/view/tally.js";
import { eventBuilder, fixtures, ROOT } from "../support/index.js";

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

test("the board shows a failed tool call as failed, and pi's own retry of a model call as retrying (n)", () => {
	const ev = eventBuilder();
	const state = foldEvents([
		ev("run.created", { ...fixtures.created, team: "t" }),
		ev("task.planned", fixtures.planned(), "a"),
		ev("task.planned", fixtures.planned(), "b"),
		ev("run.started", { pid: 1 }),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "b"),
		ev("task.tool", { tool: "bash", phase: "start", summary: "npm test" }, "a"),
		ev("task.tool", { tool: "bash", phase: "end", summary: "npm test", isError: true, exitCode: 1 }, "a"),
		ev("task.model_retry", { phase: "start", attempt: 2, maxAttempts: 3, delayMs: 4000, error: "429" }, "b"),
	]);
	assert.ok(state);
	const lines = renderBoard({ state, status: "running" }, { now: 1_700_000_010_000, width: 120 }).map((l) => l.text);
	assert.match(lines[1] ?? "", /^ {2}▶ a +r +\S+ +thinking \(\S+\) · ✗ bash npm test \(exit 1\)$/);
	assert.match(lines[2] ?? "", /^ {2}▶ b +r +\S+ +retrying \(2\) \(\S+\)$/);
});

test("a live run whose log does not verify reads tampered on the board, not its folded status", () => {
	const { state, now } = midRun();
	const [head] = renderBoard({ state, status: "running", integrity: "tampered" }, { now, width: 120 });
	assert.equal(head?.text, "pi-crew diamond · r · tampered 1/4 · 15.5s · 2.5k tok · $0.01");
	assert.equal(head?.tone, "error");
});

test("every line fits widths from 60 to 200 columns, control characters included", () => {
	const { state, now } = midRun();
	const b = state.tasks.get("b");
	if (b?.activity) b.activity.summary = `x\ny\tz${"é".repeat(300)}`;
	if (b?.activity) b.activity.summary = `中文的命令 🙂 ${b.activity.summary}`;
	for (const width of [60, 80, 120, 200])
		for (const line of renderBoard({ state, status: "running" }, { now, width })) {
			// Terminal columns, not characters: a CJK character or an emoji takes two.
			assert.ok(stringWidth(line.text) <= width, `${width}: ${line.text}`);
			assert.doesNotMatch(line.text, /[\n\t]/);
		}
	assert.equal(fit("abcdef", 4), "abc…");
});

/** A diamond caught mid-way, as docs/ui.md shows it: map done, api in a bash call, tests thinking, verify waiting. */
function diamond(): { state: RunState; now: number } {
	let seq = 0;
	const ev = (type: string, data: unknown, taskId?: string) => {
		seq++;
		const ts = new Date(1_700_000_000_000 + seq * 1000).toISOString();
		return { v: 1, seq, ts, runId: "20261130-091500-4be2c1", type, data, taskId } as CrewEvent;
	};
	const planned = (deps: string[], role: string) => ({ ...fixtures.planned(deps), role, agent: role });
	const usage = (total: number, cost: number) => ({
		input: total,
		output: 0,
		cacheRead: 0,
		cacheWrite: 0,
		total,
		cost,
	});
	const events = [
		ev("run.created", { ...fixtures.created, team: "diamond" }),
		ev("task.planned", planned([], "explorer"), "map"),
		ev("task.planned", planned(["map"], "executor"), "api"),
		ev("task.planned", planned(["map"], "test-engineer"), "tests"),
		ev("task.planned", planned(["api", "tests"], "verifier"), "verify"),
		ev("run.started", { pid: 1 }),
		ev("task.started", { attempt: 1, promptPath: "p" }, "map"),
		ev("task.usage", usage(2400, 0.0071), "map"),
		ev("task.succeeded", { resultPath: "r", chars: 1 }, "map"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "api"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "tests"),
		ev("task.tool", { tool: "bash", phase: "start", summary: "npm test -- src/api" }, "api"),
		ev("task.usage", usage(3900, 0.0144), "tests"),
	];
	const state = foldEvents(events);
	assert.ok(state);
	return { state, now: 1_700_000_000_000 + events.length * 1000 + 6200 };
}

/** docs/ui.md shows the board as it is drawn; `UPDATE_UI_DOCS=1` writes the captures afresh. */
test("the board captures in docs/ui.md are what the board draws", async () => {
	const { state, now } = diamond();
	const draw = (width: number, compact = false) =>
		renderBoard({ state, status: "running" }, { now, width, compact }).map((l) => l.text.trimEnd());
	const captures = { "board-compact": draw(100, true), "board-full": draw(100), "board-narrow": draw(60) };
	const file = join(ROOT, "docs", "ui.md");
	let doc = await readFile(file, "utf8");
	for (const [name, lines] of Object.entries(captures)) {
		const block = new RegExp(`(<!-- capture: ${name} -->\\n\`{4}text\\n)[^]*?(\`{4})`);
		assert.match(doc, block, `docs/ui.md has a capture block for ${name}`);
		doc = doc.replace(
			block,
			(_all, open: string, close: string) => `${open}${lines.map((l) => `${l}\n`).join("")}${close}`,
		);
	}
	if (process.env.UPDATE_UI_DOCS === "1") await writeFile(file, doc);
	else assert.equal(await readFile(file, "utf8"), doc, "docs/ui.md is stale: run the unit tests with UPDATE_UI_DOCS=1");
});

test("the tally kept event by event is the count of the fold, through a question, a failure, a requeue, a loop round and a resume", () => {
	const ev = eventBuilder();
	const events = [
		ev("run.created", { ...fixtures.created, team: "t" }),
		ev("task.planned", fixtures.planned(), "a"),
		ev("task.planned", fixtures.planned(["a"]), "b"),
		ev("task.planned", fixtures.planned(["b"]), "c"),
		ev("run.started", { pid: 1 }),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.asked", { id: "q1", text: "which one?" }, "a"),
		ev("task.answered", { id: "q1", text: "this", from: "user" }, "a"),
		ev("task.failed", { reason: "model error" }, "a"),
		ev("task.requeued", { reason: "requeued" }, "a"),
		ev("task.started", { attempt: 2, promptPath: "p" }, "a"),
		ev("task.succeeded", { resultPath: "r", chars: 1 }, "a"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "b"),
		ev("task.succeeded", { resultPath: "r", chars: 1 }, "b"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "c"),
		ev("task.looped", { round: 2, to: "b", reopened: ["b", "c"], finding: "not yet" }, "c"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "b"),
		ev("task.failed", { reason: "died" }, "b"),
		ev("run.finished", { status: "failed", summaryPath: "s" }),
		ev("run.resumed", { pid: 2, reopened: ["b"] }),
		ev("task.started", { attempt: 2, promptPath: "p" }, "b"),
		ev("task.asked", { id: "q2", text: "sure?" }, "b"),
	];
	const kept = new TaskTally();
	const state = foldEvents(events, (e, s) => {
		kept.observe(e, s);
		const fresh = TaskTally.of(s);
		for (const status of ["pending", "running", "waiting", "succeeded", "failed"] as const)
			assert.equal(kept.count(status), fresh.count(status), `${status} after seq ${e.seq} (${e.type})`);
		for (const status of NOTABLE) assert.deepEqual([...kept.ids(status)].sort(), [...fresh.ids(status)].sort());
		assert.deepEqual([...kept.conflicts()].sort(), [...fresh.conflicts()].sort());
	});
	assert.deepEqual(state?.anomalies, []);
	assert.deepEqual([...kept.ids("waiting")], ["b"]);
	assert.equal(kept.count("succeeded"), 1);
	assert.equal(kept.count("pending"), 1);
});
