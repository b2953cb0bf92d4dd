/**
 * Each loop round is visible (issue 25 §1): the round on each task event of the log, `execute ×3` on the board, the
 * graph and the task pane (with the finding and the verdict), `status` and `--json` (`rounds`), summary.md and the
 * `crew.loop.rounds` metric, all read from a run written through the real log writer.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { runJson } from "../../src/api/run-json.js";
import { loopRounds } from "../../src/engine/rounds.js";
import { renderSummary } from "../../src/engine/summary.js";
import { loadTui } from "../../src/host.js";
import { exposition } from "../../src/observability/prometheus.js";
import { replayRuns } from "../../src/observability/replay.js";
import { EventLogWriter, readEventLog } from "../../src/store/event-log.js";
import { foldEvents } from "../../src/store/fold.js";
import { loadRun, runPaths } from "../../src/store/run-store.js";
import { renderBoard } from "../../src/view/board.js";
import { eventsPane, graphPane } from "../../src/view/panes.js";
import { RunProjection } from "../../src/view/projection.js";
import { progressLine, renderRun } from "../../src/view/render.js";
import { TaskDetail } from "../../src/view/task-detail.js";
import { textKit } from "../../src/view/text.js";
import { eventBuilder, fixtures, tempDir } from "../support/index.js";
import { LOOP_NOW, LOOP_RUN, loopedRun, SECOND_FINDING } from "../support/loop-log.js";

async function loopRepo(): Promise<string> {
	const repo = await tempDir("pi-crew-loops-");
	await mkdir(join(repo, ".git"));
	await loopedRun(repo);
	return repo;
}

test("each event of a task in a later loop round carries the round in the log, also after the writer resumes", async () => {
	const repo = await loopRepo();
	const file = runPaths(repo, LOOP_RUN).events;
	const resumed = await EventLogWriter.resume(file, LOOP_RUN);
	await resumed.append("task.heartbeat", { level: "healthy", silentMs: 0 }, "verify");
	await resumed.append("run.alert", { kind: "deadletter-rate", message: "4 tasks dead-lettered" });
	await resumed.close();
	const read = await readEventLog(file);
	assert.deepEqual([...read.errors, ...read.warnings], []);
	const shown = read.events.filter((e) => e.taskId).map((e) => `${e.type} ${e.taskId}${e.round ? ` r${e.round}` : ""}`);
	assert.deepEqual(shown.slice(2), [
		"task.started execute",
		"task.succeeded execute",
		"task.started verify",
		"task.verdict verify",
		"task.looped verify", // the end of verify's first round
		"task.started execute r2",
		"task.succeeded execute r2",
		"task.started verify r2",
		"task.verdict verify r2",
		"task.looped verify r2",
		"task.started execute r3",
		"task.succeeded execute r3",
		"task.started verify r3",
		"task.heartbeat verify r3", // written by the resumed writer
	]);
	assert.equal(read.events.at(-1)?.round, undefined, "a run's own event has no round");
	assert.equal(foldEvents(read.events)?.tasks.get("execute")?.round, 3);
});

test("the log reader accepts an event's round of 2 or more on a task event and refuses any other", async () => {
	const dir = await tempDir("pi-crew-round-");
	const file = join(dir, "events.jsonl");
	const line = (seq: number, event: object) =>
		JSON.stringify({ v: 1, seq, ts: "2026-12-07T10:00:00.000Z", runId: "r", ...event });
	const lines = [
		line(1, { type: "run.created", data: fixtures.created }),
		line(2, { taskId: "a", round: 2, type: "task.planned", data: fixtures.planned() }),
		line(3, { taskId: "a", round: 1, type: "task.planned", data: fixtures.planned() }),
		line(4, { taskId: "a", round: "2", type: "task.planned", data: fixtures.planned() }),
		line(5, { round: 2, type: "run.started", data: { pid: 1 } }),
	];
	await writeFile(file, `${lines.join("\n")}\n`);
	const read = await readEventLog(file);
	assert.deepEqual(
		read.events.map((e) => [e.seq, e.round]),
		[
			[1, undefined],
			[2, 2],
		],
	);
	assert.deepEqual(
		read.errors.map((p) => [p.line, p.message]),
		[
			[3, "corrupt line: round 1 (a task event's loop round, an integer of 2 or more)"],
			[4, 'corrupt line: round "2" (a task event\'s loop round, an integer of 2 or more)'],
			[5, "corrupt line: round 2 (a task event's loop round, an integer of 2 or more)"],
		],
	);
});

test("the board, the graph and the events name a task in a later round; its pane says the round, finding and verdict", async () => {
	const repo = await loopRepo();
	const run = new RunProjection(repo, LOOP_RUN);
	await run.refresh();
	const view = run.view;
	assert.ok(view);
	const board = renderBoard(view, { now: LOOP_NOW, width: 100 }).map((l) => l.text);
	assert.match(board[1] ?? "", /^ {2}✓ execute ×3 +executor /);
	assert.match(board[2] ?? "", /^ {2}▶ verify ×3 +verifier /);
	const graph = graphPane(run, LOOP_NOW);
	assert.match(graph.row(0, false).text, /^ {2}✓ execute ×3 +succeeded +3 att /, "its round, then its attempts");
	assert.match(graph.row(1, false).text, /^ {4}▶ verify ×3 +running/);
	const events = eventsPane(
		run,
		run.events.map((_, i) => i),
		"",
	);
	const rows = run.events.map((_, i) => events.row(i, false).text);
	assert.equal(rows.filter((r) => /task\.started +execute r3 /.test(r)).length, 1, rows.join("\n"));

	const kit = textKit(await loadTui());
	const pane = async (id: string) => {
		const detail = new TaskDetail(run, id, kit);
		await detail.poll();
		return detail.lines(100, LOOP_NOW).map((l) => l.text);
	};
	const execute = await pane("execute");
	assert.match(execute[0] ?? "", /^execute ×3 · executor/);
	const from = execute.findIndex((l) => l.includes("loop, round 3 of 3 (verify loops back to execute)"));
	assert.ok(from > 0, execute.join("\n"));
	assert.deepEqual(execute.slice(from + 1, from + 3), ["sent back with:", SECOND_FINDING]);
	const verify = await pane("verify");
	const at = verify.findIndex((l) => l.includes("loop, round 3 of 3"));
	assert.deepEqual(verify.slice(at + 1, at + 3), ["latest verdict (command): not clean", SECOND_FINDING]);
});

test("status shows each round, --json has each task's round and verdict and the run's rounds, summary.md too", async () => {
	const repo = await loopRepo();
	const view = await loadRun(repo, LOOP_RUN);
	const json = runJson(view);
	assert.deepEqual(json.rounds, [{ step: "verify", to: "execute", round: 3, max: 3, lastFinding: SECOND_FINDING }]);
	const [execute, verify] = json.tasks;
	assert.equal(execute?.round, 3);
	assert.equal(execute?.finding, SECOND_FINDING);
	assert.deepEqual(
		verify?.verdict,
		{ clean: false, findings: SECOND_FINDING, by: "command", seq: 13 },
		"seq: its event",
	);

	const text = renderRun(view, LOOP_NOW);
	assert.match(text, /\n {2}✓ execute ×3 +executor/);
	assert.match(text, /\n {6}round 3 of 3: sent back with: npm test: test\/date\.test\.ts:30 leap years still fail\n/);
	assert.match(text, /\n {8}round 3 of 3\n {8}verdict \(command\): not clean: npm test: test\/date\.test\.ts:30/);

	assert.match(
		renderSummary(view.state, "succeeded"),
		/\n- Loop verify → execute: 3 of at most 3 rounds; last finding: npm test: test\/date\.test\.ts:30 leap years still fail\n/,
	);
});

test("progress lines (`status --follow`) say each verdict and each round sent back", async () => {
	const repo = await loopRepo();
	const lines: string[] = [];
	await loadRun(repo, LOOP_RUN, (e, state) => {
		const line = progressLine(e, state);
		if (line && /verdict|again/.test(line)) lines.push(line);
	});
	assert.deepEqual(lines, [
		"10:00:10 ✗ verify verdict (command): not clean: npm test: test/date.test.ts:12 expected 2, got 1",
		"10:00:10 ↺ verify not clean: execute, verify run again (round 2 of 3): npm test: test/date.test.ts:12 expected 2, got 1",
		"10:00:20 ✗ verify verdict (command): not clean: npm test: test/date.test.ts:30 leap years still fail",
		"10:00:20 ↺ verify not clean: execute, verify run again (round 3 of 3): npm test: test/date.test.ts:30 leap years still fail",
	]);
});

test("a loop never sent back is in round 1 with no finding; a run without loops has no rounds", () => {
	const ev = eventBuilder();
	const loop = { to: "a", until: "verify" as const, max: 2 };
	const state = foldEvents([
		ev("run.created", fixtures.created),
		ev("task.planned", fixtures.planned(), "a"),
		ev("task.planned", { ...fixtures.planned(["a"]), loop }, "b"),
		ev("run.started", { pid: 1 }),
		ev("task.started", { attempt: 1, promptPath: "p" }, "b"),
		ev("task.verdict", { clean: true, findings: "", by: "agent" }, "b"),
	]);
	assert.ok(state);
	assert.deepEqual(loopRounds(state), [{ step: "b", to: "a", round: 1, max: 2 }]);
	assert.doesNotMatch(renderSummary(state, "running"), /Loop/);
	const view = {
		state,
		status: "running" as const,
		problems: [],
		paths: { dir: "/r" } as never,
		integrity: "verified" as const,
	};
	assert.equal(runJson(view).tasks[0]?.round, undefined);
	assert.match(renderRun(view), /\n {8}verdict \(agent\): clean\n/);
	const plain = foldEvents([ev("run.created", fixtures.created)]);
	assert.ok(plain);
	assert.equal(runJson({ ...view, state: plain }).rounds, undefined);
});

test("crew.loop.rounds counts the rounds started, by workflow and loop step, replayed from the log", async () => {
	const repo = await loopRepo();
	const replay = await replayRuns(repo);
	const snap = replay.metrics.registry.snapshot(LOOP_NOW);
	const m = snap.find((s) => s.name === "crew.loop.rounds");
	assert.ok(m?.type === "counter");
	assert.deepEqual(
		m.series.map((s) => [s.labels, s.value]),
		[[{ workflow: "default", step: "verify" }, 2]],
	);
	const { body } = await exposition(snap);
	assert.match(body, /^crew_loop_rounds_total\{workflow="default",step="verify"\} 2$/m);
});
