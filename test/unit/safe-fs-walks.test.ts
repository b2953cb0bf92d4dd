import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { LinkError, makeDirs, readConfined, writeFileAtomic } from "../../src/util/safe-fs.js";
import { tempDir } from "../support/index.js";

/** Counts lstat calls made through node:fs/promises (safe-fs's named import included) while `body` runs. */
async function countLstats(body: () => Promise<void>): Promise<number> {
	const original = fs.lstat;
	let calls = 0;
	fs.lstat = ((...args: Parameters<typeof original>) => {
		calls++;
		return original(...args);
	}) as typeof original;
	syncBuiltinESMExports();
	try {
		await body();
	} finally {
		fs.lstat = original;
		syncBuiltinESMExports();
	}
	return calls;
}

test("a run's writes and reads under directories already walked cost a few lstats each, not a walk from the root", async () => {
	const base = await tempDir("pi-crew-safe-fs-walks-");
	const artifacts = join(base, ".crew", "runs", "r1", "artifacts");
	await makeDirs(base, artifacts);
	const tasks = 40;
	const calls = await countLstats(async () => {
		for (let i = 0; i < tasks; i++) {
			// As a task: its own new directory, a result written, the result read back by a dependent.
			await makeDirs(base, join(artifacts, `t${i}`, "1"));
			await writeFileAtomic(base, join(artifacts, `t${i}`, "1", "result.md"), `answer ${i}`);
			assert.equal(await readConfined(join(base, ".crew", "runs", "r1"), `artifacts/t${i}/1/result.md`), `answer ${i}`);
		}
	});
	// Before: every call walked every component from the base (or the root) again, ~25 lstats a task here.
	assert.ok(calls <= tasks * 7, `${calls} lstat calls for ${tasks} tasks`);
});

test("a directory walked once and then swapped for a link, or moved and recreated, is walked again and refused", async () => {
	const base = await tempDir("pi-crew-safe-fs-walks-");
	const outside = await tempDir("pi-crew-safe-fs-walks-outside-");
	const dir = join(base, "runs", "r1", "artifacts");
	await makeDirs(base, dir);
	await writeFileAtomic(base, join(dir, "a.md"), "first");
	// The run directory moved away and a link to a look-alike planted in its place.
	await fs.rename(join(base, "runs", "r1"), join(outside, "moved"));
	await fs.mkdir(join(outside, "lookalike", "artifacts"), { recursive: true });
	await fs.symlink(join(outside, "lookalike"), join(base, "runs", "r1"));
	await assert.rejects(writeFileAtomic(base, join(dir, "b.md"), "x"), LinkError);
	await assert.rejects(makeDirs(base, join(dir, "t1")), LinkError);
	await assert.rejects(readConfined(join(base, "runs"), "r1/artifacts/a.md"), LinkError);
	assert.deepEqual(await fs.readdir(join(outside, "lookalike", "artifacts")), []);
	// Recreated as a real directory: walked again, written again.
	await fs.unlink(join(base, "runs", "r1"));
	await makeDirs(base, dir);
	await writeFileAtomic(base, join(dir, "b.md"), "second");
	assert.equal(await readConfined(base, "runs/r1/artifacts/b.md"), "second");
});
