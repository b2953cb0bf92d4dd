/**
 * Run bundles: `pi-crew export <runId>` packs a run into one portable, redacted `.tar.gz`; `pi-crew import FILE`
 * restores one as a foreign, read-only run. A bundle is input from anywhere: it is read whole into memory, every entry
 * and the manifest are checked, and only then is anything written (into a temp directory under `.crew/tmp/`, renamed
 * into `.crew/runs/<runId>` at once). A refused bundle has written nothing.
 *
 * Layout: one top directory named by the run id, holding `manifest.json` (first), `events.jsonl`, `coordinator.log`
 * when there is one, and `artifacts/**`. Left out: `lease.json` and its drafts (who coordinates the run here), and
 * `control/` (commands for a live coordinator): neither means anything on another machine.
 */
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, rename, rmdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { Type } from "typebox";
import { Compile } from "typebox/schema";
import { importMark } from "../config/owner.js";
import { EventLogTail, readEventLog } from "../store/event-log.js";
import { type CrewEvent, foldEvents } from "../store/events.js";
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
 * nothing written) unless every check passes: see readTar for the entries, checkBundle for the rest. A run of the same
 * id that already exists here is never replaced.
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
	const bytes = await readBundleFile(path, limits);
	const bundle = await (async () => {
		try {
			return checkBundle(await readTar(bytes, limits));
		} catch (err) {
			if (err instanceof TarRefusal) throw new BundleError(path, err.message);
			throw err;
		}
	})();
	const { runId } = bundle.manifest;
	const target = runPaths(repo, runId).dir;
	if (await lstat(target).catch(() => undefined))
		throw new BundleError(path, `run ${runId} already exists here (${target}); an existing run is never replaced`);
	const record: ImportRecord = {
		bundle: basename(path),
		sha256: sha256(bytes),
		importedAt: (options.now ?? new Date()).toISOString(),
		exportedAt: bundle.manifest.created,
		piCrew: bundle.manifest.piCrew,
		mark: await importMark(runId),
	};
	await place(repo, target, [...bundle.files, { path: IMPORT_RECORD, data: Buffer.from(JSON.stringify(record)) }]);
	return {
		runId,
		dir: target,
		files: bundle.files.length,
		bytes: bundle.files.reduce((n, f) => n + f.data.length, 0),
		manifest: bundle.manifest,
	};
}

/** The bundle's bytes: a regular file (never a link, a FIFO or a device), no larger than the limit. */
async function readBundleFile(path: string, limits: TarLimits): Promise<Buffer> {
	const info = await lstat(path).catch(() => undefined);
	if (!info) throw new UsageError(`no bundle at ${path}`);
	if (!info.isFile()) throw new BundleError(path, "it is not a regular file (links are never followed)");
	if (info.size > limits.maxTotalBytes)
		throw new BundleError(path, `it is larger than ${limits.maxTotalBytes / MIB} MiB`);
	const handle = await openRead(path);
	try {
		return await handle.readFile();
	} finally {
		await handle.close();
	}
}

interface CheckedBundle {
	manifest: BundleManifest;
	/** The run's files, relative to its directory. */
	files: TarFile[];
}

let manifestCheck: ReturnType<typeof Compile> | undefined;

/**
 * The rest of a bundle's checks, once readTar has vetted its entries: one top directory named by a valid run id, a
 * manifest of a known schema that lists exactly the files there are with their sizes and sha256, only the layout a
 * bundle has (events.jsonl, coordinator.log, artifacts/), and a log that reads as a valid run of that id with no
 * creator mark. Throws TarRefusal with the reason.
 */
