/**
 * Run bundles: `pi-crew export <runId>` packs a run into one portable, redacted `.tar.gz`; `pi-crew import FILE`
 * restores one as a foreign, read-only run. A bundle is input from anywhere: it is streamed (never held whole) into a
 * staging directory under `.crew/tmp/`, every entry checked before its bytes are written, then the manifest and the
 * log; only a bundle that passes every check is renamed into `.crew/runs/<runId>` at once. A refused bundle leaves
 * nothing behind.
 *
 * Layout: one top directory named by the run id, holding `manifest.json` (first), `events.jsonl`, `coordinator.log`
 * when there is one, and `artifacts/**`. Left out: `lease.json` and its drafts (who coordinates the run here), and
 * `control/` (commands for a live coordinator): neither means anything on another machine.
 */
import { createHash, type Hash } from "node:crypto";
import { type FileHandle, lstat, mkdir, readdir, rename, rmdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { Type } from "typebox";
import { Compile } from "typebox/schema";
import { importMark } from "../config/owner.js";
import { EventLogTail, readEventLog } from "../store/event-log.js";
import type { RunState } from "../store/events.js";
import { applyEvent } from "../store/fold.js";
import {
	assertSafeId,
	crewTemp,
	IMPORT_RECORD,
	type ImportRecord,
	loadRun,
	type RunView,
	runPaths,
	runsDir,
	tempDirPath,
} from "../store/run-store.js";
import { redact, redactStrings } from "../util/redact.js";
import {
	confined,
	exportTarget,
	isInside,
	makeDirs,
	openExclusive,
	openRead,
	removeTree,
	writeExport,
} from "../util/safe-fs.js";
import { packTar, readTar, type TarFile, type TarLimits, TarRefusal } from "../util/tar.js";
import { findRepo, UsageError } from "./index.js";
import { packageVersion } from "./metrics.js";

const MIB = 1024 * 1024;

/** What one bundle may hold: per file, in all (unpacked), and how many entries. */
export const BUNDLE_LIMITS: TarLimits = { maxEntryBytes: 64 * MIB, maxTotalBytes: 256 * MIB, maxEntries: 50_000 };

export const BUNDLE_SCHEMA_VERSION = 1;
const MANIFEST = "manifest.json";
/** A manifest is read into memory (the checks parse it): one run's list of files, far below this. */
const MANIFEST_MAX_BYTES = MIB;
const EVENTS = "events.jsonl";
const COORDINATOR_LOG = "coordinator.log";
const ARTIFACTS = "artifacts";

const ManifestSchema = Type.Object({
	schemaVersion: Type.Integer({ minimum: 1 }),
	kind: Type.Literal("pi-crew-run"),
	runId: Type.String(),
	/** When the bundle was made. */
	created: Type.String(),
	/** The pi-crew version that made it. */
	piCrew: Type.String(),
	/** The run as it read when it was exported (for people; the log is the truth). */
	run: Type.Object({ status: Type.String(), team: Type.String(), workflow: Type.String(), createdAt: Type.String() }),
	/** Every file of the bundle but the manifest, relative to the top directory, after redaction. */
	files: Type.Array(
		Type.Object({
			path: Type.String(),
			size: Type.Integer({ minimum: 0 }),
			sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }),
		}),
	),
	/** Files of the run that were not exported, and why. */
	skipped: Type.Array(Type.Object({ path: Type.String(), why: Type.String() })),
});
export interface BundleManifest {
	schemaVersion: number;
	kind: "pi-crew-run";
	runId: string;
	created: string;
	piCrew: string;
	run: { status: string; team: string; workflow: string; createdAt: string };
	files: { path: string; size: number; sha256: string }[];
	skipped: { path: string; why: string }[];
}

export interface ExportResult {
	path: string;
	manifest: BundleManifest;
	/** The bundle's size on disk (gzipped). */
	bytes: number;
}

/**
 * Writes run `runId` as a bundle to `out` (relative to `cwd`; default `.crew/exports/<runId>.tar.gz` of the
 * repository). Secrets are redacted on the way out: every string of every event, and every text file; a file that is
 * not UTF-8 text cannot be redacted and is left out (listed in the manifest's `skipped`), as are links, which are
 * never followed. The creator mark is dropped: it is this user's, and a bundle is foreign wherever it is imported.
 * With `confine` (a model's tool call) the file must be inside the repository.
 */
