/** The run lease: one live holder; a dead holder's lease (pid + start time) is taken over. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { acquireLease, holderLiveness, LeaseHeldError, processStartTime, readLease } from "../../src/store/lease.js";

const file = async () => join(await mkdtemp(join(tmpdir(), "pi-crew-lease-")), "lease.json");

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
	const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"]).stdout.toString().trim();
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
