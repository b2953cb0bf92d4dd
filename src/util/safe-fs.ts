/**
 * All of pi-crew's file I/O under a repository's `.crew/` (and its export targets) goes through here. Paths from input
 * or from files a repository ships are confined (no escaping the base), and nothing is read, written, appended,
 * truncated, renamed or deleted through a symlink: a repository can ship links, so following one would let it aim
 * pi-crew's writes at any file of the user.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, lstat, mkdir, open, readdir, realpath, rename, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from "node:path";
import { UsageError } from "./errors.js";

/** `rel` resolved under `base`, or an error if it leaves it. */
export function confined(base: string, rel: string): string {
	const path = resolve(base, rel);
	if (!isInside(resolve(base), path)) throw new UsageError(`refusing to use ${rel}: it points outside ${base}`);
	return path;
}

/** Reads a file named by a run's log (which a repository could have written): inside the run, no symlinks. */
export async function readConfined(base: string, rel: string): Promise<string> {
	const path = confined(base, rel);
	await assertNoSymlinks(base, path);
	const handle = await openRead(path);
	try {
		return await handle.readFile("utf8");
	} finally {
		await handle.close();
	}
}

/** Whether `path` is `base` or below it (both absolute, compared as given). */
export function isInside(base: string, path: string): boolean {
	const rel = relative(base, path);
	return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Refuses a path that goes through a symlink a repository could have shipped: the path itself, or a directory on the
 * way that lies inside `base`, however the path spells it (real locations are compared). Symlinks outside `base`,
 * such as a system's alias for /tmp or a symlinked home, are the user's own.
 */
export async function assertNoSymlinks(base: string, path: string): Promise<void> {
	const realBase = await realpath(base).catch(() => resolve(base));
	const target = resolve(path);
	const { root } = parse(target);
	const parts = target.slice(root.length).split(sep).filter(Boolean);
	let current = root;
	for (const [i, part] of parts.entries()) {
		const next = join(current, part);
		const info = await lstat(next).catch(() => undefined);
		if (!info) return;
		const last = i === parts.length - 1 && target !== resolve(base);
		if (info.isSymbolicLink() && (last || isInside(realBase, await realpath(current)))) throw new LinkError(next);
		current = next;
	}
}

/** A symlink where pi-crew reads or writes its own files: refused, never followed (exit 2, no stack). */
export class LinkError extends UsageError {
	constructor(readonly path: string) {
		super(`refusing to use ${path}: pi-crew paths may not be symlinks (remove the link, or point --cwd elsewhere)`);
	}
}

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;

/** `open` that never follows a link at the last component; a link there is a LinkError. */
async function openNoFollow(path: string, flags: number, mode = 0o666): Promise<FileHandle> {
	try {
		return await open(path, flags | O_NOFOLLOW, mode);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ELOOP") throw new LinkError(path);
		throw err;
	}
}

/**
 * Creates `dir` and its missing parents below `base`, one component at a time, refusing a component that is a link
 * or not a directory. `base` is made if missing; links above it and in it are the user's own.
 */
export async function makeDirs(base: string, dir: string): Promise<void> {
	const target = confined(base, dir);
	let current = resolve(base);
	await mkdir(current, { recursive: true }); // the base is the caller's own (a repository, the user's crew home)
	for (const part of relative(current, target).split(sep).filter(Boolean)) {
		current = join(current, part);
		let info = await lstat(current).catch(() => undefined);
		if (!info) {
			await mkdir(current).catch((err: NodeJS.ErrnoException) => {
				if (err.code !== "EEXIST") throw err;
			});
			info = await lstat(current);
		}
		if (info.isSymbolicLink()) throw new LinkError(current);
		if (!info.isDirectory()) throw new UsageError(`refusing to use ${current}: it is not a directory`);
	}
}

/** The directories from `base` down to the file's exist and are real directories; the file is not a link. */
async function prepare(base: string, file: string): Promise<string> {
	const path = confined(base, file);
	await makeDirs(base, dirname(path));
	if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) throw new LinkError(path);
	return path;
}

/**
 * Replaces `file` (under `base`) atomically: written aside under a fresh name, flushed, then renamed over it. A rename
 * replaces a link rather than writing through it, and a link found first is refused.
 */
