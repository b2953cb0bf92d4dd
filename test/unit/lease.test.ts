/** The run lease: one live holder; a dead holder's lease (pid + start time) is taken over. */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { acquireLease, holderLiveness, LeaseHeldError, processStartTime, readLease } from "../../src/store/lease.js";
import { deadPid, tempDir } from "../support/index.js";

const file = async () => join(await tempDir("pi-crew-lease-"), "lease.json");

test("a live holder keeps the lease; release frees it", async () => {
	const path = await file();
	const lease = await acquireLease(path);
	assert.equal(lease.holder.pid, process.pid);
	await assert.rejects(acquireLease(path), LeaseHeldError);
	await lease.release();
	const again = await acquireLease(path);
	await again.release();
	assert.equal(await readLease(path), undefined);
});

test("the lease of a dead process, or of a reused pid, is taken over", async () => {
	const path = await file();
	const dead = deadPid();
	await writeFile(path, JSON.stringify({ pid: Number(dead), startTime: 1, host: hostname(), token: "old", since: "" }));
	const lease = await acquireLease(path);
	assert.equal((await readLease(path))?.token, lease.holder.token);
	await lease.release();

	const reused = {
		pid: process.pid,
		startTime: (processStartTime(process.pid) ?? 0) + 1,
		host: hostname(),
		token: "x",
		since: "",
	};
	assert.equal(holderLiveness(reused), "dead", "same pid, different start time: not the same process");
	assert.equal(holderLiveness({ ...reused, host: "elsewhere" }), "unknown");
});

test("many contenders for one dead lease: exactly one wins, every time", async () => {
	const dead = deadPid();
	for (let trial = 0; trial < 60; trial++) {
		const path = await file();
		await writeFile(
			path,
			JSON.stringify({ pid: dead, startTime: 1, host: hostname(), token: `dead-${trial}`, since: "" }),
		);
		const results = await Promise.allSettled(Array.from({ length: 4 }, () => acquireLease(path)));
		const winners = results.filter((r) => r.status === "fulfilled");
		assert.equal(winners.length, 1, `trial ${trial}: ${winners.length} winners`);
		for (const r of results)
			if (r.status === "rejected") assert.ok(r.reason instanceof LeaseHeldError, String(r.reason));
		const held = await readLease(path);
		assert.equal(held?.token, (winners[0] as PromiseFulfilledResult<{ holder: { token: string } }>).value.holder.token);
	}
});

test("an unreadable lease (never left by a live coordinator) is taken over; so is one whose claimant died", async () => {
	const path = await file();
	await writeFile(path, "");
	const taken = await acquireLease(path);
	assert.equal((await readLease(path))?.token, taken.holder.token);
	await taken.release();

	const dead = { pid: deadPid(), startTime: 1, host: hostname(), token: "old", since: "" };
	await writeFile(path, JSON.stringify(dead));
	// A resumer claimed this takeover and was killed before finishing.
	await writeFile(`${path}.takeover-old-0`, JSON.stringify({ ...dead, token: "killed-resumer" }));
	const second = await acquireLease(path);
	assert.equal((await readLease(path))?.token, second.holder.token);
	await second.release();
});
