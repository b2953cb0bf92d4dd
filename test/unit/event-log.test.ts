/** The event log: group-committed appends, gap-free seq, torn-tail tolerance, corruption reported by line. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runKeys } from "../../src/config/owner.js";
import { EventLogTail, EventLogWriter, readEventLog } from "../../src/store/event-log.js";
import { signLine } from "../../src/store/log-chain.js";
import { fixtures, tempDir } from "../support/index.js";

// The key that signs these logs: a crew home of this file's own.
process.env.PI_CREW_HOME = mkdtempSync(join(tmpdir(), "pi-crew-log-home-"));
after(() => rmSync(process.env.PI_CREW_HOME ?? "", { recursive: true, force: true }));

async function tempLog() {
	return join(await tempDir("pi-crew-log-"), "events.jsonl");
}

const { created } = fixtures;

test("concurrent appends get gap-free, increasing seq and are all durable after drain", async () => {
	const file = await tempLog();
	const log = await EventLogWriter.create(file, "r1");
	const seen: number[] = [];
	log.subscribe((e) => seen.push(e.seq));
	await log.append("run.created", created);
	await Promise.all(Array.from({ length: 500 }, (_, i) => log.append("task.failed", { reason: `r${i}` }, `t${i}`)));
	await log.close();
	const read = await readEventLog(file);
	assert.deepEqual(read.errors, []);
	assert.deepEqual(
		read.events.map((e) => e.seq),
		Array.from({ length: 501 }, (_, i) => i + 1),
	);
	assert.deepEqual(
		seen,
		read.events.map((e) => e.seq),
		"listeners see every event once, in order",
	);
});

test("create refuses to overwrite an existing log", async () => {
	const file = await tempLog();
	await writeFile(file, "");
	await assert.rejects(EventLogWriter.create(file, "r1"), /EEXIST/);
});

test("a torn last line is a warning; resume cuts it and continues the sequence", async () => {
	const file = await tempLog();
	const log = await EventLogWriter.create(file, "r1");
	await log.append("run.created", created);
	await log.append("run.started", { pid: 1 });
	await log.close();
	await appendFile(file, '{"v":1,"seq":3,"ts":"x","runId":"r1","type":"run.fin');
	const torn = await readEventLog(file);
	assert.equal(torn.events.length, 2);
	assert.deepEqual(torn.errors, []);
	assert.match(torn.warnings[0]?.message ?? "", /torn last line/);
	assert.equal(torn.warnings[0]?.line, 3);

	const resumed = await EventLogWriter.resume(file, "r1");
	await resumed.append("task.planned", fixtures.planned(), "t");
	await resumed.close();
	const after = await readEventLog(file);
	assert.deepEqual(after.warnings, []);
	assert.deepEqual(
		after.events.map((e) => [e.seq, e.type]),
		[
			[1, "run.created"],
			[2, "run.started"],
			[3, "task.planned"],
		],
	);
});

test("a corrupt line in the middle of an unsigned (older) log is an error naming file and line; the rest stays readable", async () => {
	const file = await tempLog();
	const first = JSON.stringify({ v: 1, seq: 1, ts: "t", runId: "r1", type: "run.created", data: created });
	const third = JSON.stringify({ v: 1, seq: 2, ts: "t", runId: "r1", type: "run.started", data: { pid: 1 } });
	await writeFile(file, `${first}\n{not json\n${third}\n`);
	const read = await readEventLog(file);
	assert.equal(read.integrity, "unauthenticated");
	assert.match(read.integrityProblem?.message ?? "", /no line carries a MAC/);
	assert.equal(read.events.length, 2);
	assert.equal(read.errors.length, 1);
	assert.equal(read.errors[0]?.file, file);
	assert.equal(read.errors[0]?.line, 2);
	assert.match(read.errors[0]?.message ?? "", /corrupt line/);
});

test("a signed log verifies; a line inserted, changed or a MAC stripped is found at its line and nothing after it is read", async () => {
	const file = await tempLog();
	const log = await EventLogWriter.create(file, "r1");
	await log.append("run.created", created);
	await log.append("run.started", { pid: 1 });
	await log.append("run.finished", { status: "failed", summaryPath: "s" });
	await log.close();
	const good = await readFile(file, "utf8");
	assert.equal((await readEventLog(file)).integrity, "verified");
	const lines = good.trimEnd().split("\n");
	const forged = lines[2]?.replace('"failed"', '"succeeded"') ?? "";
	const cases: [string, string, number][] = [
		["inserted", [lines[0], lines[1], forged, lines[2]].join("\n"), 3],
		["changed", [lines[0], lines[1], forged].join("\n"), 3],
		["removed", [lines[0], lines[2]].join("\n"), 2],
		["unsigned", [lines[0], lines[1]?.replace(/,"mac":"[0-9a-f]+"\}$/, "}")].join("\n"), 2],
	];
	for (const [what, text, line] of cases) {
		await writeFile(file, `${text}\n`);
		const read = await readEventLog(file);
		assert.equal(read.integrity, "tampered", what);
		assert.equal(read.integrityProblem?.line, line, what);
		assert.match(
			read.integrityProblem?.message ?? "",
			/changed or inserted .* by something other than the coordinator/,
		);
		assert.equal(read.events.length, line - 1, `${what}: nothing from the bad line on`);
		await assert.rejects(EventLogWriter.resume(file, "r1"), /changed by something other than the coordinator/);
	}
	const stripped = lines.map((l) => l.replace(/,"mac":"[0-9a-f]+"\}$/, "}")).join("\n");
	await writeFile(file, `${stripped}\n`);
	const read = await readEventLog(file);
	assert.equal(read.integrity, "unauthenticated");
	assert.equal(read.events.length, 3, "shown, as an older log is");
	await assert.rejects(EventLogWriter.resume(file, "r1"), /cannot be authenticated here/);
});

test("the writer notices at once when something else appends to, rewrites or replaces its file", async () => {
	for (const how of ["append", "rewrite", "replace"] as const) {
		const file = await tempLog();
		const log = await EventLogWriter.create(file, "r1");
		const noticed: string[] = [];
		log.onForeignWrite((why) => noticed.push(why));
		await log.append("run.created", created);
		const text = await readFile(file, "utf8");
		if (how === "append") await appendFile(file, text);
		else if (how === "rewrite") await writeFile(file, text.replace('"seq":1', '"seq":7'));
		else {
			await writeFile(`${file}.new`, text);
			await (await import("node:fs/promises")).rename(`${file}.new`, file);
		}
		assert.ok(await log.checkOwnBytes(), how);
		assert.equal(noticed.length, 1, `${how}: told once`);
		await log.close();
	}
	const file = await tempLog();
	const log = await EventLogWriter.create(file, "r1");
	await log.append("run.created", created);
	await log.append("run.started", { pid: 1 });
	assert.equal(await log.checkOwnBytes(), undefined, "its own writes are its own");
	await log.close();
});

test("a payload of the wrong shape is an error naming the line and the field, never folded", async () => {
	const file = await tempLog();
	const line = (seq: number, type: string, data: unknown) =>
		`${JSON.stringify({ v: 1, seq, ts: "t", runId: "r", type, data })}\n`;
	await writeFile(
		file,
		line(1, "run.created", created) +
			line(2, "task.failed", { reason: 42 }) +
			line(3, "task.tool", { tool: "bash", phase: "sideways" }) +
			line(4, "run.started", { pid: 1 }),
	);
	const read = await readEventLog(file);
	assert.deepEqual(
		read.events.map((e) => e.type),
		["run.created", "run.started"],
	);
	assert.equal(read.errors[0]?.line, 2);
	assert.match(read.errors[0]?.message ?? "", /^invalid task\.failed data: \/reason /);
	assert.equal(read.errors[1]?.line, 3);
	assert.match(read.errors[1]?.message ?? "", /^invalid task\.tool data: \/phase /);
});

test("a seq gap is reported", async () => {
	const file = await tempLog();
	const line = (seq: number) =>
		`${JSON.stringify({ v: 1, seq, ts: "t", runId: "r", type: "run.started", data: { pid: 1 } })}\n`;
	await writeFile(file, line(1) + line(3));
	const read = await readEventLog(file);
	assert.match(read.errors[0]?.message ?? "", /seq 3 where 2 was expected/);
	assert.equal(read.errors[0]?.line, 2);
});

test("a failed write rejects every pending append with the real cause", async () => {
	const file = await tempLog();
	const log = await EventLogWriter.create(file, "r1");
	await log.append("run.created", created);
	await (log as unknown as { handle: { close(): Promise<void> } }).handle.close();
	await assert.rejects(
		log.append("run.started", { pid: 1 }),
		/cannot append to the event log of run r1: .*(EBADF|closed)/,
	);
	await assert.rejects(log.append("run.started", { pid: 1 }), /cannot append/);
});

test("strings are redacted before serialization: the line stays valid JSON, numbers are untouched", async () => {
	const file = await tempLog();
	const log = await EventLogWriter.create(file, "r1");
	const settings = { ...created.settings, budget: { maxTokens: 1_000_000 } };
	const e = await log.append("run.created", { ...created, goal: 'use token=abc123def456 and "quotes\\"', settings });
	await log.append("run.started", { pid: 1 });
	await log.close();
	const read = await readEventLog(file);
	assert.deepEqual(read.errors, []);
	assert.equal(read.events.length, 2);
	const data = read.events[0]?.data as { goal: string; settings: { budget: { maxTokens: number } } };
	assert.equal(data.goal, 'use token=[REDACTED] and "quotes\\"');
	assert.equal(data.settings.budget.maxTokens, 1_000_000);
	assert.deepEqual(e.data, data, "listeners get what the log holds");
});

test("a tail reads only what was appended since its last read; a partial line waits until it is whole", async () => {
	const file = await tempLog();
	const log = await EventLogWriter.create(file, "r1");
	await log.append("run.created", created);
	await log.append("task.failed", { reason: "one" }, "a");
	const tail = new EventLogTail(file);
	assert.deepEqual(
		(await tail.read()).map((e) => e.seq),
		[1, 2],
	);
	const size = (await readFile(file)).length;
	assert.equal(tail.offset, size, "everything read");
	assert.deepEqual(await tail.read(), [], "nothing new: nothing read");
	await log.append("task.failed", { reason: "two" }, "b");
	await log.close();
	const third = (await readFile(file)).subarray(size);
	// A writer mid-line: half of the next event is there.
	const keys = await runKeys("r1", false);
	const json = JSON.stringify({ v: 1, seq: 4, ts: "t", runId: "r1", type: "task.skipped", data: { reason: "x" } });
	const next = `${signLine(keys?.log ?? Buffer.alloc(0), (await readEventLog(file)).lastMac, json).line}\n`;
	await appendFile(file, next.slice(0, 20));
	assert.deepEqual(
		(await tail.read()).map((e) => e.seq),
		[3],
	);
	assert.equal(tail.offset, size + third.length, "the partial line is not consumed");
	assert.match(tail.tornTail()[0]?.message ?? "", /torn last line/);
	await appendFile(file, next.slice(20));
	assert.deepEqual(
		(await tail.read()).map((e) => e.seq),
		[4],
	);
	assert.deepEqual(tail.tornTail(), []);
	assert.deepEqual(tail.errors, []);
});

test("a run tail folds new events into the state it keeps; status follows the log", async () => {
	const { createRunDir, RunTail } = await import("../../src/store/run-store.js");
	const repo = await tempDir("pi-crew-tail-");
	const paths = await createRunDir(repo, "r1");
	const log = await EventLogWriter.create(paths.events, "r1");
	await log.append("run.created", created);
	const tail = new RunTail(repo, "r1");
	const seen: string[] = [];
	await tail.poll((e, state) => seen.push(`${e.type}:${state.status}`));
	await log.append("run.started", { pid: process.pid });
	await tail.poll((e, state) => seen.push(`${e.type}:${state.status}`));
	await log.append("run.finished", { status: "succeeded", summaryPath: "s" });
	await log.close();
	await tail.poll((e, state) => seen.push(`${e.type}:${state.status}`));
	assert.deepEqual(seen, ["run.created:pending", "run.started:running", "run.finished:succeeded"]);
	assert.equal((await tail.view()).status, "succeeded");
});
