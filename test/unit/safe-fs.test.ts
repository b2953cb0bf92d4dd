import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
	LinkError,
	makeDirs,
	openAppend,
	openExclusive,
	readConfined,
	removeFile,
	writeFileAtomic,
} from "../../src/util/safe-fs.js";
import { tempDir } from "../support/index.js";

test("every write primitive refuses a link, at the file or on the way down, and leaves its target alone", async () => {
	const base = await tempDir("pi-crew-safe-fs-");
	const victim = join(await tempDir("pi-crew-safe-fs-victim-"), "victim");
	await writeFile(victim, "keep");
	const outsideDir = await tempDir("pi-crew-safe-fs-outside-");
	await mkdir(join(base, "a"));
	await symlink(victim, join(base, "a", "file"));
	await symlink(outsideDir, join(base, "dir"));
	for (const write of [
		() => writeFileAtomic(base, join(base, "a", "file"), "x"),
		() => openAppend(base, join(base, "a", "file")),
		() => openExclusive(base, join(base, "a", "file")),
		() => readConfined(base, "a/file"),
		() => removeFile(base, join(base, "a", "file")),
		() => writeFileAtomic(base, join(base, "dir", "new"), "x"),
		() => openAppend(base, join(base, "dir", "sub", "new")),
		() => makeDirs(base, join(base, "dir", "sub")),
	])
		await assert.rejects(write(), LinkError);
	assert.equal(await readFile(victim, "utf8"), "keep");
	assert.equal(await readlink(join(base, "a", "file")), victim, "the link itself is not replaced either");
	assert.deepEqual(await import("node:fs/promises").then((fs) => fs.readdir(outsideDir)), []);
	await assert.rejects(writeFileAtomic(base, join(base, "..", "escape"), "x"), /points outside/);
});

test("atomic writes make their directories, replace whole files and leave no draft behind", async () => {
	const base = await tempDir("pi-crew-safe-fs-");
	const file = join(base, "x", "y", "f.txt");
	await writeFileAtomic(base, file, "one");
	await writeFileAtomic(base, file, "two", { mode: 0o600 });
	assert.equal(await readFile(file, "utf8"), "two");
	assert.deepEqual(await import("node:fs/promises").then((fs) => fs.readdir(join(base, "x", "y"))), ["f.txt"]);
	const handle = await openAppend(base, file);
	await handle.write("!");
	await handle.close();
	assert.equal(await readFile(file, "utf8"), "two!");
	await removeFile(base, file);
	assert.equal(await lstat(file).catch(() => undefined), undefined);
	await removeFile(base, file); // gone already: nothing to do
});

test("an atomic write keeps the permissions of the file it replaces", async () => {
	const { chmod, stat } = await import("node:fs/promises");
	const base = await tempDir("pi-crew-safe-fs-");
	const file = join(base, "config.yaml");
	await writeFileAtomic(base, file, "a: 1\n");
	await chmod(file, 0o600);
	await writeFileAtomic(base, file, "a: 2\n");
	assert.equal((await stat(file)).mode & 0o777, 0o600);
	assert.equal(await readFile(file, "utf8"), "a: 2\n");
});

test("a FIFO in a run file's place is refused at once, not read (a reader would wait for a writer forever)", async () => {
	const dir = await tempDir("pi-crew-safe-fs-fifo-");
	execFileSync("mkfifo", [join(dir, "checkpoint.json")]);
	await assert.rejects(readConfined(dir, "checkpoint.json"), /not a regular file/);
	await writeFile(join(dir, "plain.json"), "{}");
	assert.equal(await readConfined(dir, "plain.json"), "{}");
});