export async function exportRun(
	cwd: string | undefined,
	runId: string,
	out?: string,
	options: { confine?: boolean; now?: Date } = {},
): Promise<ExportResult> {
	const repo = findRepo(cwd);
	const view = await loadRun(repo, runId);
	const path = await exportTarget(repo, cwd, out, join(repo, ".crew", "exports", `${runId}.tar.gz`), {
		confine: options.confine,
		what: "bundle",
	});
	if (isInside(runsDir(repo), path))
		throw new UsageError(`refusing to write a bundle to ${path}: .crew/runs holds runs only`);
	const now = options.now ?? new Date();
	const skipped: BundleManifest["skipped"] = [];
	const files: TarFile[] = [{ path: EVENTS, data: await exportedLog(view) }];
	for (const rel of [COORDINATOR_LOG, ARTIFACTS]) await collect(view.paths.dir, rel, files, skipped);
	const total = files.reduce((n, f) => n + f.data.length, 0);
	if (total > BUNDLE_LIMITS.maxTotalBytes)
		throw new UsageError(
			`run ${runId}'s files add up to ${Math.ceil(total / MIB)} MiB after redaction; a bundle holds at most ${BUNDLE_LIMITS.maxTotalBytes / MIB} MiB`,
		);
	const manifest: BundleManifest = {
		schemaVersion: BUNDLE_SCHEMA_VERSION,
		kind: "pi-crew-run",
		runId,
		created: now.toISOString(),
		piCrew: await packageVersion(),
		run: {
			status: view.status,
			team: view.state.team,
			workflow: view.state.workflow,
			createdAt: view.state.createdAt,
		},
		files: files.map((f) => ({ path: f.path, size: f.data.length, sha256: sha256(f.data) })),
		skipped,
	};
	const entries = [{ path: MANIFEST, data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) }, ...files];
	const bytes = await packTar(
		entries.map((f) => ({ path: `${runId}/${f.path}`, data: f.data })),
		now,
	);
	await writeExport(repo, path, bytes);
	return { path, manifest, bytes: bytes.length };
}

