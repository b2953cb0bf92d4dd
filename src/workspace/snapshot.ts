/**
 * A task's work as a commit, made with plumbing that runs nothing configured (`git add` would run the clean filters,
 * textconv and fsmonitor a `.git/config` names): each new file, and each tracked one whose stat data changed, is hashed
 * as it is (`hash-object --no-filters`; a symlink as its target text, never followed), the tree is written from a copy of the
 * worktree's index taken under git's own lock (`index.lock`), the branch moves by compare-and-swap, and the index then
 * matches the commit, so `git status` in the worktree is clean.
 */
import { constants } from "node:fs";
import { copyFile, lstat, readlink, realpath, rename, rm } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { OperationError } from "../util/errors.js";
import { git, gitBytes } from "./git.js";

/** An index entry as `ls-files --stage` gives it; paths are kept as latin1 strings: bytes, whatever their encoding. */
interface Entry {
	mode: string;
	oid: string;
	conflicted: boolean;
}

/** A file as it is in the worktree now. */
type Found = { mode: string; oid?: string } | undefined;

/** Commits whatever changed in `worktree` on its branch (HEAD); returns the branch's tip (HEAD itself if nothing did). */
export async function commitWorktree(worktree: string, message: string, identity: string[]): Promise<string> {
	const head = await git(worktree, ["rev-parse", "--verify", "HEAD^{commit}"]);
	const tracked = await trackedEntries(worktree);
	const others = (await lsFiles(worktree, ["--others", "--exclude-standard"])).filter((p) => !p.endsWith("/"));
	const conflicted = [...tracked].filter(([, e]) => e.conflicted).map(([p]) => p);
	const paths = [...new Set([...(await statChanged(worktree)), ...conflicted, ...others])];
	const found = await look(worktree, paths);
	const lines: string[] = [];
	const zero = "0".repeat(head.length);
	for (const path of paths) {
		const now = found.get(path);
		const was = tracked.get(path);
		if (was?.mode === "160000") continue; // a submodule: its commit stays as recorded
		if (!now) {
			if (was) lines.unshift(`0 ${zero}\t${path}\0`); // removals first: a file may have become a directory
		} else if (!was || was.conflicted || was.mode !== now.mode || was.oid !== now.oid)
			lines.push(`${now.mode} ${now.oid}\t${path}\0`);
	}
	const index = resolve(worktree, await git(worktree, ["rev-parse", "--git-path", "index"]));
	const lock = `${index}.lock`;
	// git's own lock: no other git works on this index meanwhile, and a crash leaves the real index as it was.
	await copyFile(index, lock, constants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
		throw new OperationError(
			err.code === "EEXIST"
				? `${lock} exists: another git is working in ${worktree}, or one crashed there (remove the file if none runs)`
				: `cannot copy ${index}: ${err.message}`,
		);
	});
	try {
		const env = { GIT_INDEX_FILE: lock };
		const update = await gitBytes(worktree, ["update-index", "-z", "--index-info"], {
			env,
			input: Buffer.from(lines.join(""), "latin1"),
		});
		if (update.code !== 0) throw new OperationError(`git update-index failed: ${update.stderr.trim()}`);
		const tree = await git(worktree, ["write-tree"], { env });
		let tip = head;
		if (tree !== (await git(worktree, ["rev-parse", "HEAD^{tree}"]))) {
			tip = await git(worktree, [...identity, "commit-tree", tree, "-p", head, "-m", message]);
			await git(worktree, ["update-ref", "-m", "pi-crew: commit", "HEAD", tip, head]);
		}
		await rename(lock, index);
		return tip;
	} finally {
		await rm(lock, { force: true });
	}
}

/**
 * Tracked paths whose file is not as the index recorded it, by stat (so only those are hashed, not the whole tree):
 * a file whose stat data changed, or that is gone. A racily clean one git compares by content, with filters defused;
 * submodules are not looked into (their own configuration would apply there).
 */