function checkBundle(contents: { files: TarFile[]; dirs: string[] }): CheckedBundle {
	const tops = new Set([...contents.files.map((f) => f.path), ...contents.dirs].map((p) => p.split("/")[0]));
	if (tops.size !== 1) throw new TarRefusal(`a bundle holds one top directory; this one has ${tops.size}`);
	const [top = ""] = tops;
	const manifestFile = contents.files.find((f) => f.path === `${top}/${MANIFEST}`);
	if (!manifestFile) throw new TarRefusal(`no ${top}/${MANIFEST}`);
	const manifest = parseManifest(manifestFile.data);
	if (manifest.runId !== top)
		throw new TarRefusal(`the manifest is for run ${manifest.runId}, the bundle's directory is ${top}`);
	try {
		assertSafeId("run", manifest.runId);
	} catch (err) {
		throw new TarRefusal((err as Error).message);
	}
	const files = contents.files
		.filter((f) => f !== manifestFile)
		.map((f) => {
			if (!f.path.startsWith(`${top}/`))
				throw new TarRefusal(`${f.path} is a file where the run's directory should be`);
			return { path: f.path.slice(top.length + 1), data: f.data };
		});
	const dirs = contents.dirs.filter((d) => d !== top).map((d) => d.slice(top.length + 1));
	checkLayout(files, dirs);
	checkListed(manifest, files);
	const log = files.find((f) => f.path === EVENTS);
	if (!log) throw new TarRefusal(`no ${EVENTS}: a bundle carries the run's log`);
	checkLog(manifest.runId, log.data);
	return { manifest, files };
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

/** Only events.jsonl, coordinator.log and files under artifacts/; no path both a file and a directory. */
function checkLayout(files: TarFile[], dirs: string[]): void {
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
	const paths = new Set(files.map((f) => f.path));
	for (const p of [...paths, ...dirs]) {
		const parts = p.split("/");
		for (let i = 1; i < parts.length; i++) {
			const parent = parts.slice(0, i).join("/");
			if (paths.has(parent)) throw new TarRefusal(`${parent} is both a file and a directory`);
		}
	}
	for (const d of dirs) if (paths.has(d)) throw new TarRefusal(`${d} is both a file and a directory`);
}

/** The manifest lists exactly the bundle's files, each with its size and sha256. */
function checkListed(manifest: BundleManifest, files: TarFile[]): void {
	const listed = new Map<string, BundleManifest["files"][number]>();
	for (const f of manifest.files) {
		if (listed.has(f.path)) throw new TarRefusal(`the manifest lists ${f.path} twice`);
		listed.set(f.path, f);
	}
	for (const f of files) {
		const entry = listed.get(f.path);
		if (!entry) throw new TarRefusal(`${f.path} is not in the manifest`);
		if (entry.size !== f.data.length)
			throw new TarRefusal(`${f.path} is ${f.data.length} bytes; the manifest says ${entry.size}`);
		if (entry.sha256 !== sha256(f.data)) throw new TarRefusal(`${f.path} does not match its sha256 in the manifest`);
		listed.delete(f.path);
	}
	const [missing] = listed.keys();
	if (missing !== undefined) throw new TarRefusal(`${missing} is in the manifest but not in the bundle`);
}

/** The log parses line by line as the store reads one, folds to a run, and every event is of run `runId`. */
function checkLog(runId: string, data: Buffer): void {
	const tail = new EventLogTail(EVENTS);
	const events: CrewEvent[] = tail.feed(data);
	const [problem] = [...tail.errors, ...tail.tornTail()];
	if (problem) throw new TarRefusal(`${EVENTS} line ${problem.line}: ${problem.message}`);
	if (events.length === 0) throw new TarRefusal(`${EVENTS} holds no events`);
	const other = events.find((e) => e.runId !== runId);
	if (other) throw new TarRefusal(`${EVENTS} line ${other.seq} is an event of run ${other.runId}, not ${runId}`);
	try {
		foldEvents(events);
	} catch (err) {
		throw new TarRefusal(`${EVENTS}: ${(err as Error).message}`);
	}
	const [created] = events;
	if (created?.type === "run.created" && created.data.owner !== undefined)
		throw new TarRefusal(
			"its log carries a creator mark, which pi-crew export never writes: a run is imported only as foreign",
		);
}

/**
 * Writes the files into a fresh directory under `.crew/tmp/`, then renames it to `target` in one step: a reader sees
 * no run, or all of it. Whatever fails, the temp directory is removed.
 */
async function place(repo: string, target: string, files: TarFile[]): Promise<void> {
	await makeDirs(repo, crewTemp(repo));
	const tmp = tempDirPath(repo, "import");
	await mkdir(tmp);
	try {
		for (const f of files) {
			const handle = await openExclusive(tmp, join(tmp, ...f.path.split("/")), 0o600);
			try {
				await handle.writeFile(f.data);
				await handle.sync();
			} finally {
				await handle.close();
			}
		}
		await makeDirs(repo, runsDir(repo));
		// Checked again just before: a run of this id made meanwhile is never replaced (rename would take an empty one).
		if (await lstat(target).catch(() => undefined)) throw new UsageError(`run ${basename(target)} appeared meanwhile`);
		await rename(tmp, target);
	} catch (err) {
		await removeTree(repo, tmp).catch(() => undefined);
		throw err;
	} finally {
		await rmdir(crewTemp(repo)).catch(() => undefined); // only when empty: other work may be under way
	}
}
