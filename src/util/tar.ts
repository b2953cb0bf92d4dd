/**
 * Tar archives held in memory, through node-tar: packing files (gzipped), and reading an archive someone handed us
 * with every entry checked before anything is kept. Reading never touches the disk, so an archive that is refused has
 * written nothing anywhere.
 */
import { gunzipSync } from "node:zlib";
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

/** What an archive holds once read: its regular files and the directories it names, all checked. */
export interface TarContents {
	files: TarFile[];
	dirs: string[];
}

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

/**
 * Reads a tar (gzipped or not) from memory. Refused (TarRefusal) unless every entry is a regular file or a directory
 * at a relative path without `..`, `.` or empty parts, no path comes twice, no file exceeds `maxEntryBytes`, and the
 * archive stays within `maxTotalBytes` and `maxEntries`. Sizes are checked from each entry's header, before its
 * bytes are read.
 */
export async function readTar(bytes: Buffer, limits: TarLimits): Promise<TarContents> {
	const tar = GZIP_MAGIC.every((b, i) => bytes[i] === b) ? gunzip(bytes, limits.maxTotalBytes) : bytes;
	if (tar.length > limits.maxTotalBytes)
		throw new TarRefusal(`the archive is larger than ${mib(limits.maxTotalBytes)}`);
	const contents: TarContents = { files: [], dirs: [] };
	const seen = new Set<string>();
	let total = 0;
	const parser = new Parser({ strict: true });
	let refusal: Error | undefined;
	const refuse = (why: string) => {
		refusal ??= new TarRefusal(why);
		parser.abort(refusal);
	};
	parser.on("entry", (entry: ReadEntry) => {
		const why = entryProblem(entry, limits, seen, total);
		if (why) {
			entry.resume();
			return refuse(why);
		}
		const path = normalPath(entry.path);
		seen.add(path);
		if (entry.type === "Directory") {
			contents.dirs.push(path);
			entry.resume();
			return;
		}
		total += entry.size;
		const chunks: Buffer[] = [];
		entry.on("data", (chunk: Buffer) => chunks.push(chunk));
		entry.on("end", () => contents.files.push({ path, data: Buffer.concat(chunks) }));
	});
	// Entries the parser skips itself (an oversized extended header) would be silently dropped: refused instead.
	parser.on("ignoredEntry", (entry: ReadEntry) => refuse(`entry ${JSON.stringify(entry.path)} cannot be read`));
	await new Promise<void>((resolve, reject) => {
		parser.on("error", (err: Error) => reject(refusal ?? new TarRefusal(`not a valid tar archive: ${err.message}`)));
		parser.on("close", () => resolve());
		parser.end(tar);
	});
	if (refusal) throw refusal;
	if (seen.size === 0) throw new TarRefusal("the archive is empty or not a tar archive");
	return contents;
}

function gunzip(bytes: Buffer, max: number): Buffer {
	try {
		return gunzipSync(bytes, { maxOutputLength: max });
	} catch (err) {
		const e = err as NodeJS.ErrnoException;
		if (e.code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError)
			throw new TarRefusal(`the archive unpacks to more than ${mib(max)}`);
		throw new TarRefusal(`not a valid gzip stream: ${e.message}`);
	}
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
	if (total + entry.size > limits.maxTotalBytes)
		return `the archive's files add up to more than ${mib(limits.maxTotalBytes)}`;
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
