/** Pure lifecycle policies: retry delays, heartbeat levels and the watcher, the control channel, reopening in the fold. */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { type ControlCommand, ControlInbox, controlDir, sendControl } from "../../src/engine/control.js";
import { retryDelay } from "../../src/engine/retry.js";
import { HeartbeatWatcher, heartbeatLevel } from "../../src/engine/watcher.js";
import { foldEvents } from "../../src/store/fold.js";
import { eventBuilder, fixtures, interruptedRun, tempDir } from "../support/index.js";

test("retry delay: backoff × factor^(n-1), jitter within ± the ratio, from the injected random", () => {
	const policy = { maxAttempts: 3, backoffMs: 1000, factor: 2, jitter: 0.3 };
	assert.equal(
		retryDelay(policy, 1, () => 0.5),
		1000,
	);
	assert.equal(
		retryDelay(policy, 2, () => 0.5),
		2000,
	);
	assert.equal(
		retryDelay(policy, 3, () => 0.5),
		4000,
	);
	assert.equal(
		retryDelay(policy, 1, () => 0),
		700,
	);
	assert.equal(
		retryDelay(policy, 1, () => 0.999999),
		1300,
	);
});

test("heartbeat gradient: healthy < warn < stale < dead at the thresholds", () => {
	const p = { warnMs: 30_000, staleMs: 60_000, deadMs: 300_000, pollMs: 5000, deadTicks: 3 };
	assert.deepEqual(
		[0, 29_999, 30_000, 59_999, 60_000, 299_999, 300_000].map((ms) => heartbeatLevel(ms, p)),
		["healthy", "healthy", "warn", "warn", "stale", "stale", "dead"],
	);
});

test("the watcher reports each level change once and kills after deadTicks consecutive dead polls", () => {
	let now = 0;
	const changes: string[] = [];
	const kills: number[] = [];
	const w = new HeartbeatWatcher(
		{ warnMs: 10, staleMs: 20, deadMs: 30, pollMs: 1, deadTicks: 3 },
		(id, level) => changes.push(`${id}:${level}`),
		() => now,
	);
	w.track("t", (silent) => kills.push(silent));
	for (now = 0; now <= 34; now += 1) w.tick();
	assert.deepEqual(changes, ["t:warn", "t:stale", "t:dead"]);
	assert.deepEqual(kills, [32], "killed on the third dead poll, once");
	w.beat("t");
	w.tick();
	assert.deepEqual(changes.at(-1), "t:healthy", "a beat brings it back");
	w.untrack("t");
	now += 100;
	w.tick();
	assert.equal(changes.length, 4, "untracked tasks are not watched");
});

/** A run directory of a fresh repository, for the control channel. */
async function controlledRun() {
	const { createRunDir } = await import("../../src/store/run-store.js");
	return createRunDir(await tempDir("pi-crew-control-"), "run-1");
}

test("control commands are delivered once, in order; junk is dropped", async () => {
	const dir = await controlledRun();
	await sendControl(dir, { type: "cancel", from: "first" });
	await sendControl(dir, { type: "cancel", from: "second" });
	const { writeFile } = await import("node:fs/promises");
	// A command file (by its name) that does not parse is dropped.
	await writeFile(join(controlDir(dir.dir), "9999-00000000-00000000-0000-0000-0000-000000000000.json"), "{not json");
	const got: ControlCommand[] = [];
	const inbox = new ControlInbox(dir, async (c) => {
		got.push(c);
	});
	await inbox.poll();
	await inbox.poll();
	assert.deepEqual(
		got.map((c) => c.from),
		["first", "second"],
	);
	assert.deepEqual(await readdir(controlDir(dir.dir)), []);
});

