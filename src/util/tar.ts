/**
 * Tar archives through node-tar: packing files held in memory (gzipped), and reading an archive someone handed us as a
 * stream, every entry checked before its bytes are handed on (where they go is the caller's: see api/bundle.ts).
 */
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Header, Pack, Parser, ReadEntry } from "tar";
import { UsageError } from "./errors.js";

/** A regular file of an archive: its path inside the archive (`/`-separated, relative) and its bytes. */
export interface TarFile {
	path: string;
	data: Buffer;
}

/** Packs `files` (in this order) as a gzipped tar: regular files only, mode 0644, one mtime, no owner names. */
export async function packTar(files: readonly TarFile[], mtime: Date): Promise<Buffer> {
	const pack = new Pack({ gzip: true, portable: true });
	const chunks: Buffer[] = [];
	pack.on("data", (chunk: Buffer) => chunks.push(chunk));
	const done = new Promise<void>((resolve, reject) => {
		pack.on("end", () => resolve());
		pack.on("error", reject);
	});
	for (const file of files) {
		const header = new Header({ path: file.path, type: "File", size: file.data.length, mode: 0o644, mtime });
		const entry = new ReadEntry(header);
		entry.end(file.data);
		pack.add(entry);
	}
	pack.end();
	await done;
	return Buffer.concat(chunks);
}

export interface TarLimits {
	/** The largest file an archive may hold. */
	maxEntryBytes: number;
	/** The largest the archive may be once unpacked (the tar stream after gunzip), and the sum of its files. */
	maxTotalBytes: number;
	/** The most entries (files and directories) it may hold. */
	maxEntries: number;
}

/** An archive refused, with the reason (exit 2). */
export class TarRefusal extends UsageError {}

const GZIP_MAGIC = [0x1f, 0x8b];
const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);
/** How entry types other than files and directories are named in a refusal. */
const TYPE_NAMES: Record<string, string> = {
	SymbolicLink: "a symbolic link",
	Link: "a hard link",
	CharacterDevice: "a character device",
	BlockDevice: "a block device",
	FIFO: "a FIFO",
};

/** Where a checked archive's entries go, one at a time, in archive order. */
export interface TarSink {
	/** A directory entry (its path without the trailing `/`). */
	dir(path: string): Promise<void>;
	/** A regular file: `data` must be read to its end (or the sink must throw). */
	file(path: string, size: number, data: AsyncIterable<Buffer>): Promise<void>;
}

/**
 * Reads a tar (gzipped or not) as a stream, handing each entry to `sink` as it comes: memory stays near one chunk,
 * whatever the archive holds. Refused (TarRefusal, the stream stopped) unless every entry is a regular file or a
 * directory at a relative path without `..`, `.` or empty parts, no path comes twice or is both a file and a
 * directory, no file exceeds `maxEntryBytes`, and the archive stays within `maxTotalBytes` (unpacked) and
 * `maxEntries`. Sizes are checked from each entry's header, before its bytes are read. A sink's error stops the
 * reading and is thrown.
 */
export async function readTar(input: AsyncIterable<Buffer>, limits: TarLimits, sink: TarSink): Promise<void> {
	const parser = new Parser({ strict: true });
	const seen = new Set<string>();
	const shape = new Shape();
	let total = 0;
	const { source, matches: gzipped } = await sniff(input, GZIP_MAGIC);
	let failure: Error | undefined;
	// Entries a sink is reading: on a failure (a truncated stream) the parser never ends them, so they are ended here.
	const reading = new Set<ReadEntry>();
	const fail = (err: Error) => {
		failure ??= err;
		parser.abort(failure);
		source.destroy(failure);
		for (const entry of reading) entry.end();
	};
	const work: Promise<void>[] = [];
	parser.on("entry", (entry: ReadEntry) => {
		if (failure) return entry.resume();
		const path = normalPath(entry.path);
		const why = entryProblem(entry, limits, seen, total) ?? shape.add(path, entry.type === "Directory");
		if (why) {
			entry.resume();
			return fail(new TarRefusal(why));
		}
		seen.add(path);
		if (entry.type === "Directory") {
			entry.resume();
			work.push(sink.dir(path).catch(fail));
			return;
		}
		total += entry.size;
		reading.add(entry);
		work.push(
			sink
				.file(path, entry.size, entry)
				.catch((err: Error) => {
					entry.resume();
					fail(err);
				})
				.finally(() => reading.delete(entry)),
		);
	});
	// Entries the parser skips itself (an oversized extended header) would be silently dropped: refused instead.
	parser.on("ignoredEntry", (entry: ReadEntry) =>
		fail(new TarRefusal(`entry ${JSON.stringify(entry.path)} cannot be read`)),
	);
	const parsed = new Promise<void>((resolve, reject) => {
		parser.on("error", (err: Error) => reject(failure ?? new TarRefusal(`not a valid tar archive: ${err.message}`)));
		parser.on("close", () => resolve());
	});
	parsed.catch(() => undefined); // awaited below unless something failed first (then that is what is thrown)
	let unpacked = 0;
	const counted = new Transform({
		transform(chunk: Buffer, _encoding, done) {
			unpacked += chunk.length;
			if (unpacked > limits.maxTotalBytes) done(new TarRefusal(tooLarge(limits)));
			else done(null, chunk);
		},
	});
	// Into the parser with its backpressure: it holds a chunk until the entry it belongs to has taken it.
	const into = new Writable({
		write(chunk: Buffer, _encoding, done) {
			if (failure || parser.write(chunk)) done();
			else parser.once("drain", () => done());
		},
		final(done) {
			parser.end();
			done();
		},
	});
	const streams = gzipped ? [source, createGunzip(), counted, into] : [source, counted, into];
	await pipeline(streams).catch((err: Error) => {
		if (err instanceof TarRefusal) return fail(err);
		if (!failure) fail(gzipped ? new TarRefusal(`not a valid gzip stream: ${err.message}`) : err);
	});
	if (!failure) await parsed.catch(fail);
	await Promise.all(work);
	if (failure) throw failure;
	if (seen.size === 0) throw new TarRefusal("the archive is empty or not a tar archive");
}