/** The run's log as exported: complete events only, each redacted again, the creator mark dropped. */
async function exportedLog(view: RunView): Promise<Buffer> {
	const read = await readEventLog(view.paths.events, { runId: view.state.runId });
	// A tampered log's lines from the break on are not read: a bundle of the rest would pass for the whole run.
	const [first] = [
		...(read.integrity === "tampered" && read.integrityProblem ? [read.integrityProblem] : []),
		...read.errors,
	];
	if (first)
		throw new UsageError(
			`run ${view.state.runId}'s log has ${read.errors.length} problem(s) (line ${first.line}: ${first.message}); a bundle carries a valid log only (see: pi-crew events ${view.state.runId})`,
		);
	const lines = read.events.map((e) => {
		const event = e.type === "run.created" ? { ...e, data: { ...e.data, owner: undefined } } : e;
		return JSON.stringify(redactStrings(event));
	});
	return Buffer.from(`${lines.join("\n")}\n`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Adds `rel` of the run (a file, or a directory walked with lstat) to `files`, each text file redacted, and notes in
 * `skipped` what it leaves out: links (never followed), anything not a regular file, files that are not UTF-8 text
 * (they cannot be redacted) or too large. Nothing there: nothing added.
 */
async function collect(dir: string, rel: string, files: TarFile[], skipped: BundleManifest["skipped"]): Promise<void> {
	const path = join(dir, rel);
	const info = await lstat(path).catch(() => undefined);
	const tooLarge = `larger than ${BUNDLE_LIMITS.maxEntryBytes / MIB} MiB`;
	if (!info) return;
	if (info.isSymbolicLink()) skipped.push({ path: rel, why: "a symbolic link (never followed)" });
	else if (info.isDirectory())
		for (const name of (await readdir(path)).sort()) await collect(dir, `${rel}/${name}`, files, skipped);
	else if (!info.isFile()) skipped.push({ path: rel, why: "not a regular file" });
	else if (info.size > BUNDLE_LIMITS.maxEntryBytes) skipped.push({ path: rel, why: tooLarge });
	else {
		const handle = await openRead(path);
		const bytes = await handle.readFile().finally(() => handle.close());
		let text: string;
		try {
			text = utf8.decode(bytes);
		} catch {
			skipped.push({ path: rel, why: "not UTF-8 text, so it cannot be redacted" });
			return;
		}
		const data = Buffer.from(redact(text));
		if (data.length > BUNDLE_LIMITS.maxEntryBytes) skipped.push({ path: rel, why: tooLarge });
		else files.push({ path: rel, data });
	}
}

function sha256(data: Buffer): string {
	return createHash("sha256").update(data).digest("hex");
}

/** A bundle refused: nothing was written (exit 2). */
export class BundleError extends UsageError {
	constructor(file: string, why: string) {
		super(`refusing to import ${file}: ${why}; nothing was written`);
	}
}

export interface ImportResult {
	runId: string;
	/** Where the run now lives. */
	dir: string;
	files: number;
	/** The files' bytes, unpacked. */
	bytes: number;
	manifest: BundleManifest;
}

/**
 * Restores a bundle as a run of this repository: foreign (it carries no creator mark), so it can be inspected with
 * status, events, summary and the dashboard, and is never resumed, requeued or coordinated here. Refused (BundleError,
 * nothing left behind) unless every check passes: see readTar for the entries, checkBundle for the rest. A run of the
 * same id that already exists here is never replaced. The bundle is streamed, never held whole: each file is written
 * into a staging directory under `.crew/tmp/` as it is unpacked, hashed as it goes; only the manifest is kept in
 * memory, and the log is checked as it streams.
 */
export async function importBundle(
	cwd: string | undefined,
	file: string,
	options: { confine?: boolean; limits?: TarLimits; now?: Date } = {},
): Promise<ImportResult> {
	const repo = findRepo(cwd);
	const path = resolve(cwd ?? process.cwd(), file);
	if (options.confine) confined(repo, path);
	const limits = options.limits ?? BUNDLE_LIMITS;
	const handle = await openBundle(path, limits);
	const hadCrew = await lstat(join(repo, ".crew")).then(
		() => true,
		() => false,
	);
	await makeDirs(repo, crewTemp(repo));
	const tmp = tempDirPath(repo, "import");
	await mkdir(tmp);
	try {
		const bundleHash = createHash("sha256");
		const unpacked = await unpackInto(tmp, handle, limits, bundleHash).catch((err) => {
			if (err instanceof TarRefusal) throw new BundleError(path, err.message);
			throw err;
		});
		const manifest = (() => {
			try {
				return checkBundle(unpacked);
			} catch (err) {
				if (err instanceof TarRefusal) throw new BundleError(path, err.message);
				throw err;
			}
		})();
		const { runId } = manifest;
		const target = runPaths(repo, runId).dir;
		if (await lstat(target).catch(() => undefined))
			throw new BundleError(path, `run ${runId} already exists here (${target}); an existing run is never replaced`);
		const record: ImportRecord = {
			bundle: basename(path),
			sha256: bundleHash.digest("hex"),
			importedAt: (options.now ?? new Date()).toISOString(),
			exportedAt: manifest.created,
			piCrew: manifest.piCrew,
			mark: await importMark(runId),
		};
		const staged = join(tmp, runId);
		await writeStaged(tmp, join(staged, IMPORT_RECORD), Buffer.from(JSON.stringify(record)));
		await makeDirs(repo, runsDir(repo));
		// Checked again just before: a run of this id made meanwhile is never replaced (rename would take an empty one).
		if (await lstat(target).catch(() => undefined)) throw new UsageError(`run ${runId} appeared meanwhile`);
		await rename(staged, target);
		const files = unpacked.files.filter((f) => f.path !== `${runId}/${MANIFEST}`);
		return { runId, dir: target, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), manifest };
	} finally {
		await handle.close();
		await removeTree(repo, tmp).catch(() => undefined);
		await rmdir(crewTemp(repo)).catch(() => undefined); // only when empty: other work may be under way
		if (!hadCrew) await rmdir(join(repo, ".crew")).catch(() => undefined); // a refused bundle leaves no .crew/
	}
}

/** The bundle, opened: a regular file (never a link, a FIFO or a device), no larger than the limit. */
async function openBundle(path: string, limits: TarLimits): Promise<FileHandle> {
	const info = await lstat(path).catch(() => undefined);
	if (!info) throw new UsageError(`no bundle at ${path}`);
	if (!info.isFile()) throw new BundleError(path, "it is not a regular file (links are never followed)");
	if (info.size > limits.maxTotalBytes)
		throw new BundleError(path, `it is larger than ${limits.maxTotalBytes / MIB} MiB`);
	return openRead(path);
}

/** A file of the bundle once unpacked: its path in the archive, its size and sha256 (the manifest's terms). */
interface StagedFile {
	path: string;
	size: number;
	sha256: string;
}

/** What was unpacked, for the checks: every file's size and hash, each top directory's manifest and log. */
interface Unpacked {
	/** The one top directory (a second is refused as it appears); undefined: the bundle is empty. */
	top?: string;
	files: StagedFile[];
	dirs: string[];
	manifest?: Buffer;
	log?: LogCheck;
}

/**
 * Unpacks the bundle into `tmp` (each file written as it streams, hashed as it goes), and hashes the bundle's own
 * bytes into `bundleHash`. A second top directory is refused as soon as it appears. The manifest (at most
 * MANIFEST_MAX_BYTES) is kept in memory (the checks read it) and not written; `events.jsonl` is checked as it streams,
 * never held.
 */
async function unpackInto(tmp: string, handle: FileHandle, limits: TarLimits, bundleHash: Hash): Promise<Unpacked> {
	const unpacked: Unpacked = { files: [], dirs: [] };
	async function* hashed(source: AsyncIterable<Buffer>) {
		for await (const chunk of source) {
			bundleHash.update(chunk);
			yield chunk;
		}
	}
	const topOf = (path: string): { top: string; name: string } => {
		const [top = "", ...rest] = path.split("/");
		unpacked.top ??= top;
		if (top !== unpacked.top)
			throw new TarRefusal(`a bundle holds one top directory (${unpacked.top}); this one has a second: ${top}`);
		return { top, name: rest.join("/") };
	};
	await readTar(hashed(handle.createReadStream({ autoClose: false })), limits, {
		dir: async (path) => {
			topOf(path);
			unpacked.dirs.push(path);
			await makeDirs(tmp, join(tmp, ...path.split("/")));
		},
		file: async (path, size, data) => {
			const { top, name } = topOf(path);
			const hash = createHash("sha256");
			if (name === MANIFEST) {
				if (size > MANIFEST_MAX_BYTES)
					throw new TarRefusal(`${path} is larger than ${MANIFEST_MAX_BYTES / MIB} MiB; a manifest is a list of files`);
				const chunks: Buffer[] = [];
				for await (const chunk of data) chunks.push(chunk);
				unpacked.manifest = Buffer.concat(chunks);
				unpacked.files.push({ path, size: unpacked.manifest.length, sha256: sha256(unpacked.manifest) });
				return;
			}
			const log = name === EVENTS ? new LogCheck(top) : undefined;
			if (log) unpacked.log = log;
			let written = 0;
			const out = await openExclusive(tmp, join(tmp, ...path.split("/")), 0o600);
			try {
				for await (const chunk of data) {
					hash.update(chunk);
					written += chunk.length;
					log?.feed(chunk);
					await out.write(chunk);
				}
				await out.sync();
			} finally {
				await out.close();
			}
			unpacked.files.push({ path, size: written, sha256: hash.digest("hex") });
		},
	});
	return unpacked;
}

/** Writes one file into the staging directory. */
async function writeStaged(tmp: string, file: string, data: Buffer): Promise<void> {
	const out = await openExclusive(tmp, file, 0o600);
	try {
		await out.writeFile(data);
		await out.sync();
	} finally {
		await out.close();
	}
}

let manifestCheck: ReturnType<typeof Compile> | undefined;

/**
 * The rest of a bundle's checks, once readTar has vetted its entries: one top directory named by a valid run id, a
 * manifest of a known schema that lists exactly the files there are with their sizes and sha256, only the layout a
 * bundle has (events.jsonl, coordinator.log, artifacts/), and a log that reads as a valid run of that id with no
 * creator mark. Throws TarRefusal with the reason.
 */
function checkBundle(unpacked: Unpacked): BundleManifest {
	const { top } = unpacked;
	if (top === undefined) throw new TarRefusal("the bundle is empty");
	const manifestData = unpacked.manifest;
	if (!manifestData) throw new TarRefusal(`no ${top}/${MANIFEST}`);
	const manifest = parseManifest(manifestData);
	if (manifest.runId !== top)
		throw new TarRefusal(`the manifest is for run ${manifest.runId}, the bundle's directory is ${top}`);
	try {
		assertSafeId("run", manifest.runId);
	} catch (err) {
		throw new TarRefusal((err as Error).message);
	}
	const files = unpacked.files
		.filter((f) => f.path !== `${top}/${MANIFEST}`)
		.map((f) => ({ ...f, path: f.path.slice(top.length + 1) }));
	const dirs = unpacked.dirs.filter((d) => d !== top).map((d) => d.slice(top.length + 1));
	checkLayout(files, dirs);
	checkListed(manifest, files);
	const { log } = unpacked;
	if (!log) throw new TarRefusal(`no ${EVENTS}: a bundle carries the run's log`);
	log.verdict();
	return manifest;
}

function parseManifest(data: Buffer): BundleManifest {
	let raw: unknown;
	try {
		raw = JSON.parse(data.toString("utf8"));
	} catch (err) {
		throw new TarRefusal(`the manifest is not JSON: ${(err as Error).message}`);
	}
	const version = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
	if (typeof version === "number" && version > BUNDLE_SCHEMA_VERSION)
		throw new TarRefusal(
			`it was made by a newer pi-crew (bundle schema ${version}; this one reads ${BUNDLE_SCHEMA_VERSION})`,
		);
	manifestCheck ??= Compile(ManifestSchema);
	if (!manifestCheck.Check(raw)) {
		const [, errors] = manifestCheck.Errors(raw);
		const e = errors[0];
		throw new TarRefusal(`the manifest is malformed${e ? `: ${e.instancePath || "/"} ${e.message}` : ""}`);
	}
	return raw as BundleManifest;
}

/** Only events.jsonl, coordinator.log and files under artifacts/ (no path is both a file and a directory: readTar). */
function checkLayout(files: StagedFile[], dirs: string[]): void {
	const allowed = (p: string) => p === EVENTS || p === COORDINATOR_LOG || p.startsWith(`${ARTIFACTS}/`);
	for (const f of files)
		if (!allowed(f.path))
			throw new TarRefusal(
				`unexpected file ${f.path}: a bundle holds ${EVENTS}, ${COORDINATOR_LOG} and ${ARTIFACTS}/ only`,
			);
	for (const d of dirs)
		if (d !== ARTIFACTS && !d.startsWith(`${ARTIFACTS}/`))
			throw new TarRefusal(
				`unexpected directory ${d}: a bundle holds ${EVENTS}, ${COORDINATOR_LOG} and ${ARTIFACTS}/ only`,
			);
}

/** The manifest lists exactly the bundle's files, each with its size and sha256. */
function checkListed(manifest: BundleManifest, files: StagedFile[]): void {
	const listed = new Map<string, BundleManifest["files"][number]>();
	for (const f of manifest.files) {
		if (listed.has(f.path)) throw new TarRefusal(`the manifest lists ${f.path} twice`);
		listed.set(f.path, f);
	}
	for (const f of files) {
		const entry = listed.get(f.path);
		if (!entry) throw new TarRefusal(`${f.path} is not in the manifest`);
		if (entry.size !== f.size) throw new TarRefusal(`${f.path} is ${f.size} bytes; the manifest says ${entry.size}`);
		if (entry.sha256 !== f.sha256) throw new TarRefusal(`${f.path} does not match its sha256 in the manifest`);
		listed.delete(f.path);
	}
	const [missing] = listed.keys();
	if (missing !== undefined) throw new TarRefusal(`${missing} is in the manifest but not in the bundle`);
}

/**
 * A bundle's log, checked as it streams (never held whole): it parses line by line as the store reads one, folds to
 * a run, every event is of run `runId`, and it carries no creator mark. The first problem stops the checking.
 */
class LogCheck {
	private readonly tail = new EventLogTail(EVENTS);
	private state: RunState | undefined;
	private count = 0;
	private problem: string | undefined;

	constructor(private readonly runId: string) {}

	feed(chunk: Buffer): void {
		if (this.problem || this.tail.errors.length > 0) return;
		for (const e of this.tail.feed(chunk)) {
			this.count++;
			if (e.runId !== this.runId)
				this.problem = `${EVENTS} line ${e.seq} is an event of run ${e.runId}, not ${this.runId}`;
			else if (e.type === "run.created" && e.data.owner !== undefined)
				this.problem =
					"its log carries a creator mark, which pi-crew export never writes: a run is imported only as foreign";
			else
				try {
					this.state = applyEvent(this.state, e);
				} catch (err) {
					this.problem = `${EVENTS}: ${(err as Error).message}`;
				}
			if (this.problem) return;
		}
	}

	/** Throws TarRefusal with the log's first problem, once it has been read whole. */
	verdict(): void {
		const [problem] = [...this.tail.errors, ...this.tail.tornTail()];
		if (problem) throw new TarRefusal(`${EVENTS} line ${problem.line}: ${problem.message}`);
		if (this.count === 0) throw new TarRefusal(`${EVENTS} holds no events`);
		if (this.problem) throw new TarRefusal(this.problem);
	}
}
