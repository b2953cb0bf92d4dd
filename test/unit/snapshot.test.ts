/**
 * A task's commit by plumbing, against what a worker can leave in its worktree: odd names, a FIFO, a link out; a
 * checkout's snapshot against what a checkout may hold: files too large to copy into git, ignored ones.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, open, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { checkoutTree, commitWorktree, SNAPSHOT_LIMITS } from "../../src/workspace/snapshot.js";
import { tempDir } from "../support/index.js";

const git = (cwd: string, ...args: string[]) =>
	execFileSync("git", ["-c", "user.name=u", "-c", "user.email=u@x", ...args], { cwd, stdio: "pipe" });

test("a commit takes odd file names byte for byte, never blocks on a FIFO, never reads through a linked directory", async () => {
	const dir = await tempDir("pi-crew-snapshot-");
	const repo = join(dir, "repo");
	await mkdir(join(repo, "sub"), { recursive: true });
	git(repo, "init", "-q", "-b", "main");
	await writeFile(join(repo, "sub", "secret.txt"), "committed\n");
	git(repo, "add", "-A");
	git(repo, "commit", "-qm", "base");
	const outside = join(dir, "outside");
	await mkdir(outside);
	await writeFile(join(outside, "secret.txt"), "OUTSIDE SECRET\n");
	// The worker's leftovers: names with a newline, a quote, a backslash and a byte that is not UTF-8; a FIFO; the
	// tracked directory replaced by a link to a directory outside with a file of the same name.
	const odd = Buffer.concat([Buffer.from('a\n"b\\'), Buffer.from([0xff]), Buffer.from(".txt")]);
	await writeFile(Buffer.concat([Buffer.from(`${repo}/`), odd]), "odd\n");
	execFileSync("mkfifo", [join(repo, "pipe")]);
	await rm(join(repo, "sub"), { recursive: true });
	await symlink(outside, join(repo, "sub"));

	const { commit: tip } = await commitWorktree(repo, "work", []);
	const listed = execFileSync("git", ["ls-tree", "-r", "-z", tip], { cwd: repo });
	const entries = listed.toString("latin1").split("\0").filter(Boolean);
	assert.deepEqual(
		entries.map((e) => e.split("\t")[1]),
		[odd.toString("latin1"), "sub"],
		"the odd name as its bytes; the directory is now the link, its file gone; no FIFO",
	);
	assert.match(entries[1] ?? "", /^120000 blob /);
	assert.doesNotMatch(execFileSync("git", ["log", "-p", "--all"], { cwd: repo }).toString(), /OUTSIDE SECRET/);
	assert.equal(
		execFileSync("git", ["status", "--porcelain"], { cwd: repo }).toString(),
		"",
		"the index matches the commit",
	);
});

test("a checkout snapshot copies no file over its byte caps into git, says why, and never counts ignored files", async () => {
	const repo = join(await tempDir("pi-crew-snapshot-"), "repo");
	await mkdir(repo);
	git(repo, "init", "-q", "-b", "main");
	await writeFile(join(repo, ".gitignore"), "*.log\n");
	git(repo, "add", "-A");
	git(repo, "commit", "-qm", "base");
	// Sparse files: the size is what counts, not the disk they take.
	const sized = async (name: string, bytes: number) => (await open(join(repo, name), "w")).truncate(bytes);
	await sized("ignored.log", SNAPSHOT_LIMITS.totalBytes * 2);
	await writeFile(join(repo, "small.txt"), "small\n");
	const fine = await checkoutTree(repo, []);
	assert.ok("tree" in fine, JSON.stringify(fine));
	assert.deepEqual(git(repo, "ls-tree", "--name-only", fine.tree).toString().split("\n").filter(Boolean), [
		".gitignore",
		"small.txt",
	]);

	await sized("big.bin", SNAPSHOT_LIMITS.fileBytes + 1);
	const big = await checkoutTree(repo, []);
	assert.ok("skipped" in big);
	assert.match(big.skipped, /^the checkout was too large to snapshot: big\.bin is 8\.0 MiB, over 8\.0 MiB a file$/);
	const blob = git(repo, "hash-object", "big.bin").toString().trim();
	assert.throws(() => git(repo, "cat-file", "-e", blob), "the big file is not in the repository's objects");
	await rm(join(repo, "big.bin"));

	const files = Math.floor(SNAPSHOT_LIMITS.totalBytes / SNAPSHOT_LIMITS.fileBytes) + 1;
	for (let i = 0; i < files; i++) await sized(`part${i}.bin`, SNAPSHOT_LIMITS.fileBytes);
	const many = await checkoutTree(repo, []);
	assert.ok("skipped" in many);
	assert.match(many.skipped, /its new and changed files are over 64\.0 MiB$/);
});
