/** Removing runs and their leftovers (prune, forget, cleanup), and tar archives read in memory: the api, in process. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, symlink, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { exportRun, importBundle } from "../../src/api/bundle.js";
import { cleanup } from "../../src/api/cleanup.js";
import { forgetRun, parseAge, parseStatuses, pruneRuns } from "../../src/api/prune.js";
import { processStartTime } from "../../src/store/lease.js";
import { crewTemp, runPaths } from "../../src/store/run-store.js";
import { removeTree } from "../../src/util/safe-fs.js";
import { packTar, unsafePath } from "../../src/util/tar.js";
import { readTarInMemory } from "../support/hostile.js";
import { deadPid, listing, pastRun, tempDir } from "../support/index.js";

async function repo(): Promise<string> {
	const dir = await tempDir("pi-crew-runs-");
	await mkdir(join(dir, ".git"));
	return dir;
}

const DAY = 86_400_000;
const NOW = Date.parse("2020-01-10T00:00:00Z");

test("removeTree removes links themselves and never what they name, and refuses a linked root", async () => {
	const base = await tempDir("pi-crew-tree-");
	const outside = await tempDir("pi-crew-tree-outside-");
	await writeFile(join(outside, "keep"), "keep");
	const dir = join(base, "run");
	await mkdir(join(dir, "a", "b"), { recursive: true });
	await writeFile(join(dir, "a", "b", "f"), "x");
	await symlink(outside, join(dir, "a", "to-dir"));
	await symlink(join(outside, "keep"), join(dir, "to-file"));
	execFileSync("mkfifo", [join(dir, "fifo")]);
	assert.equal(await removeTree(base, dir), 7);
	assert.ok(!existsSync(dir));
	assert.equal(await readFile(join(outside, "keep"), "utf8"), "keep", "the linked directory's files are untouched");
	await symlink(outside, join(base, "linked"));
	await assert.rejects(removeTree(base, join(base, "linked")), /may not be symlinks/);
	await assert.rejects(removeTree(base, join(base, "..")), /points outside/);
	assert.ok(existsSync(join(outside, "keep")));
});

test("readTar reads what packTar packs, and refuses unsafe paths before reading anything", async () => {
	const files = [
		{ path: "top/a.txt", data: Buffer.from("hello") },
		{ path: `top/${"d".repeat(150)}/deep.txt`, data: Buffer.from("long path") },
	];
	const read = await readTarInMemory(await packTar(files, new Date(0)), {
		maxEntryBytes: 100,
		maxTotalBytes: 10_000,
		maxEntries: 10,
	});
	assert.deepEqual(
		read.files.map((f) => [f.path, f.data.toString()]),
		files.map((f) => [f.path, f.data.toString()]),
	);
	for (const [path, why] of [
		["/etc/passwd", /absolute/],
		["C:/x", /absolute/],
		["a/../../x", /leaves its directory/],
		["a//b", /empty/],
		["a/./b", /empty or `.`/],
		["a\\b", /backslash/],
		["a/\u0001", /control character/],
		[`a/${"x".repeat(256)}`, /longer than 255 bytes/],
	] as const)
		assert.match(unsafePath(path) ?? "(accepted)", why, path);
	assert.equal(unsafePath("top/artifacts/tasks/a b/result.md"), undefined);
});

test("ages and statuses of a prune", () => {
	assert.deepEqual(["30m", "12h", "7d", "2w", "0d"].map(parseAge), [1_800_000, 43_200_000, 7 * DAY, 14 * DAY, 0]);
	for (const bad of ["7", "d", "-1d", "1y", "1.5d", ""]) assert.throws(() => parseAge(bad), /an age is a number/);
	assert.deepEqual(parseStatuses("failed, interrupted"), ["failed", "interrupted"]);
	assert.throws(() => parseStatuses("running"), /a running run is never pruned, got "running"/);
	assert.throws(() => parseStatuses(""), /statuses to prune/);
});

test("prune: this user's ended runs past the age, in the statuses asked; foreign, live and young runs left alone", async () => {
	const dir = await repo();
	const day = (n: number) => new Date(NOW - n * DAY).toISOString();
	await pastRun(dir, "old-ok", { at: day(10) });
	await pastRun(dir, "old-failed", { at: day(10), status: "failed" });
	await pastRun(dir, "old-interrupted", { at: day(10), status: "interrupted" });
	await pastRun(dir, "young-ok", { at: day(1) });
	await pastRun(dir, "old-foreign", { at: day(10), crewHome: await tempDir("pi-crew-other-home-") });
	// Ended, but a live process holds its lease (a dead-letter being recorded, a resume starting): never removed.
	const held = await pastRun(dir, "old-held", { at: day(10) });
	const me = { pid: process.pid, startTime: processStartTime(process.pid), host: hostname(), token: "x", since: "" };
	await writeFile(held.lease, JSON.stringify(me));
	const before = await listing(join(dir, ".crew"));

	const dry = await pruneRuns({ cwd: dir, olderThanMs: 7 * DAY, dryRun: true, now: NOW });
	assert.deepEqual(await listing(join(dir, ".crew")), before, "a dry run deletes nothing");
	assert.deepEqual(
		dry.removed.map((r) => r.runId),
		["old-failed", "old-ok"],
	);
	assert.deepEqual(
		dry.skipped.map((s) => s.runId),
		["old-foreign", "old-held"],
	);
	assert.match(dry.skipped[0]?.why ?? "", /^foreign: it was created by another machine or user/);
	assert.match(dry.skipped[1]?.why ?? "", new RegExp(`its coordinator is alive \\(pid ${process.pid}\\)`));
	assert.equal(dry.kept, 2, "the young run, and the interrupted one (not asked for)");

	const done = await pruneRuns({
		cwd: dir,
		olderThanMs: 7 * DAY,
		statuses: ["succeeded", "failed", "interrupted"],
		by: "test",
		now: NOW,
	});
	assert.deepEqual(
		done.removed.map((r) => [r.runId, r.status]),
		[
			["old-failed", "failed"],
			["old-interrupted", "interrupted"],
			["old-ok", "succeeded"],
		],
	);
	for (const id of ["old-failed", "old-interrupted", "old-ok"]) assert.ok(!existsSync(runPaths(dir, id).dir), id);
	for (const id of ["young-ok", "old-foreign", "old-held"]) assert.ok(existsSync(runPaths(dir, id).events), id);
	assert.ok(!existsSync(crewTemp(dir)), "no work directory left behind");
	const audit = (await readFile(join(dir, ".crew", "removed-runs.jsonl"), "utf8")).trim().split("\n");
	assert.deepEqual(
		audit.map((l) => (JSON.parse(l) as { runId: string; by: string }).runId),
		["old-failed", "old-interrupted", "old-ok"],
	);
	assert.match(audit[0] ?? "", /"by":"test"/);
});

test("forget: one run of this user's, never a foreign or live one", async () => {
	const dir = await repo();
	await pastRun(dir, "mine");
	await pastRun(dir, "theirs", { crewHome: await tempDir("pi-crew-other-home-") });
	const live = await pastRun(dir, "live", { status: "interrupted" });
	await writeFile(
		live.lease,
		JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), host: hostname(), token: "x" }),
	);
	await assert.rejects(forgetRun(dir, "theirs"), /run theirs was not created here: .*never deletes such a run/);
	await assert.rejects(forgetRun(dir, "live"), /run live is running: its coordinator is alive .* cancel it first/);
	await assert.rejects(forgetRun(dir, "nope"), /cannot forget run nope: it has no event log/);
	await assert.rejects(forgetRun(dir, "../x"), /invalid run id/);
	assert.equal((await forgetRun(dir, "mine", { dryRun: true })).entries, 0);
	assert.ok(existsSync(runPaths(dir, "mine").dir));
	const done = await forgetRun(dir, "mine");
	assert.equal(done.status, "succeeded");
	assert.ok(done.entries >= 4);
	assert.ok(!existsSync(runPaths(dir, "mine").dir));
	assert.ok(existsSync(runPaths(dir, "theirs").events) && existsSync(runPaths(dir, "live").events));
});

test("cleanup: stale drafts, dead writers' lease files and work directories; never fresh ones, links or foreign runs", async () => {
	const dir = await repo();
	const mine = await pastRun(dir, "mine", { status: "interrupted" });
	const theirs = await pastRun(dir, "theirs", { crewHome: await tempDir("pi-crew-other-home-") });
	const old = new Date(Date.now() - 2 * 3_600_000);
	const file = async (path: string, text = "x", mtime?: Date) => {
		await mkdir(join(path, ".."), { recursive: true });
		await writeFile(path, text);
		if (mtime) await utimes(path, mtime, mtime);
		return path;
	};
	const dead = JSON.stringify({ pid: deadPid(), startTime: 1, host: hostname(), token: "d", since: "" });
	const alive = JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), host: hostname() });
	const uuid = "0b7e7a1c-9a8e-4c1e-9f39-5d2a4c1b2f00";
	const gone = [
		await file(join(mine.artifacts, "tasks", "a", "result.md.123.0a1b2c3d.tmp"), "x", old),
		await file(join(dir, ".crew", "metrics", "2020-01-01.jsonl.9.deadbeef.tmp"), "x", old),
		await file(join(mine.dir, `lease.json.${uuid}.new`), dead),
		await file(join(mine.dir, `lease.json.takeover-gone-0`), dead),
		await file(join(mine.dir, `lease.json.takeover-t.${uuid}.new`), dead),
		join(crewTemp(dir), `import-${deadPid()}-0a1b2c3d`),
		join(crewTemp(dir), `remove-${deadPid()}-0a1b2c3d`),
	];
	await file(join(gone[5] ?? "", "events.jsonl"));
	await file(join(gone[6] ?? "", "artifacts", "x.md"));
	const kept = [
		await file(join(mine.artifacts, "fresh.md.123.0a1b2c3d.tmp")),
		await file(join(theirs.artifacts, "old.md.123.0a1b2c3d.tmp"), "x", old),
		await file(join(mine.dir, `lease.json.takeover-t-0`), dead), // the dead lease "t" is still in place
		await file(join(mine.dir, `lease.json.takeover-other-1`), alive),
		await file(join(mine.dir, "lease.json"), dead.replace('"d"', '"t"')),
		join(crewTemp(dir), `import-${process.pid}-0a1b2c3d`),
	];
	await mkdir(kept[5] ?? "", { recursive: true });
	const outside = await file(join(await tempDir("pi-crew-cleanup-outside-"), "victim.tmp"), "keep", old);
	await symlink(outside, join(mine.artifacts, "link.md.1.0a1b2c3d.tmp"));

	const dry = await cleanup(dir, { dryRun: true });
	assert.deepEqual(dry.removed.map((r) => r.path).sort(), [...gone].sort());
	assert.ok(
		gone.every((p) => existsSync(p)),
		"a dry run deletes nothing",
	);
	assert.deepEqual(
		dry.skippedRuns.map((r) => r.runId),
		["theirs"],
	);
	const done = await cleanup(dir);
	assert.deepEqual(done.removed.map((r) => r.kind).sort(), [
		"draft",
		"draft",
		"lease-draft",
		"lease-draft",
		"takeover-claim",
		"work-dir",
		"work-dir",
	]);
	for (const p of gone) assert.ok(!existsSync(p), p);
	for (const p of kept) assert.ok(existsSync(p), p);
	assert.equal(await readFile(outside, "utf8"), "keep");
	assert.ok(existsSync(join(mine.artifacts, "link.md.1.0a1b2c3d.tmp")), "a link is not a draft, even by its name");
});

test("export follows no link and leaves out what it cannot redact, even a linked artifacts directory", async () => {
	const dir = await repo();
	const paths = await pastRun(dir, "linked");
	const outside = await tempDir("pi-crew-export-outside-");
	await writeFile(join(outside, "secret.md"), "the user's own file");
	await rename(paths.artifacts, join(outside, "moved"));
	await symlink(outside, paths.artifacts);
	await writeFile(join(paths.dir, "coordinator.log"), Buffer.from([0xc3, 0x28]));
	const done = await exportRun(dir, "linked", join(outside, "b.tar.gz"));
	assert.deepEqual(done.manifest.skipped, [
		{ path: "coordinator.log", why: "not UTF-8 text, so it cannot be redacted" },
		{ path: "artifacts", why: "a symbolic link (never followed)" },
	]);
	const read = await readTarInMemory(await readFile(done.path), {
		maxEntryBytes: 1e6,
		maxTotalBytes: 1e7,
		maxEntries: 10,
	});
	assert.deepEqual(
		read.files.map((f) => f.path),
		["linked/manifest.json", "linked/events.jsonl"],
	);
	assert.doesNotMatch(read.files[1]?.data.toString() ?? "", /"owner"/, "the creator mark is dropped");
});

test("import holds one manifest of at most 1 MiB, and refuses a second top directory as soon as it appears", async () => {
	const dir = await repo();
	const bundle = async (files: { path: string; data: Buffer }[]) => {
		const file = join(await tempDir("pi-crew-bundle-"), "b.tar.gz");
		await writeFile(file, await packTar(files, new Date(0)));
		return file;
	};
	const small = Buffer.from("{}");
	// Each top directory's manifest would be held in memory (64 MiB apiece): the second directory ends the import.
	const many = await bundle(["run-a", "run-b", "run-c"].map((top) => ({ path: `${top}/manifest.json`, data: small })));
	await assert.rejects(
		importBundle(dir, many),
		/: a bundle holds one top directory \(run-a\); this one has a second: run-b; nothing was written$/,
	);
	const big = await bundle([{ path: "run-a/manifest.json", data: Buffer.alloc(1024 * 1024 + 1, " ") }]);
	await assert.rejects(
		importBundle(dir, big),
		/run-a\/manifest\.json is larger than 1 MiB; a manifest is a list of files/,
	);
	assert.ok(!existsSync(join(dir, ".crew")), "a refused bundle leaves nothing");
});
