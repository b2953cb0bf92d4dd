/** What a person says through a run's control channel: kept until handled, bounded in size, for its coordinator. */
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
	type ControlCommand,
	ControlInbox,
	controlDir,
	MAX_COMMAND_TEXT,
	sendControl,
} from "../../src/engine/control.js";
import { createRunDir } from "../../src/store/run-store.js";
import { UsageError } from "../../src/util/errors.js";
import { tempDir } from "../support/index.js";

const respond: ControlCommand = { type: "respond", taskId: "a", questionId: "q1", answer: "v2", from: "me" };
const approve: ControlCommand = { type: "approve", taskId: "a", approvalId: "p1", from: "me" };

test("an answer or a verdict stays on disk until its handling ends: a coordinator killed meanwhile leaves it", async () => {
	const run = await createRunDir(await tempDir("pi-crew-control-"), "run-1");
	await sendControl(run, respond);
	await sendControl(run, approve);
	await sendControl(run, { type: "cancel", from: "me" });
	const onDisk: number[] = [];
	await new ControlInbox(run, async () => {
		onDisk.push((await readdir(controlDir(run.dir))).length);
	}).poll();
	assert.deepEqual(onDisk, [3, 2, 0], "each answer or verdict is there while it is handled; a cancel is not repeated");
	await sendControl(run, respond);
	await assert.rejects(
		new ControlInbox(run, async () => {
			throw new Error("killed mid-way");
		}).poll(),
	);
	const next: ControlCommand[] = [];
	await new ControlInbox(run, async (c) => {
		next.push(c);
	}).poll();
	assert.deepEqual(next, [respond], "the next coordinator takes the answer");
});

test("a resumed run's coordinator keeps answers sent while none ran, not approvals of the ended attempt", async () => {
	const run = await createRunDir(await tempDir("pi-crew-control-"), "run-1");
	await sendControl(run, respond, () => 1000);
	await sendControl(run, approve, () => 1000);
	const got: ControlCommand[] = [];
	const inbox = new ControlInbox(run, async (c) => {
		got.push(c);
	});
	await inbox.clearBefore(2000);
	await inbox.poll();
	assert.deepEqual(got, [respond]);
});

test("an answer, a rejection's feedback or a steer longer than the bound is refused with why, and never read", async () => {
	const run = await createRunDir(await tempDir("pi-crew-control-"), "run-1");
	const long = "x".repeat(MAX_COMMAND_TEXT + 1);
	await assert.rejects(sendControl(run, { ...respond, answer: long }), (err: Error) => {
		assert.ok(err instanceof UsageError);
		assert.match(err.message, /^the answer is 16001 characters; the most is 16000: shorten it/);
		return true;
	});
	await assert.rejects(sendControl(run, { ...approve, reject: long }), /the feedback is 16001 characters/);
	await assert.rejects(sendControl(run, { type: "steer", message: long, from: "me" }), /the message is 16001/);
	await sendControl(run, { ...respond, answer: "x".repeat(MAX_COMMAND_TEXT) });
	// Written by hand (anyone who can write the run's directory): its size is checked again when read.
	await writeFile(
		join(controlDir(run.dir), "9999-00000000-00000000-0000-0000-0000-000000000000.json"),
		JSON.stringify({ ...respond, answer: long }),
	);
	const got: ControlCommand[] = [];
	await new ControlInbox(run, async (c) => {
		got.push(c);
	}).poll();
	assert.deepEqual(
		got.map((c) => (c.type === "respond" ? c.answer.length : 0)),
		[MAX_COMMAND_TEXT],
	);
});
