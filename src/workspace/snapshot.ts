/**
 * A task's work as a commit, made with plumbing that runs nothing configured (`git add` would run the clean filters,
 * textconv and fsmonitor a `.git/config` names): each new file, and each tracked one whose stat data changed, is hashed
 * as it is (`hash-object --no-filters`; a symlink as its target text, never followed), the tree is written from a copy of the
 * worktree's index taken under git's own lock (`index.lock`), the branch moves by compare-and-swap, and the index then
 * matches the commit, so `git status` in the worktree is clean.
 */
import { constants } from "node:fs";
import { copyFile, lstat, mkdtemp, readlink, realpath, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { OperationError } from "../util/errors.js";
import { git, gitBytes, gitRun } from "./git.js";

/** An index entry as `ls-files --stage` gives it; paths are kept as latin1 strings: bytes, whatever their encoding. */
interface Entry {
	mode: string;
	oid: string;
	conflicted: boolean;
}

/** A file as it is in the worktree now. */
type Found = { mode: string; oid?: string } | undefined;

/**
 * Commits whatever changed in `worktree` on its branch (HEAD): the commit it was made on (`base`) and the branch's tip
 * (`commit`: `base` itself if nothing changed). `merging`: the commit merged in, the second parent of a commit made
 * even if the tree did not change.
 */
export async function commitWorktree(
	worktree: string,
	message: string,
	identity: string[],
	merging?: string,
): Promise<{ base: string; commit: string }> {
	const head = await git(worktree, ["rev-parse", "--verify", "HEAD^{commit}"]);
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
		const tree = await overlaidTree(worktree, env, []);
		let tip = head;
		if (merging || tree !== (await git(worktree, ["rev-parse", "HEAD^{tree}"]))) {
			const parents = ["-p", head, ...(merging ? ["-p", merging] : [])];
			tip = await git(worktree, [...identity, "commit-tree", tree, ...parents, "-m", message]);
			await git(worktree, ["update-ref", "-m", "pi-crew: commit", "HEAD", tip, head]);
		}
		await rename(lock, index);
		return { base: head, commit: tip };
	} finally {
		await rm(lock, { force: true });
	}
}

/**
 * What a snapshot hashes at most: paths, bytes of one file, bytes in all. A snapshot copies every new or changed file
 * into `.git/objects`: a dataset or a whole home must not be copied there.
 */
export const SNAPSHOT_LIMITS = { paths: 20_000, fileBytes: 8 * 2 ** 20, totalBytes: 64 * 2 ** 20 };

/** A checkout's tree, or why none was recorded (said by `diff`). */
export type Snapshot = { tree: string } | { skipped: string };

/**
 * The tree of the checkout that holds `dir` as it is now, tracked and untracked files (not ignored ones), without
 * touching its index: written from a copy of it, in a directory of its own. The blobs go into the repository's objects
 * (unreferenced, as `git stash create` leaves them) so a diff can show them later. `exclude`: paths relative to `dir`
 * left out (pi-crew's own state). Skipped, with the reason, where there is no git repository, too much to hash
 * (`SNAPSHOT_LIMITS`), or git fails: a snapshot is a record of work, never a reason to refuse or fail it.
 */
export async function checkoutTree(dir: string, exclude: readonly string[]): Promise<Snapshot> {
	const top = await gitRun(dir, ["rev-parse", "--show-toplevel"]).catch(() => undefined);
	if (top?.code !== 0) return { skipped: `${dir} is not in a git repository` };
	const root = top.stdout.trim();
	const prefix = relative(root, dir);
	const pathspec = ["--", ".", ...exclude.map((p) => `:(exclude)${join(prefix, p)}`)];
	const temp = await mkdtemp(join(tmpdir(), "pi-crew-snapshot-"));
	try {
		const index = resolve(root, await git(root, ["rev-parse", "--git-path", "index"]));
		const copy = join(temp, "index");
		// A repository without an index yet (nothing staged) starts from an empty one: the missing file says so to git.
		await copyFile(index, copy).catch((err: NodeJS.ErrnoException) => {
			if (err.code !== "ENOENT") throw new OperationError(`cannot copy ${index}: ${err.message}`);
		});
		return { tree: await overlaidTree(root, { GIT_INDEX_FILE: copy }, pathspec, SNAPSHOT_LIMITS) };
	} catch (err) {
		if (err instanceof TooMuch) return { skipped: `the checkout was too large to snapshot: ${err.message}` };
		if (err instanceof OperationError) return { skipped: `the checkout could not be snapshot: ${err.message}` };
		throw err;
	} finally {
		await rm(temp, { recursive: true, force: true });
	}
}