test("retry keeps a task running with every attempt recorded; resume and requeue reopen explicitly", () => {
	const ev = eventBuilder();
	const state = foldEvents([
		ev("run.created", fixtures.created),
		ev("task.planned", fixtures.planned(), "a"),
		ev("task.planned", fixtures.planned(["a"]), "b"),
		ev("run.started", { pid: 1 }),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.retrying", { attempt: 1, reason: "crash", delayMs: 10 }, "a"),
		ev("task.started", { attempt: 2, promptPath: "p" }, "a"),
		ev("task.failed", { reason: "crash again" }, "a"),
		ev("task.deadlettered", { reason: "max-retries", detail: "crash again" }, "a"),
		ev("task.skipped", { reason: 'dependency "a" failed' }, "b"),
		ev("run.finished", { status: "failed", summaryPath: "s" }),
		ev("run.resumed", { pid: 2, reopened: ["a", "b"] }),
		ev("task.started", { attempt: 3, promptPath: "p" }, "a"),
		ev("task.succeeded", { resultPath: "r", chars: 1 }, "a"),
	]);
	assert.ok(state);
	assert.deepEqual(state.anomalies, []);
	const a = state.tasks.get("a");
	assert.equal(a?.status, "succeeded");
	assert.deepEqual(
		a?.attempts.map((x) => [x.attempt, x.reason]),
		[
			[1, "crash"],
			[2, "crash again"],
			[3, undefined],
		],
	);
	assert.equal(a?.deadLetter, undefined, "a reopened task leaves the dead-letter queue");
	assert.equal(state.tasks.get("b")?.status, "pending");
	assert.equal(state.status, "running");
	assert.equal(state.resumes, 1);
	assert.equal(
		state.activeSince,
		new Date(1_700_000_000_000 + 12 * 1000).toISOString(),
		"wall budgets count from the resume",
	);
});

test("a task that is not awaiting a retry cannot be started twice", () => {
	const ev = eventBuilder();
	const state = foldEvents([
		ev("run.created", fixtures.created),
		ev("task.planned", fixtures.planned(), "a"),
		ev("task.started", { attempt: 1, promptPath: "p" }, "a"),
		ev("task.started", { attempt: 2, promptPath: "p" }, "a"),
		ev("task.requeued", { reason: "x" }, "a"),
	]);
	assert.equal(state?.tasks.get("a")?.attempt, 1);
	assert.deepEqual(state?.anomalies, [
		"seq 4: task a cannot go running -> running",
		"seq 5: cannot requeue task a (running)",
	]);
});

test("interrupted runs are found by their dead lease holder; a live coordinator's run is never reported", async () => {
	const { acquireLease } = await import("../../src/store/lease.js");
	const { findInterrupted } = await import("../../src/api/lifecycle.js");
	const { mkdir, rm } = await import("node:fs/promises");
	const repo = await tempDir("pi-crew-interrupted-");
	await mkdir(join(repo, ".git"));
	await interruptedRun(repo, "run-dead");
	await interruptedRun(repo, "run-elsewhere", { host: "another-host" });
	const live = await interruptedRun(repo, "run-live");
	await rm(live.lease);
	const lease = await acquireLease(live.lease);
	assert.deepEqual(
		(await findInterrupted(repo)).map((v) => v.state.runId),
		["run-dead"],
	);
	await lease.release();
});

test("the rate-limit gate grows one step per closure, not per rate-limited task, and is capped", async () => {
	const { RateGate, MAX_GATE_MS } = await import("../../src/engine/context.js");
	let now = 0;
	let throttledUntil: string | undefined;
	const log = {
		append: async (_type: string, data: { until: string }) => {
			throttledUntil = data.until;
		},
	};
	const state = () => ({ throttledUntil }) as never;
	const gate = new RateGate(
		(hit) => 1000 * 2 ** (hit - 1),
		log as never,
		state,
		() => now,
	);
	assert.equal(await gate.close("429"), 1000);
	assert.equal(await gate.close("429"), 1000, "a second 429 while closed keeps the same opening time");
	now = 1500;
	assert.equal(await gate.close("429"), 2000, "closed again after it opened: one step more");
	now = 10_000;
	gate.opened();
	assert.equal(await gate.close("429"), 1000, "a success starts the backoff over");
	const huge = new RateGate(
		() => 10 ** 12,
		log as never,
		state,
		() => now,
	);
	now = 10 ** 7;
	assert.equal(await huge.close("429"), MAX_GATE_MS);
});