export async function writeFileAtomic(
	base: string,
	file: string,
	data: string | Uint8Array,
	options: { mode?: number } = {},
): Promise<string> {
	const path = await prepare(base, file);
	const draft = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
	// A file that exists keeps its permissions (a config holding credentials may be 0600).
	const mode =
		options.mode ??
		(await lstat(path).then(
			(st) => st.mode & 0o777,
			() => undefined,
		));
	const handle = await openNoFollow(draft, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (mode !== undefined) await handle.chmod(mode); // not narrowed by the umask either
	try {
		try {
			await handle.writeFile(data);
			await handle.datasync();
		} finally {
			await handle.close();
		}
		await rename(draft, path);
	} catch (err) {
		await unlink(draft).catch(() => undefined);
		throw err;
	}
	return path;
}

/** Opens `file` (under `base`) for appending, creating it; never through a link. */
export async function openAppend(base: string, file: string, mode?: number): Promise<FileHandle> {
	return openNoFollow(await prepare(base, file), O_WRONLY | O_APPEND | O_CREAT, mode);
}

/** Creates `file` (under `base`) for writing; fails if anything, a link included, is already there. */
export async function openExclusive(base: string, file: string, mode?: number): Promise<FileHandle> {
	return openNoFollow(await prepare(base, file), O_WRONLY | O_CREAT | O_EXCL, mode);
}

/** Opens an existing file for reading, never through a link at its last component. */
export async function openRead(file: string): Promise<FileHandle> {
	// Opened without blocking, then checked: a FIFO or device put in a file's place must not hang the reader.
	const handle = await openNoFollow(file, O_RDONLY | O_NONBLOCK);
	if ((await handle.stat()).isFile()) return handle;
	await handle.close();
	throw new UsageError(`refusing to read ${file}: not a regular file`);
}

/** Deletes `file` (under `base`) if it is a regular file; a link or anything else is left alone and reported. */
export async function removeFile(base: string, file: string): Promise<void> {
	const path = confined(base, file);
	await assertNoSymlinks(base, dirname(path));
	const info = await lstat(path).catch(() => undefined);
	if (!info) return;
	if (!info.isFile())
		throw info.isSymbolicLink() ? new LinkError(path) : new UsageError(`refusing to delete ${path}: not a file`);
	await unlink(path);
}

/**
 * Deletes the directory `dir` (under `base`) and everything in it, never following a link: the tree is walked with
 * lstat, a directory is entered only when it is a real one, and anything else (a file, a link, a FIFO) is unlinked
 * itself, which removes a link and never what it names. `dir` itself may not be or lie behind a link (LinkError).
 * Returns how many entries were removed, `dir` included. (A process racing to swap a directory for a link while the
 * walk runs is outside what this guards: pi-crew's own runs are not live when they are removed.)
 */
export async function removeTree(base: string, dir: string): Promise<number> {
	const path = confined(base, dir);
	if (resolve(path) === resolve(base)) throw new UsageError(`refusing to delete ${path}: it is the base directory`);
	await assertNoSymlinks(base, path);
	const info = await lstat(path).catch(() => undefined);
	if (!info) return 0;
	if (!info.isDirectory()) throw new UsageError(`refusing to delete ${path}: not a directory`);
	return (await removeContents(path)) + (await rmdir(path).then(() => 1));
}

async function removeContents(dir: string): Promise<number> {
	let removed = 0;
	for (const name of await readdir(dir)) {
		const path = join(dir, name);
		const info = await lstat(path).catch(() => undefined);
		if (!info) continue;
		if (info.isDirectory()) {
			removed += await removeContents(path);
			await rmdir(path);
		} else await unlink(path);
		removed++;
	}
	return removed;
}

/**
 * Where an export goes: the file the user named (relative to `cwd`; its directory must exist: a typo there is an
 * error, not a new directory), else `fallback`; with `confine` (a model's tool call) only inside the repository.
 */
export async function exportTarget(
	repo: string,
	cwd: string | undefined,
	named: string | undefined,
	fallback: string,
	options: { confine?: boolean; what: string },
): Promise<string> {
	// Relative to where the user is (the CLI's --cwd, else the shell's directory), as every path they type.
	const path = named ? resolve(cwd ?? process.cwd(), named) : fallback;
	if (options.confine) confined(repo, path);
	// However the path spells it: no link inside the repository, nor at the file itself.
	await assertNoSymlinks(repo, path);
	const dir = dirname(path);
	if (
		named &&
		!(await stat(dir).then(
			(st) => st.isDirectory(),
			() => false,
		))
	)
		throw new UsageError(`cannot write the ${options.what} to ${path}: ${dir} is not a directory`);
	return path;
}

/** Writes an export atomically: under the repository through no link; a target named elsewhere is written as named. */
export function writeExport(repo: string, path: string, data: string | Uint8Array): Promise<string> {
	return writeFileAtomic(isInside(repo, path) ? repo : dirname(path), path, data, { mode: 0o600 });
}