/** More to hash than a snapshot's limits: the message says which. */
class TooMuch extends Error {}

type Limits = typeof SNAPSHOT_LIMITS;

/**
 * The tree of the index `env` names with the worktree's changes laid over it: each new file, and each tracked one
 * whose stat data changed or that is gone, as it is on disk. `pathspec` limits what is looked at; more to hash than
 * `limits` is a `TooMuch`, before anything is hashed.
 */
async function overlaidTree(
	worktree: string,
	env: Record<string, string>,
	pathspec: string[],
	limits?: Limits,
): Promise<string> {
	const zero = "0".repeat((await git(worktree, ["rev-parse", "--show-object-format"])) === "sha256" ? 64 : 40);
	const tracked = await trackedEntries(worktree, env);
	const others = (await lsFiles(worktree, ["--others", "--exclude-standard", ...pathspec], env)).filter(
		(p) => !p.endsWith("/"),
	);
	const conflicted = [...tracked].filter(([, e]) => e.conflicted).map(([p]) => p);
	const paths = [...new Set([...(await statChanged(worktree, env, pathspec)), ...conflicted, ...others])];
	if (limits && paths.length > limits.paths) throw new TooMuch(`${paths.length} paths to hash, over ${limits.paths}`);
	const found = await look(worktree, paths, limits);
	const lines: string[] = [];
	for (const path of paths) {
		const now = found.get(path);
		const was = tracked.get(path);
		if (was?.mode === "160000") continue; // a submodule: its commit stays as recorded
		if (!now) {
			if (was) lines.unshift(`0 ${zero}\t${path}\0`); // removals first: a file may have become a directory
		} else if (!was || was.conflicted || was.mode !== now.mode || was.oid !== now.oid)
			lines.push(`${now.mode} ${now.oid}\t${path}\0`);
	}
	const update = await gitBytes(worktree, ["update-index", "-z", "--index-info"], {
		env,
		input: Buffer.from(lines.join(""), "latin1"),
	});
	if (update.code !== 0) throw new OperationError(`git update-index failed: ${update.stderr.trim()}`);
	return git(worktree, ["write-tree"], { env });
}

/**
 * Tracked paths whose file is not as the index recorded it, by stat (so only those are hashed, not the whole tree):
 * a file whose stat data changed, or that is gone. A racily clean one git compares by content, with filters defused;
 * submodules are not looked into (their own configuration would apply there).
 */
async function statChanged(worktree: string, env: Record<string, string>, pathspec: string[]): Promise<string[]> {
	const args = ["diff-files", "--name-only", "-z", "--ignore-submodules=all", ...pathspec];
	const r = await gitBytes(worktree, args, { files: true, env });
	if (r.code !== 0) throw new OperationError(`git diff-files failed in ${worktree}: ${r.stderr.trim()}`);
	return r.stdout.toString("latin1").split("\0").filter(Boolean);
}

async function lsFiles(worktree: string, args: string[], env: Record<string, string>): Promise<string[]> {
	const r = await gitBytes(worktree, ["ls-files", "-z", ...args], { env });
	if (r.code !== 0) throw new OperationError(`git ls-files failed in ${worktree}: ${r.stderr.trim()}`);
	return r.stdout.toString("latin1").split("\0").filter(Boolean);
}

async function trackedEntries(worktree: string, env: Record<string, string>): Promise<Map<string, Entry>> {
	const entries = new Map<string, Entry>();
	for (const line of await lsFiles(worktree, ["--stage"], env)) {
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
 * Files over `limits` are a `TooMuch`, found before anything is hashed.
 */
async function look(worktree: string, paths: string[], limits?: Limits): Promise<Map<string, Found>> {
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
	let bytes = 0;
	for (const path of paths) {
		const dir = dirname(path);
		const full = Buffer.concat([Buffer.from(`${root}${sep}`), Buffer.from(path, "latin1")]);
		const st = (dir === "." || (await plainDir(dir))) && (await lstat(full).catch(() => undefined));
		if (!st) continue;
		if (st.isFile()) {
			bytes += st.size;
			if (limits && st.size > limits.fileBytes)
				throw new TooMuch(`${Buffer.from(path, "latin1")} is ${mib(st.size)}, over ${mib(limits.fileBytes)} a file`);
			if (limits && bytes > limits.totalBytes)
				throw new TooMuch(`its new and changed files are over ${mib(limits.totalBytes)}`);
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

function mib(bytes: number): string {
	return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
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
