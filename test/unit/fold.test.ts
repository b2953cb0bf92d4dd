/** The fold: run and task state derived from events; terminal states never regress. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { shownStatus } from "../../src/store/events.js";
import { foldEvents } from "../../src/store/fold.js";
import { eventBuilder, fixtures } from "../support/index.js";

let ev = eventBuilder();
const base = () => {
	ev = eventBuilder();
	return [
		ev("run.created", fixtures.created),
		ev("task.planned", fixtures.planned(), "a"),
		ev("task.planned", fixtures.planned(["a"]), "b"),
		ev("run.started", { pid: 1 }),
	];
};

test("a run folds to its tasks' statuses, attempts, usage and times", () => {
	const state = foldEvents([
		...base(),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.tool", { tool: "bash", phase: "start" }, "a"),
		ev("task.usage", { input: 10, output: 5, cacheRead: 0, cacheWrite: 0, total: 15 }, "a"),
		ev("task.succeeded", { resultPath: "res", chars: 3 }, "a"),
		ev("task.skipped", { reason: "because" }, "b"),
		ev("run.finished", { status: "failed", reason: "x", summaryPath: "s" }),
	]);
	assert.ok(state);
	assert.equal(state.status, "failed");
	const a = state.tasks.get("a");
	assert.equal(a?.status, "succeeded");
	assert.equal(a?.attempt, 1);
	assert.equal(a?.toolCalls, 1);
	assert.equal(a?.usage.total, 15);
	assert.equal(state.usage.total, 15);
	assert.equal(Date.parse(a?.endedAt ?? "") - Date.parse(a?.startedAt ?? ""), 3000);
	assert.equal(state.tasks.get("b")?.reason, "because");
	assert.deepEqual(state.anomalies, []);
});

test("terminal task and run states never regress; the refused events are reported", () => {
	const state = foldEvents([
		...base(),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.succeeded", { resultPath: "res", chars: 3 }, "a"),
		ev("task.failed", { reason: "late" }, "a"),
		ev("task.started", { attempt: 2, promptPath: "p" }, "a"),
		ev("task.succeeded", { resultPath: "x", chars: 1 }, "b"),
		ev("task.failed", { reason: "?" }, "ghost"),
		ev("run.finished", { status: "succeeded", summaryPath: "s" }),
		ev("run.finished", { status: "failed", summaryPath: "s" }),
	]);
	assert.ok(state);
	assert.equal(state.tasks.get("a")?.status, "succeeded");
	assert.equal(state.tasks.get("a")?.attempt, 1);
	assert.equal(state.tasks.get("b")?.status, "pending", "pending cannot jump to succeeded");
	assert.equal(state.status, "succeeded");
	assert.equal(state.anomalies.length, 5, state.anomalies.join("\n"));
	assert.match(state.anomalies.join("\n"), /task a cannot go succeeded -> failed/);
	assert.match(state.anomalies.join("\n"), /unknown task "ghost"/);
});

test("a log must start with run.created", () => {
	ev = eventBuilder();
	assert.throws(() => foldEvents([ev("run.started", { pid: 1 })]), /must start with run.created/);
});

test("a question makes its task read waiting until the answer with its id; messages keep their delivery", () => {
	const state = foldEvents([
		...base(),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.message", { id: "m1", from: "pi-crew (pid 7)", text: "use the v2 API", mode: "steer" }, "a"),
		ev("task.steered", { delivered: true, chars: 14, message: "m1" }, "a"),
		ev("task.asked", { id: "q1", text: "drop the column?", choices: ["yes", "no"] }, "a"),
		ev("task.answered", { id: "q0", text: "yes", from: "x" }, "a"),
		ev("run.message", { from: "a", text: "found 3 callers" }),
	]);
	assert.ok(state);
	const a = state.tasks.get("a");
	assert.equal(a?.waiting?.kind, "question");
	assert.equal(shownStatus(a ?? { status: "pending" }), "waiting");
	assert.deepEqual(
		a?.messages?.map((m) => [m.id, m.text, m.delivered]),
		[["m1", "use the v2 API", true]],
	);
	assert.match(state.anomalies.join("\n"), /task.answered of task a for "q0", which it is not waiting for/);
	assert.deepEqual(
		state.messages.map((m) => m.text),
		["found 3 callers"],
	);
	const answered = foldEvents([
		...base(),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.asked", { id: "q1", text: "drop the column?" }, "a"),
		ev("task.answered", { id: "q1", text: "no", from: "cli" }, "a"),
	]);
	assert.equal(answered?.tasks.get("a")?.waiting, undefined);
	assert.equal(shownStatus(answered?.tasks.get("a") ?? { status: "pending" }), "running");
	assert.deepEqual(answered?.anomalies, []);
});

test("a refused steer that names no task of the run is an audit record, not an anomaly", () => {
	const refused = { delivered: false, chars: 5, from: "cli", reason: "no task is running" };
	const state = foldEvents([
		...base(),
		ev("task.steered", refused),
		ev("task.steered", refused, "ghost"),
		ev("task.steered", refused, "a"),
	]);
	assert.deepEqual(state?.anomalies, []);
});

test("a retry drops its attempt's question and a reopen its draft to approve; a reopen keeps a question", () => {
	const started = [...base(), ev("task.started", { attempt: 1, promptPath: "p" }, "a")];
	const retried = foldEvents([
		...started,
		ev("task.asked", { id: "q1", text: "drop the column?" }, "a"),
		ev("task.retrying", { attempt: 1, reason: "crashed", delayMs: 0 }, "a"),
	]);
	assert.equal(retried?.tasks.get("a")?.waiting, undefined);
	const approval = { id: "p1", round: 1, resultPath: "r" };
	const reopened = foldEvents([
		...started,
		ev("task.awaiting_approval", approval, "a"),
		ev("run.resumed", { pid: 2, reopened: ["a"] }),
	]);
	const a = reopened?.tasks.get("a");
	assert.equal(a?.status, "pending");
	assert.equal(a?.waiting, undefined);
	assert.equal(shownStatus(a ?? { status: "pending" }), "pending");
	const asked = foldEvents([
		...started,
		ev("task.asked", { id: "q1", text: "drop the column?" }, "a"),
		ev("run.resumed", { pid: 2, reopened: ["a"] }),
	]);
	assert.equal(asked?.tasks.get("a")?.waiting?.kind, "question");
});

test("a task's verdict is known by its event's seq: two equal verdicts are two verdicts", () => {
	const events = [
		...base(),
		ev("task.started", { attempt: 1, promptPath: "p" }, "b"),
		ev("task.verdict", { clean: false, findings: "x", by: "self" }, "b"),
	];
	const first = foldEvents(events)?.tasks.get("b")?.verdict;
	const again = ev("task.verdict", { clean: false, findings: "x", by: "self" }, "b");
	const second = foldEvents([...events, again])?.tasks.get("b")?.verdict;
	assert.equal(first?.seq, events.at(-1)?.seq);
	assert.equal(second?.seq, again.seq);
	assert.notEqual(first?.seq, second?.seq);
});
