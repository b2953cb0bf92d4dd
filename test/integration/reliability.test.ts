/** Heartbeats, retry, the rate-limit gate, dead-letter and budgets, on real pi workers with scripted faults. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
	cli,
	ms,
	projectTeam,
	type RunJson,
	runJson,
	type Sandbox,
	SCRIPTED,
	sandbox,
	task,
} from "../support/index.js";

interface Event {
	seq: number;
	ts: string;
	type: string;
	taskId?: string;
	data: Record<string, unknown>;
}

async function events(box: Sandbox, runId: string): Promise<Event[]> {
	return (JSON.parse((await cli(["events", runId, "--json"], box)).stdout) as { events: Event[] }).events;
}

type Attempted = RunJson & { tasks: { id: string; attempts: { reason?: string }[]; deadLetter?: string }[] };

test("a hanging worker goes warn -> stale -> dead, alerts once, is stopped and dead-lettered; requeue runs it again", async () => {
	const box = await sandbox();
	await box.write(
		"../crew-home/config.yaml",
		// Wide enough that a slow worker start-up (silent ~1 s, more on a loaded machine) is never taken for a hang.
		"heartbeat:\n  warnMs: 3000\n  staleMs: 5000\n  deadMs: 7000\n  pollMs: 250\n  deadTicks: 3\n",
	);
	await projectTeam(box, "stuck", [
		{ id: "hung", role: "explorer" },
		{ id: "after", role: "writer", dependsOn: ["hung"] },
	]);
	const scenario = await box.write(
		"scenario.yaml",
		`"task:hung@1":\n  - fault: hang\ndefault:\n  - say: "{task} ok"\n`,
	);
	const { code, json, stderr } = await runJson(["stuck", "hang", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(code, 1);
	const hung = task(json, "hung") as Attempted["tasks"][number] & { status: string; reason?: string };
	assert.equal(hung.status, "failed");
	assert.match(hung.reason ?? "", /^heartbeat dead: no output for \d+s$/);
	assert.equal(hung.deadLetter, "heartbeat-dead");
	assert.equal(task(json, "after").status, "skipped");
	const levels = (await events(box, json.runId)).filter((e) => e.type === "task.heartbeat").map((e) => e.data.level);
	// A slow worker start-up may already read warn, then healthy once pi prints; the hang itself goes once through each.
	const hang = levels.slice(levels.lastIndexOf("healthy") + 1);
	assert.deepEqual(hang, ["warn", "stale", "dead"], "each level once: one alert, not one per poll");
	assert.equal(levels.filter((l) => l === "dead").length, 1);
	assert.equal(stderr.match(/!! hung: heartbeat dead/g)?.length, 1, "one progress alert for the dead worker");

	// The log is the only record: the queue is derived from it, never a second file that could disagree.
	assert.ok(!existsSync(join(json.runDir, "deadletter.jsonl")));
	const listed = JSON.parse((await cli(["deadletter", "--json"], box)).stdout) as { taskId: string; reason: string }[];
	assert.deepEqual(
		listed.map((d) => [d.taskId, d.reason]),
		[["hung", "heartbeat-dead"]],
	);

	const requeued = await cli(["deadletter", "requeue", json.runId, "--json"], box);
	assert.equal(requeued.code, 0, requeued.stderr);
	const after = JSON.parse(requeued.stdout) as Attempted;
	assert.equal(after.status, "succeeded");
	assert.deepEqual(
		after.tasks.map((t) => [t.id, t.attempts.length]),
		[
			["hung", 2],
			["after", 1],
		],
	);
	assert.deepEqual(
		JSON.parse((await cli(["deadletter", "--json"], box)).stdout),
		[],
		"a requeued task leaves the queue",
	);
});

test("with --retry a crashed task succeeds on attempt 2, both attempts visible; without it, it fails", async () => {
	const box = await sandbox();
	await box.write("../crew-home/config.yaml", "retry:\n  backoffMs: 200\n");
	await projectTeam(box, "flaky", [{ id: "flaky", role: "explorer" }]);
	const scenario = await box.write(
		"scenario.yaml",
		`"task:flaky@1":\n  - fault: crash\ndefault:\n  - say: "second time lucky"\n`,
	);
	const { code, json } = await runJson(
		["flaky", "retry me", "--model", SCRIPTED, "--scenario", scenario, "--retry"],
		box,
	);
	assert.equal(code, 0);
	const flaky = (json as Attempted).tasks[0];
	assert.equal(flaky?.attempts.length, 2);
	assert.match(flaky?.attempts[0]?.reason ?? "", /worker exited with code 70/);
	assert.equal(flaky?.attempts[1]?.reason, undefined);
	const retrying = (await events(box, json.runId)).filter((e) => e.type === "task.retrying");
	assert.equal(retrying.length, 1);
	assert.ok(
		Number(retrying[0]?.data.delayMs) >= 140 && Number(retrying[0]?.data.delayMs) <= 260,
		"backoff 200 ms ± 30 %",
	);

	const without = await runJson(["flaky", "no retry", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(without.code, 1);
	assert.equal((without.json as Attempted).tasks[0]?.attempts.length, 1);

	// Queued by hand, then requeued: attempt 2 of the script succeeds.
	const add = await cli(["deadletter", "add", without.json.runId, "flaky"], box);
	assert.equal(add.code, 0, add.stderr);
	const queued = JSON.parse((await cli(["deadletter", without.json.runId, "--json"], box)).stdout) as {
		reason: string;
	}[];
	assert.deepEqual(
		queued.map((d) => d.reason),
		["manual"],
	);
	const requeued = await cli(["deadletter", "requeue", without.json.runId, "flaky", "--json"], box);
	assert.equal(requeued.code, 0, requeued.stderr);
	assert.equal((JSON.parse(requeued.stdout) as RunJson).status, "succeeded");
});

test("retries exhausted: tasks fail and are dead-lettered (max-retries); more than 3 within an hour raise an alert", async () => {
	const box = await sandbox();
	await box.write("../crew-home/config.yaml", "autoRetry: true\nretry:\n  maxAttempts: 2\n  backoffMs: 100\n");
	const ids = ["d1", "d2", "d3", "d4"];
	await projectTeam(
		box,
		"doomed",
		ids.map((id) => ({ id, role: "explorer" })),
	);
	const scenario = await box.write("scenario.yaml", `default:\n  - fault: empty\n`);
	const { code, json, stderr } = await runJson(["doomed", "never", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(code, 1);
	for (const t of (json as Attempted).tasks) {
		assert.equal(t.attempts.length, 2);
		assert.equal(t.deadLetter, "max-retries");
		assert.match(task(json, t.id).reason ?? "", /empty final answer \(attempt 2, retries exhausted\)/);
	}
	const alerts = (await events(box, json.runId)).filter((e) => e.type === "run.alert");
	assert.equal(alerts.length, 1, "the fourth dead-letter crosses the threshold");
	assert.match(String(alerts[0]?.data.message), /^4 tasks dead-lettered in this repository within the last hour/);
	assert.match(stderr, /⚠ 4 tasks dead-lettered/);
});

test("a rate limit pauses new starts for the whole run instead of burning every task's attempts", async () => {
	const box = await sandbox();
	// One attempt each: only the shared gate (which does not spend attempts) can save them.
	await box.write(
		"../crew-home/config.yaml",
		"autoRetry: true\nretry:\n  maxAttempts: 1\n  backoffMs: 1500\n  jitter: 0\n",
	);
	await box.write("../pi-agent/settings.json", JSON.stringify({ retry: { enabled: false } }));
	await projectTeam(box, "busy", [
		{ id: "a", role: "explorer" },
		{ id: "b", role: "explorer" },
		{ id: "c", role: "explorer", dependsOn: ["a"] },
	]);
	const scenario = await box.write(
		"scenario.yaml",
		`"task:a@1":\n  - fault: rate_limit\ndefault:\n  - say: "{task} ok"\n`,
	);
	const { code, json } = await runJson(["busy", "hit the limit", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(code, 0, JSON.stringify(json.tasks));
	const log = await events(box, json.runId);
	const throttled = log.filter((e) => e.type === "run.throttled");
	assert.equal(throttled.length, 1);
	const until = Date.parse(String(throttled[0]?.data.until));
	const startsAfter = log.filter((e) => e.type === "task.started" && e.seq > (throttled[0]?.seq ?? 0));
	assert.ok(startsAfter.length >= 2, "a's second attempt and c started after the limit");
	for (const s of startsAfter)
		assert.ok(ms(s.ts) >= until - 5, `${s.taskId} started at ${s.ts}, gate open at ${new Date(until).toISOString()}`);
	assert.equal(log.find((e) => e.type === "task.retrying")?.data.rateLimited, true);
});

test("budgets stop new starts: the run ends failed with budget-exceeded and the summary shows spend", async () => {
	const box = await sandbox();
	await projectTeam(box, "chain", [
		{ id: "s1", role: "explorer" },
		{ id: "s2", role: "explorer", dependsOn: ["s1"] },
		{ id: "s3", role: "explorer", dependsOn: ["s2"] },
		{ id: "s4", role: "explorer", dependsOn: ["s3"] },
	]);
	const scenario = await box.write("scenario.yaml", `default:\n  - say: "{task} ok"\n`);
	const byTasks = await runJson(["chain", "go", "--model", SCRIPTED, "--scenario", scenario, "--max-tasks", "2"], box);
	assert.equal(byTasks.code, 1);
	assert.deepEqual(
		byTasks.json.tasks.map((t) => t.status),
		["succeeded", "succeeded", "skipped", "skipped"],
	);
	assert.match(byTasks.json.reason ?? "", /^budget-exceeded: 2 of 2 tasks started/);
	assert.match(task(byTasks.json, "s3").reason ?? "", /^budget-exceeded/);

	// A scripted turn costs about 1.3k tokens on pi 1.6 (an estimate: chars / 4): the budget runs out mid-chain.
	const byTokens = await runJson(
		["chain", "go", "--model", SCRIPTED, "--scenario", scenario, "--max-tokens", "2500"],
		box,
	);
	assert.equal(byTokens.code, 1);
	assert.match(byTokens.json.reason ?? "", /^budget-exceeded: [\d.]+k of 2.5k tokens spent/);
	const started = byTokens.json.tasks.filter((t) => t.status === "succeeded").length;
	assert.ok(started >= 1 && started < 4, `${started} tasks ran within the budget`);
	const summary = await readFile(join(byTokens.json.runDir, "artifacts/summary.md"), "utf8");
	assert.match(summary, /Tokens: [\d.]+k .*; budget: 2.5k tokens/);
});
