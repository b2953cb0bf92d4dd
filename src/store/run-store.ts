/**
 * Where runs live (`<repo>/.crew/runs/<runId>/`) and how they are read back: the log folded into state, plus the
 * lease telling whether its coordinator is still alive. Ids from input are validated; symlinked state is refused.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { debuglog } from "node:util";
import { type Static, Type } from "typebox";
import { Compile } from "typebox/schema";
import { importedHere } from "../config/owner.js";
import { UsageError } from "../util/errors.js";
import { redact } from "../util/redact.js";
import { assertNoSymlinks, confined, makeDirs, readConfined, writeFileAtomic } from "../util/safe-fs.js";
import type { Problem } from "../util/yaml-source.js";
import { readCheckpoint } from "./checkpoint.js";
import { EventLogTail, untrustedLog } from "./event-log.js";
import { type CrewEvent, type RunState, type RunStatus, TERMINAL_RUN } from "./events.js";
import { applyEvent } from "./fold.js";
import { holderLiveness, type LeaseHolder, readLease } from "./lease.js";
import type { Integrity } from "./log-chain.js";

/** Notes on how a run was read (NODE_DEBUG=pi-crew): why a checkpoint was not used. */
const debug = debuglog("pi-crew");

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export class InvalidIdError extends UsageError {
	constructor(kind: string, id: string) {
		super(`invalid ${kind} id ${JSON.stringify(id)}: use letters, digits, '.', '_' and '-' (at most 96)`);
	}
}

export function assertSafeId(kind: string, id: string): string {
	if (!SAFE_ID.test(id) || id.includes("..")) throw new InvalidIdError(kind, id);
	return id;
}

export function newRunId(now = new Date(), random: () => Buffer = () => randomBytes(3)): string {
	const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
	return `${stamp}-${random().toString("hex")}`;
}

export interface RunPaths {
	/** The repository: nothing from here down to a run's files may be a link. */
	repo: string;
	runId: string;
	dir: string;
	events: string;
	lease: string;
	artifacts: string;
	summary: string;
	/** The import record of a run brought in from a bundle (`pi-crew import`); absent for runs made here. */
	imported: string;
}

/**
 * pi-crew's own state in a repository (relative paths; what `init`'s `.crew/.gitignore` lists): never part of what a
 * run changed in the checkout.
 */
export const CREW_STATE: readonly string[] = [
	".crew/runs",
	".crew/metrics",
	".crew/exports",
	".crew/tmp",
	".crew/removed-runs.jsonl",
];

export function runsDir(repo: string): string {
	return join(repo, ".crew", "runs");
}

/** Kinds of work directories under `.crew/tmp/`: an import being written, a run being removed. */
export type TempKind = "import" | "remove";
/** A work directory's name: its kind, the pid of the process at work, a random part. */
export const TEMP_NAME = /^(import|remove)-(\d+)-[0-9a-f]{8}$/;

/**
 * Where operations stage whole run directories (`.crew/tmp/`): on the same file system as the runs, so a run appears
 * or disappears with one rename. `pi-crew cleanup` removes work directories whose process is gone.
 */
export function crewTemp(repo: string): string {
	return join(repo, ".crew", "tmp");
}

