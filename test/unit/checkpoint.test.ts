/**
 * Checkpoints of the fold (store/checkpoint.ts): opening a run from its checkpoint and the log's tail reads to exactly
 * the fold of the whole log; a checkpoint anything but the coordinator made or changed is refused (the whole log is
 * read); a 10 000-task run opens parsing only the lines after its checkpoint.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { appendFile, copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { runKeys } from "../../src/config/owner.js";
import { CHECKPOINT, CHECKPOINT_EVERY } from "../../src/store/checkpoint.js";
import { EventLogWriter, readEventLog } from "../../src/store/event-log.js";
import type { CrewEvent, EventPayloads, EventType, RunState } from "../../src/store/events.js";
import { foldEvents } from "../../src/store/fold.js";
import { createRunDir, loadRun, runPaths } from "../../src/store/run-store.js";
import { checkpointed } from "../support/checkpoint.js";
import { ROOT, tempDir } from "../support/index.js";
import { LOOP_RUN, loopedRun } from "../support/loop-log.js";
import { hugeRun } from "../support/views.js";

/**
 * A state as plain data: its tasks as entries, a field the fold cleared (set to undefined) as absent, as in a
 * checkpoint. Nothing reads the difference: every such field is optional.
 */
function plain(state: RunState | undefined): unknown {
	return state && JSON.parse(JSON.stringify({ ...state, tasks: [...state.tasks] }));
}

/** The fold of the whole log, as a reader without checkpoints makes it. */
async function fullFold(repo: string, runId: string) {
	const paths = runPaths(repo, runId);
	return foldEvents((await readEventLog(paths.events, { runId })).events);
}

/** How many times `work` calls JSON.parse: one per log line it reads, one for a checkpoint. */
async function parses<T>(work: () => Promise<T>): Promise<{ value: T; count: number }> {
	const parse = JSON.parse;
	let count = 0;
	JSON.parse = (...args: Parameters<typeof JSON.parse>) => {
		count++;
		return parse(...args);
	};
	try {
		return { value: await work(), count };
	} finally {
		JSON.parse = parse;
	}
}

type Source = Pick<CrewEvent, "type" | "data" | "taskId">;

/** A requeue and a resume after a failed run: its dead-lettered task and its dependent go back and succeed. */
function requeueAndResume(): Source[] {
	const e = <K extends EventType>(type: K, data: EventPayloads[K], taskId?: string) => ({ type, data, taskId });
	return [
		e("task.requeued", { reason: "requeued by hand" }, "doomed"),
		e("run.resumed", { pid: 2, reopened: ["doomed", "after"] }),
		e("task.started", { attempt: 3, promptPath: "artifacts/tasks/doomed/prompt.md" }, "doomed"),
		e("task.usage", { input: 5, output: 2, cacheRead: 1, cacheWrite: 0, total: 7, cost: 0.5 }, "doomed"),
		e("task.succeeded", { resultPath: "artifacts/tasks/doomed/result.md", chars: 3 }, "doomed"),
		e("task.failed", { reason: "model error: overloaded" }, "after"),
		e("task.started", { attempt: 1, promptPath: "artifacts/tasks/after/prompt.md" }, "after"),
		e("task.failed", { reason: "model error: overloaded" }, "after"),
	] as Source[];
}

/** Writes `events` again as run `runId`, one durable batch each, taking a checkpoint at each; checks every step. */
async function replayChecked(repo: string, runId: string, events: Source[]): Promise<void> {
	const paths = await createRunDir(repo, runId);
	const log = await EventLogWriter.create(paths.events, runId);
	const { checkpoints } = await checkpointed(repo, log, 1);
	for (const [i, e] of events.entries()) {
		await log.append(e.type, e.data as never, e.taskId);
		await checkpoints.settled();
		const { value: view, count } = await parses(() => loadRun(repo, runId));
		assert.deepStrictEqual(plain(view.state), plain(await fullFold(repo, runId)), `${runId} after event ${i + 1}`);
		assert.ok(count <= 1, `${runId} after event ${i + 1}: opened from its checkpoint (${count} parses)`);
	}
	await log.close();
}

test("a checkpoint at every step of several logs (retries, dead letters, adaptive plans, loops, requeue, resume) opens to the log's fold", async () => {
	const repo = await tempDir("checkpoint-fold-");
	const golden = async (name: string) =>
		(await readEventLog(join(ROOT, "test", "golden", name))).events.map(({ type, data, taskId }) => ({
			type,
			data,
			taskId,
		}));
	await loopedRun(repo);
	const loop = (await readEventLog(runPaths(repo, LOOP_RUN).events)).events;
	await replayChecked(repo, "20261207-100000-c00001", await golden("v1-adaptive.jsonl"));
	await replayChecked(repo, "20261207-100000-c00002", [
		...(await golden("v1-retry-deadletter.jsonl")),
		...requeueAndResume(),
	]);
	await replayChecked(repo, "20261207-100000-c00003", loop);
});

