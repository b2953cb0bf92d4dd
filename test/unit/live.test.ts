import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ownerMark } from "../../src/config/owner.js";
import { LiveRuns } from "../../src/extension/live.js";
import { Notifier } from "../../src/extension/notifier.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import { acquireLease } from "../../src/store/lease.js";
import { createRunDir } from "../../src/store/run-store.js";
import { eventBuilder, fixtures, tempDir } from "../support/index.js";

test("the notifier: one notice per kind per run per minute, a silenced kind never, a run's end always", () => {
	const sent: [string, string][] = [];
	let now = 0;
	const notifier = new Notifier(
		(text, severity) => sent.push([severity, text]),
		new Set(["rateLimit"]),
		() => now,
	);
	const ev = eventBuilder();
	const state = {
		runId: "r",
		team: "t",
		createdAt: new Date(0).toISOString(),
		endedAt: new Date(65_000).toISOString(),
		usage: { total: 1500 },
	} as never;
	notifier.onEvent(ev("task.heartbeat", { level: "stale", silentMs: 61_000 }, "a"), state);
	notifier.onEvent(ev("task.heartbeat", { level: "dead", silentMs: 300_000 }, "b"), state);
	notifier.onEvent(ev("task.heartbeat", { level: "healthy", silentMs: 0 }, "a"), state);
	notifier.onEvent(ev("run.throttled", { reason: "429", delayMs: 1000, until: "x" }), state);
	now = 61_000;
	notifier.onEvent(ev("task.heartbeat", { level: "dead", silentMs: 300_000 }, "b"), state);
	notifier.onEvent(ev("task.deadlettered", { reason: "heartbeat-dead", detail: "d" }, "b"), state);
	notifier.onEvent(ev("run.finished", { status: "failed", reason: "b failed", summaryPath: "s" }), state);
	notifier.onEvent(
		ev("run.finished", { status: "failed", reason: "budget-exceeded: 9 of 8 tasks", summaryPath: "s" }),
		state,
	);
	assert.deepEqual(sent, [
		["warning", "pi-crew: task a of run r (t): heartbeat stale (no output for 1m 01s)"],
		["error", "pi-crew: task b of run r (t): heartbeat dead (no output for 5m 00s)"],
		["warning", "pi-crew: task b of run r (t) dead-lettered (heartbeat-dead); requeue: pi-crew deadletter requeue r"],
		["error", "pi-crew: run r (t) failed: b failed; /team-status r"],
		["warning", "pi-crew: run r (t) stopped: budget-exceeded: 9 of 8 tasks"],
	]);
});

test("the notifier: a task's message to the lead is told, each different one, inert; the same again within a minute is not", () => {
	const sent: [string, string][] = [];
	const notifier = new Notifier(
		(text, severity) => sent.push([severity, text]),
		new Set(),
		() => 0,
	);
	const ev = eventBuilder();
	const state = { runId: "r", team: "t" } as never;
	notifier.onEvent(ev("run.message", { from: "task:a", text: "the old parser is gone" }), state);
	notifier.onEvent(ev("run.message", { from: "task:a", text: "the old parser is gone" }), state);
	notifier.onEvent(ev("run.message", { from: "task:b", text: "tests\x1b]52;c;eA==\x07 pass" }), state);
	assert.deepEqual(sent, [
		["info", "pi-crew: task:a of run r (t) says: the old parser is gone"],
		["info", "pi-crew: task:b of run r (t) says: tests\\u001b]52;c;eA==\\u0007 pass"],
	]);
	const silenced = new Notifier(
		() => assert.fail("silenced"),
		new Set(["message"]),
		() => 0,
	);
	silenced.onEvent(ev("run.message", { from: "task:a", text: "hello" }), state);
});

// This file's runs are marked as made by this user, under a key of its own (never the real crew home).
process.env.PI_CREW_HOME = mkdtempSync(join(tmpdir(), "pi-crew-live-home-"));
after(() => rmSync(process.env.PI_CREW_HOME ?? "", { recursive: true, force: true }));