/** A fresh work directory's path under `.crew/tmp/` (not created). */
export function tempDirPath(repo: string, kind: TempKind): string {
	return join(crewTemp(repo), `${kind}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

export function runPaths(repo: string, runId: string): RunPaths {
	const dir = join(runsDir(repo), assertSafeId("run", runId));
	const artifacts = join(dir, "artifacts");
	return {
		repo,
		runId,
		dir,
		events: join(dir, "events.jsonl"),
		lease: join(dir, "lease.json"),
		artifacts,
		summary: join(artifacts, "summary.md"),
		imported: join(dir, IMPORT_RECORD),
	};
}

export const IMPORT_RECORD = "import.json";

/** What `pi-crew import` writes beside a run it brings in (never part of a bundle). */
export const ImportRecordSchema = Type.Object({
	/** The bundle's file name (not its path) and its sha256. */
	bundle: Type.String(),
	sha256: Type.String(),
	importedAt: Type.String(),
	/** When and by which pi-crew version the bundle was made. */
	exportedAt: Type.String(),
	piCrew: Type.String(),
	/** This user's import mark (config/owner.ts importMark). */
	mark: Type.String(),
});
export type ImportRecord = Static<typeof ImportRecordSchema>;

let importRecordCheck: ReturnType<typeof Compile> | undefined;

/** The run's import record when this user imported it here; anything else (none, unreadable, forged) is undefined. */
async function readImportRecord(paths: RunPaths): Promise<ImportRecord | undefined> {
	const text = await readConfined(paths.dir, IMPORT_RECORD).catch(() => undefined);
	if (text === undefined) return undefined;
	let record: unknown;
	try {
		record = JSON.parse(text);
	} catch {
		return undefined;
	}
	importRecordCheck ??= Compile(ImportRecordSchema);
	if (!importRecordCheck.Check(record)) return undefined;
	const valid = record as ImportRecord;
	return (await importedHere(paths.runId, valid.mark)) ? valid : undefined;
}

export async function createRunDir(repo: string, runId: string): Promise<RunPaths> {
	const paths = runPaths(repo, runId);
	await makeDirs(repo, runsDir(repo));
	await mkdir(paths.dir); // fails if the id is taken, a link included
	await makeDirs(repo, paths.artifacts);
	return paths;
}

/**
 * An attempt's directory, relative to the run's artifacts: its system prompt, and a child worker's transcript
 * (`transcript.jsonl`, pi's JSON events) and stderr. A task's prompt and result sit one level up, in `tasks/<id>/`.
 */
export function attemptDir(taskId: string, attempt: number): string {
	return `tasks/${taskId}/attempt-${attempt}`;
}

/** Writes a file under the run's artifacts atomically, secrets redacted; `rel` must stay inside the artifacts. */
export async function writeArtifact(paths: RunPaths, rel: string, content: string): Promise<string> {
	return writeFileAtomic(paths.repo, confined(paths.artifacts, rel), redact(content));
}

export async function listRunIds(repo: string): Promise<string[]> {
	await assertNoSymlinks(repo, runsDir(repo));
	const names = await readdir(runsDir(repo)).catch((err: NodeJS.ErrnoException) => {
		if (err.code === "ENOENT") return [] as string[];
		throw err;
	});
	return names.filter((n) => SAFE_ID.test(n)).sort();
}

export interface RunView {
	state: RunState;
	/** The fold's status, except that a non-terminal run whose coordinator is gone reads `interrupted`. */
	status: RunStatus;
	coordinator?: LeaseHolder;
	problems: Problem[];
	paths: RunPaths;
	/** Set when this user imported the run from a bundle: a foreign copy to inspect, never resumed here. */
	imported?: ImportRecord;
	/**
	 * Whether its log is the coordinator's, line by line (store/log-chain.ts). Not `verified`: the state is what the
	 * lines up to the first bad one say, and the run is never resumed, requeued or applied.
	 */
	integrity: Integrity;
	/** Why it is not verified (file, line, what). */
	integrityProblem?: Problem;
}

/**
 * A run's status as people are shown it: `tampered` for a run whose log does not verify (its folded status is only
 * what the lines before the bad one say, never what was forged), else its status.
 */
export function shownStatus(view: Pick<RunView, "status"> & { integrity?: Integrity }): string {
	return view.integrity === "tampered" ? "tampered" : view.status;
}

/** A run whose log breaks at its first line: there is no state to show at all. */
export class TamperedRunError extends UsageError {}

/** Why pi-crew must not act on the run (its log does not verify), or undefined when it may. */
export function untrustedReason(view: Pick<RunView, "state" | "integrity" | "integrityProblem">): string | undefined {
	return view.integrity === "verified"
		? undefined
		: untrustedLog(view.state.runId, view.integrity, view.integrityProblem);
}

export class RunNotFoundError extends UsageError {
	constructor(runId: string) {
		super(`no run ${runId} in this repository (see: pi-crew list)`);
	}
}

/** A run's view; `observe` sees each event of its log with the state right after it, as the log is folded. */
export async function loadRun(
	repo: string,
	runId: string,
	observe?: (event: CrewEvent, state: RunState) => void,
): Promise<RunView> {
	const tail = new RunTail(repo, runId);
	await tail.poll(observe);
	return tail.view(observe);
}

/**
 * A run followed through its log from any process (status --follow, cancel and steer waiting for an answer, the
 * background start, the live view): the folded state, brought up to date by reading and folding only the events
 * appended since the last poll.
 */
export class RunTail {
	readonly paths: RunPaths;
	state: RunState | undefined;
	private log: EventLogTail;
	private checked = false;
	private imported: ImportRecord | undefined;

	constructor(
		private readonly repo: string,
		readonly runId: string,
	) {
		this.paths = runPaths(repo, runId);
		this.log = new EventLogTail(this.paths.events, { runId });
	}

	/**
	 * Reads and folds what was appended since the last poll; `observe` sees each new event with the state after it. The
	 * first poll starts from the run's checkpoint (store/checkpoint.ts) when the caller needs no event before it: no
	 * `observe`, or `restored`, which is then given the checkpoint's state (it sees only the events after it).
	 */
	async poll(
		observe?: (event: CrewEvent, state: RunState) => void,
		restored?: (state: RunState) => void,
	): Promise<CrewEvent[]> {
		if (!this.checked) {
			await assertNoSymlinks(this.repo, this.paths.dir);
			// Written once, before the run's directory appears: read once.
			this.imported = await readImportRecord(this.paths);
			this.checked = true;
			const tail = !observe || restored ? await this.fromCheckpoint() : undefined;
			if (tail) {
				this.state = tail.state;
				restored?.(tail.state);
				return this.fold(tail.events, observe);
			}
		}
		const events = await this.log.read().catch((err: NodeJS.ErrnoException) => {
			if (err.code === "ENOENT") throw new RunNotFoundError(this.runId);
			throw err;
		});
		return this.fold(events, observe);
	}

	private fold(events: CrewEvent[], observe?: (event: CrewEvent, state: RunState) => void): CrewEvent[] {
		for (const e of events) {
			this.state = applyEvent(this.state, e);
			observe?.(e, this.state);
		}
		return events;
	}

	/**
	 * The state of the run's checkpoint and the events of the log after it, when the checkpoint is sound and that tail
	 * reads cleanly (verified, no bad line); else undefined, and nothing is kept: the whole log is read.
	 */
	private async fromCheckpoint(): Promise<{ state: RunState; events: CrewEvent[] } | undefined> {
		const place = { repo: this.repo, dir: this.paths.dir, runId: this.runId, events: this.paths.events };
		const restored = await readCheckpoint(place).catch((err: Error) => `checkpoint unreadable: ${err.message}`);
		if (typeof restored === "string") {
			debug("%s: reading the whole log: %s", this.runId, restored);
			return undefined;
		}
		const log = new EventLogTail(this.paths.events, { runId: this.runId });
		log.startAt(restored.at, restored.keys);
		const events = await log.read();
		if (log.integrity !== "verified" || log.errors.length > 0) {
			debug("%s: reading the whole log: the lines after the checkpoint do not read cleanly", this.runId);
			return undefined;
		}
		this.log = log;
		return { state: restored.state, events };
	}

	/**
	 * The view as of the last poll, with the coordinator's liveness read now. A coordinator writes its last event before
	 * it lets go of its lease: when the lease is gone and the run has not ended as of the last poll, the log is read once
	 * more (`observe` sees what that adds), so a run that ended in between reads as it ended, not as interrupted.
	 */
	async view(observe?: (event: CrewEvent, state: RunState) => void): Promise<RunView> {
		const gone = (holder: LeaseHolder | undefined) => !holder || holderLiveness(holder) === "dead";
		let coordinator = await readLease(this.paths.lease);
		if (this.state && !TERMINAL_RUN.has(this.state.status) && gone(coordinator)) {
			await this.poll(observe);
			coordinator = await readLease(this.paths.lease);
		}
		const state = this.state;
		const { integrity, integrityProblem } = this.log;
		if (!state && integrity === "tampered")
			throw new TamperedRunError(untrustedLog(this.runId, integrity, integrityProblem));
		if (!state) throw new RunNotFoundError(this.runId);
		let status = state.status;
		if (!TERMINAL_RUN.has(status) && gone(coordinator)) status = "interrupted";
		const problems = [...(integrityProblem ? [integrityProblem] : []), ...this.log.errors, ...this.log.tornTail()];
		for (const a of state.anomalies) problems.push({ file: this.paths.events, message: `ignored event: ${a}` });
		return {
			state,
			status,
			coordinator,
			problems,
			paths: this.paths,
			...(this.imported ? { imported: this.imported } : {}),
			integrity,
			...(integrityProblem ? { integrityProblem } : {}),
		};
	}
}