/** The stream as a Readable, and whether its first bytes are `magic` (read ahead, then given back in order). */
async function sniff(input: AsyncIterable<Buffer>, magic: number[]): Promise<{ source: Readable; matches: boolean }> {
	const it = input[Symbol.asyncIterator]();
	const first = await it.next();
	const head = first.done ? undefined : first.value;
	async function* all() {
		if (head === undefined) return;
		yield head;
		for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
	}
	return {
		source: Readable.from(all(), { objectMode: false }),
		matches: head !== undefined && magic.every((b, i) => head[i] === b),
	};
}

/** The paths an archive names, so that no path is both a file and a directory (parents of files are directories). */
class Shape {
	private readonly files = new Set<string>();
	private readonly dirs = new Set<string>();

	/** Why `path` cannot be added, or undefined (and it is added). */
	add(path: string, isDir: boolean): string | undefined {
		const parts = path.split("/");
		for (let i = 1; i < parts.length; i++) {
			const parent = parts.slice(0, i).join("/");
			if (this.files.has(parent)) return `${parent} is both a file and a directory`;
		}
		if (!isDir && this.dirs.has(path)) return `${path} is both a file and a directory`;
		for (let i = 1; i < parts.length; i++) this.dirs.add(parts.slice(0, i).join("/"));
		(isDir ? this.dirs : this.files).add(path);
		return undefined;
	}
}

function tooLarge(limits: TarLimits): string {
	return `the archive unpacks to more than ${mib(limits.maxTotalBytes)}`;
}

/** Why an entry is refused, or undefined when it may be read. */
function entryProblem(entry: ReadEntry, limits: TarLimits, seen: Set<string>, total: number): string | undefined {
	const name = JSON.stringify(entry.path);
	const type = entry.type;
	if (!FILE_TYPES.has(type) && type !== "Directory")
		return `entry ${name} is ${TYPE_NAMES[type] ?? `of type ${type}`}: only regular files and directories are allowed`;
	const pathProblem = unsafePath(entry.path);
	if (pathProblem) return `entry ${name} ${pathProblem}`;
	if (seen.has(normalPath(entry.path))) return `entry ${name} appears twice`;
	if (seen.size + 1 > limits.maxEntries) return `the archive holds more than ${limits.maxEntries} entries`;
	if (entry.size > limits.maxEntryBytes)
		return `entry ${name} is ${mib(entry.size)}; the limit for one file is ${mib(limits.maxEntryBytes)}`;
	if (total + entry.size > limits.maxTotalBytes) return tooLarge(limits);
	return undefined;
}

/** Why a path from an archive is unsafe to place under a directory, or undefined when it is safe. */
export function unsafePath(path: string): string | undefined {
	if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "has an absolute path";
	if (path.includes("\\")) return "has a backslash in its path";
	// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused here
	if (/[\u0000-\u001f\u007f]/.test(path)) return "has a control character in its path";
	const parts = normalPath(path).split("/");
	if (parts.includes("..")) return "leaves its directory (`..`)";
	if (parts.some((p) => p === "" || p === ".")) return "has an empty or `.` part in its path";
	if (parts.some((p) => Buffer.byteLength(p) > 255)) return "has a path part longer than 255 bytes";
	return undefined;
}

/** A path without the trailing `/` that directory entries carry. */
function normalPath(path: string): string {
	return path.endsWith("/") ? path.slice(0, -1) : path;
}

function mib(bytes: number): string {
	return bytes >= 1024 * 1024
		? `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MiB`
		: `${bytes} bytes`;
}