/** A repository with a run whose coordinator is this process: its lease is held, its log written by hand. */
async function liveRun(repo: string, runId: string, foreign = false) {
	const paths = await createRunDir(repo, runId);
	const lease = await acquireLease(paths.lease);
	const log = await EventLogWriter.create(paths.events, runId);
	const owner = await ownerMark(runId, foreign ? mkdtempSync(join(tmpdir(), "pi-crew-other-")) : undefined);
	await log.append("run.created", { ...fixtures.created, team: "pair", owner });
	await log.append("task.planned", fixtures.planned(), "a");
	await log.append("run.started", { pid: process.pid });
	await log.append("task.started", { attempt: 1, promptPath: "p" }, "a");
	return {
		log,
		async finish() {
			await log.append("task.succeeded", { resultPath: "r", chars: 1 }, "a");
			await log.append("run.finished", { status: "succeeded", summaryPath: "s" });
			await log.close();
			await lease.release();
		},
	};
}

test("the live view finds a run started elsewhere, shows its board and footer, notifies its end, and clears after", async () => {
	const repo = await tempDir("pi-crew-live-");
	let now = Date.now();
	const widgets: (string[] | undefined)[] = [];
	const statuses: (string | undefined)[] = [];
	const notices: string[] = [];
	const ui = {
		setWidget: (_key: string, content: unknown) => widgets.push(content as string[] | undefined),
		setStatus: (_key: string, text: string | undefined) => statuses.push(text),
	};
	const live = new LiveRuns(repo, ui, new Notifier((text) => notices.push(text)), false, () => now);
	// A run that ended before the session looked is not shown, and not notified.
	const old = await liveRun(repo, "run-old");
	await old.finish();
	await live.tick();
	assert.deepEqual(widgets, []);

	const run = await liveRun(repo, "run-new");
	now += 1000; // the next scan is due
	await live.tick();
	assert.match(widgets.at(-1)?.[0] ?? "", /^pi-crew pair · run-new · running 0\/1 · /);
	assert.match(widgets.at(-1)?.[1] ?? "", /^ {2}▶ a +r +[\d.]+m?s +thinking/);
	assert.equal(statuses.at(-1), "crew: 1 run · 1 working · 0/1 done");
	await run.log.append("task.tool", { tool: "bash", phase: "start", summary: "npm test" }, "a");
	await live.tick();
	assert.match(widgets.at(-1)?.[1] ?? "", /bash npm test/, "the board follows the log at the next poll");
	const sentBefore = widgets.length;
	await live.tick();
	assert.equal(widgets.length, sentBefore, "an unchanged frame is not sent again");

	await run.finish();
	await live.tick();
	assert.deepEqual(notices, [notices[0]]);
	assert.match(notices[0] ?? "", /^pi-crew: run run-new \(pair\) succeeded in /);
	assert.equal(statuses.at(-1), undefined, "nothing runs: the footer is clear");
	assert.match(widgets.at(-1)?.[0] ?? "", /succeeded 1\/1/, "a finished run stays a moment");
	now += 5000;
	await live.tick();
	assert.equal(widgets.at(-1), undefined, "then the board goes");
	now += 1000;
	await live.tick();
	assert.equal(widgets.at(-1), undefined, "and a finished run is not found again");
	live.stop();
});

test("a run not created here (committed with the repository) is never shown as live, nor notified", async () => {
	const repo = await tempDir("pi-crew-live-");
	const widgets: unknown[] = [];
	const notices: string[] = [];
	const ui = { setWidget: (_k: string, c: unknown) => widgets.push(c), setStatus: () => undefined };
	const live = new LiveRuns(repo, ui, new Notifier((text) => notices.push(text)), false);
	await liveRun(repo, "run-planted", true);
	await live.tick();
	await live.tick();
	assert.deepEqual(widgets, []);
	assert.deepEqual(notices, []);
});

test("a run this session started is notified from its first event, even when it ended before the first poll", async () => {
	const repo = await tempDir("pi-crew-live-");
	const notices: string[] = [];
	const ui = { setWidget: () => undefined, setStatus: () => undefined };
	const live = new LiveRuns(repo, ui, new Notifier((text) => notices.push(text)), false);
	const quick = await liveRun(repo, "run-quick");
	await quick.finish();
	live.track("run-quick");
	await live.tick();
	assert.equal(notices.length, 1);
	assert.match(notices[0] ?? "", /^pi-crew: run run-quick \(pair\) succeeded/);
});