async function statChanged(worktree: string): Promise<string[]> {
	const r = await gitBytes(worktree, ["diff-files", "--name-only", "-z", "--ignore-submodules=all"], { files: true });
	if (r.code !== 0) throw new OperationError(`git diff-files failed in ${worktree}: ${r.stderr.trim()}`);
	return r.stdout.toString("latin1").split("\0").filter(Boolean);
}

async function lsFiles(worktree: string, args: string[]): Promise<string[]> {
	const r = await gitBytes(worktree, ["ls-files", "-z", ...args]);
	if (r.code !== 0) throw new OperationError(`git ls-files failed in ${worktree}: ${r.stderr.trim()}`);
	return r.stdout.toString("latin1").split("\0").filter(Boolean);
}

async function trackedEntries(worktree: string): Promise<Map<string, Entry>> {
	const entries = new Map<string, Entry>();
	for (const line of await lsFiles(worktree, ["--stage"])) {
		const m = /^(\d+) ([0-9a-f]+) (\d)\t(.*)$/s.exec(line);
		if (!m?.[1] || !m[2] || !m[3] || m[4] === undefined) continue;
		const conflicted = m[3] !== "0" || entries.has(m[4]);
		entries.set(m[4], { mode: m[1], oid: m[2], conflicted });
	}
	return entries;
}

/**
 * Each path's mode and blob as it is on disk: regular files hashed in one `hash-object --no-filters`, a symlink's
 * target text as its blob; a path that is gone, under a link, or not a file or link (a FIFO, a device) is absent.
 */
async function look(worktree: string, paths: string[]): Promise<Map<string, Found>> {
	const found = new Map<string, Found>();
	const root = await realpath(worktree);
	const dirs = new Map<string, Promise<boolean>>();
	// A directory reached through a link is not the worktree's: git add would not follow it, nor does this.
	const plainDir = (rel: string) => {
		let ok = dirs.get(rel);
		if (!ok) {
			const full = Buffer.concat([Buffer.from(`${root}${sep}`), Buffer.from(rel, "latin1")]);
			ok = realpath(full, { encoding: "buffer" })
				.then((real) => real.equals(full))
				.catch(() => false);
			dirs.set(rel, ok);
		}
		return ok;
	};
	const files: string[] = [];
	for (const path of paths) {
		const dir = dirname(path);
		const full = Buffer.concat([Buffer.from(`${root}${sep}`), Buffer.from(path, "latin1")]);
		const st = (dir === "." || (await plainDir(dir))) && (await lstat(full).catch(() => undefined));
		if (!st) continue;
		if (st.isFile()) {
			found.set(path, { mode: st.mode & 0o100 ? "100755" : "100644" });
			files.push(path);
		} else if (st.isSymbolicLink()) {
			const target = await readlink(full, { encoding: "buffer" });
			found.set(path, { mode: "120000", oid: await hashObjects(worktree, ["--stdin"], target) });
		}
	}
	if (files.length > 0) {
		const oids = (await hashObjects(worktree, ["--stdin-paths"], Buffer.from(files.map(quote).join(""), "latin1")))
			.split("\n")
			.filter(Boolean);
		if (oids.length !== files.length)
			throw new OperationError(`git hash-object hashed ${oids.length} of ${files.length} files`);
		files.forEach((path, i) => {
			const entry = found.get(path);
			if (entry) entry.oid = oids[i];
		});
	}
	return found;
}

async function hashObjects(worktree: string, args: string[], input: Buffer): Promise<string> {
	const r = await gitBytes(worktree, ["hash-object", "-w", "--no-filters", ...args], { input });
	if (r.code !== 0) throw new OperationError(`git hash-object failed in ${worktree}: ${r.stderr.trim()}`);
	return r.stdout.toString().trim();
}

/** A path for `--stdin-paths`, C-quoted (git unquotes a line that starts with `"`): any byte, newlines included. */
function quote(path: string): string {
	let out = '"';
	for (let i = 0; i < path.length; i++) {
		const c = path.charCodeAt(i);
		out += c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c ? `\\${c.toString(8).padStart(3, "0")}` : path[i];
	}
	return `${out}"\n`;
}