/** A signed checkpoint body as the coordinator writes it (the MAC apart from the log's line MACs). */
async function signed(runId: string, json: string): Promise<string> {
	const keys = await runKeys(runId, false);
	assert.ok(keys);
	return `${createHmac("sha256", keys.log).update("pi-crew checkpoint\n").update(json).digest("hex")}\n${json}`;
}

test("a checkpoint forged, edited, misplaced or from another run is refused: the state is the log's", async () => {
	const repo = await tempDir("checkpoint-forged-");
	const runId = "20261207-100000-f00001";
	const other = "20261207-100000-f00002";
	for (const id of [runId, other]) {
		const paths = await createRunDir(repo, id);
		const log = await EventLogWriter.create(paths.events, id);
		const { checkpoints } = await checkpointed(repo, log, 2);
		for (const e of (await readEventLog(join(ROOT, "test", "golden", "v1-retry-deadletter.jsonl"))).events)
			await log.append(e.type, e.data as never, e.taskId);
		await log.close();
		await checkpoints.settled();
	}
	const paths = runPaths(repo, runId);
	const file = join(paths.dir, CHECKPOINT);
	const genuine = await readFile(file, "utf8");
	const [mac, json] = [genuine.slice(0, genuine.indexOf("\n")), genuine.slice(genuine.indexOf("\n") + 1)];
	const body = JSON.parse(json);
	const truth = await fullFold(repo, runId);
	assert.ok(truth);
	const forged = (what: object) => JSON.stringify({ ...body, ...what });
	const firstLine = (await readFile(paths.events, "utf8")).indexOf("\n") + 1;
	const cases: [string, string][] = [
		["its state edited, its MAC kept", `${mac}\n${forged({ state: { ...body.state, goal: "forged" } })}`],
		["signed with another key", `${"0".repeat(64)}\n${forged({ state: { ...body.state, goal: "forged" } })}`],
		["a MAC and no body", mac],
		["signed, pointing at an earlier line", await signed(runId, forged({ at: { ...body.at, offset: firstLine } }))],
		["signed, past the log's end", await signed(runId, forged({ at: { ...body.at, offset: body.at.offset + 500 } }))],
		["signed by an older pi-crew", await signed(runId, forged({ piCrew: "0.0.1" }))],
		["signed, of another run", await signed(runId, forged({ runId: other }))],
	];
	for (const [what, text] of cases) {
		await writeFile(file, text);
		const { value: view, count } = await parses(() => loadRun(repo, runId));
		assert.deepStrictEqual(plain(view.state), plain(truth), what);
		assert.ok(count >= truth.lastSeq, `${what}: the whole log was read (${count} parses)`);
	}
	await copyFile(join(runPaths(repo, other).dir, CHECKPOINT), file);
	assert.deepStrictEqual(plain((await loadRun(repo, runId)).state), plain(truth), "another run's checkpoint copied in");
	// A line after the checkpoint that does not chain from it: the whole log is read, and it reads as tampered.
	await writeFile(file, genuine);
	assert.equal((await loadRun(repo, runId)).integrity, "verified");
	const last = (await readFile(paths.events, "utf8")).trimEnd().split("\n").at(-1) as string;
	await appendFile(paths.events, `${last.replace('"seq":22', '"seq":23')}\n`);
	const view = await loadRun(repo, runId);
	assert.equal(view.integrity, "tampered");
	assert.deepStrictEqual(plain(view.state), plain(truth));
	assert.equal(view.integrityProblem?.line, 23);
});

test("a 10 000-task run opens from its checkpoint, parsing only the lines after it, to the log's fold", async () => {
	const repo = await tempDir("checkpoint-huge-");
	const runId = "20261207-120000-0c0c0c";
	const run = await hugeRun(repo, runId, 10_000);
	// More events while the checkpoints taken during the run are still being written.
	await run.more(3000);
	await run.checkpoints.settled();
	await run.more(7);
	const { value: view, count } = await parses(() => loadRun(repo, runId));
	const truth = await fullFold(repo, runId);
	assert.deepStrictEqual(plain(view.state), plain(truth));
	assert.ok(truth && truth.lastSeq > 60_000, `${truth?.lastSeq} events`);
	assert.ok(truth);
	assert.ok(count <= CHECKPOINT_EVERY + 1, `${count} parses of ${truth.lastSeq} lines`);
	await run.release();
});
