/** Pure lifecycle policies: retry delays, heartbeat levels and the watcher, the control channel, reopening in the fold. */
import assert from "node:assert/strict";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type ControlCommand, ControlInbox, controlDir, sendControl } from "../../src/engine/control.js";
import { isRateLimit, retryDelay } from "../../src/engine/retry.js";
import { HeartbeatWatcher, heartbeatLevel } from "../../src/engine/watcher.js";
import { foldEvents } from "../../src/store/events.js";
import { eventBuilder, fixtures } from "../support/index.js";

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
	assert.ok(isRateLimit("model error: 429 Too Many Requests"));
	assert.ok(isRateLimit("Rate limit reached for requests"));
	assert.ok(!isRateLimit("worker exited with code 70"));
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

test("control commands are delivered once, in order; junk is dropped", async () => {
	const dir = await mkdtemp(join(tmpdir(), "pi-crew-control-"));
	await sendControl(dir, { type: "cancel", from: "first" });
	await sendControl(dir, { type: "cancel", from: "second" });
	const { writeFile } = await import("node:fs/promises");
	await writeFile(join(controlDir(dir), "9999-junk.json"), "{not json");
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
	assert.deepEqual(await readdir(controlDir(dir)), []);
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
	assert.equal(state?.anomalies.length, 2);
});

test("interrupted runs are found by their dead lease holder; a live coordinator's run is never reported", async () => {
	const { EventLogWriter } = await import("../../src/store/event-log.js");
	const { createRunDir } = await import("../../src/store/run-store.js");
	const { acquireLease } = await import("../../src/store/lease.js");
	const { findInterrupted } = await import("../../src/api/lifecycle.js");
	const { spawnSync } = await import("node:child_process");
	const { mkdir, writeFile } = await import("node:fs/promises");
	const { hostname } = await import("node:os");
	const repo = await mkdtemp(join(tmpdir(), "pi-crew-interrupted-"));
	await mkdir(join(repo, ".git"));
	const make = async (id: string) => {
		const paths = await createRunDir(repo, id);
		const log = await EventLogWriter.create(paths.events, id);
		await log.append("run.created", fixtures.created);
		await log.append("run.started", { pid: 1 });
		await log.close();
		return paths;
	};
	const dead = await make("run-dead");
	const gone = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout);
	await writeFile(dead.lease, JSON.stringify({ pid: gone, startTime: 1, host: hostname(), token: "t", since: "" }));
	const live = await make("run-live");
	const lease = await acquireLease(live.lease);
	const elsewhere = await make("run-elsewhere");
	await writeFile(
		elsewhere.lease,
		JSON.stringify({ pid: gone, startTime: 1, host: "another-host", token: "t", since: "" }),
	);
	assert.deepEqual(
		(await findInterrupted(repo)).map((v) => v.state.runId),
		["run-dead"],
	);
	await lease.release();
});