test("commands left for an earlier coordinator are cleared; one sent to this coordinator early is kept", async () => {
	const dir = await controlledRun();
	const since = 1_700_000_000_000;
	await sendControl(dir, { type: "cancel", from: "for the previous coordinator" }, () => since - 1);
	const got: ControlCommand[] = [];
	const inbox = new ControlInbox(dir, async (c) => {
		got.push(c);
	});
	await sendControl(dir, { type: "cancel", from: "for this coordinator, sent early" }, () => since);
	await inbox.clearBefore(since);
	await inbox.poll();
	assert.deepEqual(
		got.map((c) => c.from),
		["for this coordinator, sent early"],
	);
});

test("one unreadable run does not hide the others from list", async () => {
	const { EventLogWriter } = await import("../../src/store/event-log.js");
	const { createRunDir } = await import("../../src/store/run-store.js");
	const { listRuns } = await import("../../src/api/index.js");
	const { mkdir, writeFile } = await import("node:fs/promises");
	const repo = await tempDir("pi-crew-list-");
	await mkdir(join(repo, ".git"));
	const good = await createRunDir(repo, "run-good");
	const log = await EventLogWriter.create(good.events, "run-good");
	await log.append("run.created", fixtures.created);
	await log.close();
	const bad = await createRunDir(repo, "run-bad");
	await writeFile(
		bad.events,
		`${JSON.stringify({ v: 1, seq: 1, ts: "t", runId: "run-bad", type: "run.started", data: { pid: 1 } })}\n`,
	);
	const { runs, broken } = await listRuns(repo);
	assert.deepEqual(
		runs.map((r) => r.state.runId),
		["run-good"],
	);
	assert.deepEqual(
		broken.map((b) => b.runId),
		["run-bad"],
	);
	assert.match(broken[0]?.error ?? "", /must start with run.created/);
});

test("the control inbox reads and deletes only its own regular files, never through a link", async () => {
	const { mkdir, symlink, writeFile } = await import("node:fs/promises");
	const { existsSync } = await import("node:fs");
	const outside = await tempDir("pi-crew-outside-");
	const victim = join(outside, "1-00000000-00000000-0000-0000-0000-000000000000.json");
	await writeFile(victim, JSON.stringify({ type: "cancel", from: "x" }));
	const got: ControlCommand[] = [];
	// A run whose control directory is a link to somewhere else: nothing there is read or deleted.
	const linked = await controlledRun();
	await symlink(outside, controlDir(linked.dir));
	const { LinkError } = await import("../../src/util/safe-fs.js");
	await assert.rejects(sendControl(linked, { type: "cancel", from: "x" }), LinkError, "nothing is sent through it");
	const viaLink = new ControlInbox(linked, async (c) => {
		got.push(c);
	});
	await viaLink.poll();
	await viaLink.clearBefore(Number.MAX_SAFE_INTEGER);
	assert.ok(existsSync(victim));
	// A real control directory holding a link and a stray file: only a real command file is taken.
	const run = await controlledRun();
	await mkdir(controlDir(run.dir));
	await symlink(victim, join(controlDir(run.dir), "2-00000000-00000000-0000-0000-0000-000000000000.json"));
	await writeFile(join(controlDir(run.dir), "notes.json"), JSON.stringify({ type: "cancel", from: "stray" }));
	await sendControl(run, { type: "cancel", from: "real" }, () => 3);
	await new ControlInbox(run, async (c) => {
		got.push(c);
	}).poll();
	assert.deepEqual(
		got.map((c) => c.from),
		["real"],
	);
	assert.ok(existsSync(victim), "the link's target is still there");
	assert.ok(existsSync(join(controlDir(run.dir), "notes.json")), "a file the inbox did not write is left alone");
});

test("status without an id is the latest run by creation time, past run directories that hold no run", async () => {
	const { EventLogWriter } = await import("../../src/store/event-log.js");
	const { createRunDir } = await import("../../src/store/run-store.js");
	const { runStatus } = await import("../../src/api/index.js");
	const { mkdir } = await import("node:fs/promises");
	const repo = await tempDir("pi-crew-latest-");
	await mkdir(join(repo, ".git"));
	const run = async (id: string, createdAt: string) => {
		const paths = await createRunDir(repo, id);
		const log = await EventLogWriter.create(paths.events, id, { now: () => new Date(createdAt) });
		await log.append("run.created", fixtures.created);
		await log.close();
	};
	await run("20260101-000000-aaaaaa", "2026-01-01T00:00:00.100Z");
	// Two runs of one second: ids do not order them, their creation times do.
	await run("20260102-000000-cccccc", "2026-01-02T00:00:00.100Z");
	await run("20260102-000000-bbbbbb", "2026-01-02T00:00:00.900Z");
	// The newest directory holds no run (a start that failed before its first event).
	await createRunDir(repo, "20260103-000000-dddddd");
	assert.equal((await runStatus(repo)).state.runId, "20260102-000000-bbbbbb");
});

test("cancel stops a live run whose log reads tampered: the command goes out, the wait ends when its coordinator lets go", async () => {
	const { acquireLease } = await import("../../src/store/lease.js");
	const { cancel } = await import("../../src/api/lifecycle.js");
	const { loadRun } = await import("../../src/store/run-store.js");
	const { mkdir, readFile, rm, writeFile } = await import("node:fs/promises");
	const repo = await tempDir("pi-crew-cancel-tampered-");
	await mkdir(join(repo, ".git"));
	const paths = await interruptedRun(repo, "run-live");
	const log = await readFile(paths.events, "utf8");
	await writeFile(paths.events, log.replace('"pid":1', '"pid":2')); // a worker's edit of its run's log
	await rm(paths.lease);
	const lease = await acquireLease(paths.lease); // this process is the run's live coordinator
	assert.equal((await loadRun(repo, "run-live")).integrity, "tampered");
	const got: ControlCommand[] = [];
	const inbox = new ControlInbox(paths, async (c) => {
		got.push(c);
		await lease.release(); // the coordinator stops and lets go of the run
	});
	let settled = false;
	const cancelled = cancel(repo, "run-live").finally(() => {
		settled = true;
	});
	while (got.length === 0 && !settled) {
		await inbox.poll();
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	const result = await cancelled;
	assert.equal(got[0]?.type, "cancel");
	assert.equal(result.outcome, "cancelled");
});

test("a run that ends between a reader's poll of the log and its look at the lease reads as ended, not interrupted", async () => {
	const { acquireLease } = await import("../../src/store/lease.js");
	const { RunTail } = await import("../../src/store/run-store.js");
	const { EventLogWriter } = await import("../../src/store/event-log.js");
	const { mkdir, rm } = await import("node:fs/promises");
	const repo = await tempDir("pi-crew-ending-");
	await mkdir(join(repo, ".git"));
	const paths = await interruptedRun(repo, "run-ending");
	await rm(paths.lease);
	const lease = await acquireLease(paths.lease);
	const tail = new RunTail(repo, "run-ending");
	await tail.poll();
	assert.equal((await tail.view()).status, "running");
	// The coordinator's last steps, as it ends: its final event, then it lets the lease go.
	const log = await EventLogWriter.resume(paths.events, "run-ending", { home: process.env.PI_CREW_HOME });
	await log.append("run.finished", { status: "succeeded", summaryPath: "artifacts/summary.md" });
	await log.close();
	await lease.release();
	const seen: string[] = [];
	const view = await tail.view((e) => seen.push(e.type));
	assert.equal(view.status, "succeeded");
	assert.deepEqual(seen, ["run.finished"]);
});
