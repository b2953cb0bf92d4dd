/**
 * The append-only event log of one run (`events.jsonl`). One writer per run (the coordinator holding the lease);
 * appends are group-committed: every event queued while a batch is being written and fsynced goes into the next
 * batch, so throughput scales with load and no event is acknowledged before it is durable. Every line is signed
 * (log-chain.ts) and every read checks the chain; the writer notices at once when anything else writes its file.
 */

import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { Compile, type Validator } from "typebox/schema";
import { type RunKeys, runKeys } from "../config/owner.js";
import { correlatedLine, eventCorrelationId } from "../util/correlation.js";
import { UsageError } from "../util/errors.js";
import { LineTail } from "../util/line-tail.js";
import { redactStrings } from "../util/redact.js";
import { openAppend, openExclusive } from "../util/safe-fs.js";
import type { Problem } from "../util/yaml-source.js";
import {
	type CrewEvent,
	EVENT_PAYLOADS,
	EVENT_TYPES,
	EVENT_VERSION,
	type EventPayloads,
	type EventType,
} from "./events.js";
import { type Integrity, LogChain, signLine } from "./log-chain.js";

export interface ReadResult {
	events: CrewEvent[];
	/** A torn last line (crash mid-write): reported, ignored. */
	warnings: Problem[];
	/** Corrupt lines elsewhere, bad shapes and seq gaps: reported with file and line; the rest stays readable. */
	errors: Problem[];
	/** Byte length of the well-formed prefix ending in a newline (where a resumed writer continues). */
	goodBytes: number;
	/** Whether every line is the coordinator's (see log-chain.ts); `events` stop before the first line that is not. */
	integrity: Integrity;
	/** Why it is not verified. */
	integrityProblem?: Problem;
	/** The MAC of the last line (where a resumed writer continues the chain). */
	lastMac: string;
}

/** Whose log a tail reads: the run (its key; else the run id of the first line) and the crew home holding the key. */
export interface TailOptions {
	runId?: string;
	home?: string;
}

/** One whole read of a log (a fresh tail, read once). */
export async function readEventLog(file: string, options: TailOptions = {}): Promise<ReadResult> {
	const tail = new EventLogTail(file, options);
	const events = await tail.read();
	return {
		events,
		warnings: tail.tornTail(),
		errors: tail.errors,
		goodBytes: tail.offset,
		integrity: tail.integrity,
		...(tail.integrityProblem ? { integrityProblem: tail.integrityProblem } : {}),
		lastMac: tail.lastMac,
	};
}

/**
 * Reads a log as it grows, from any process (see LineTail): each read parses and checks only the lines appended since
 * the previous one, keeping the last seq to report gaps.
 */
export class EventLogTail {
	/** Corrupt lines, bad shapes and seq gaps met so far, with file and line. */
	readonly errors: Problem[] = [];
	private readonly lines: LineTail;
	private line = 0;
	private lastSeq = 0;
	private chain: LogChain | undefined;

	constructor(
		readonly file: string,
		private readonly options: TailOptions = {},
	) {
		this.lines = new LineTail(file);
	}

	/** Bytes of complete lines read so far. */
	get offset(): number {
		return this.lines.offset;
	}

	/** Whether every line read so far is the coordinator's (an empty log is). */
	get integrity(): Integrity {
		return this.chain?.integrity ?? "verified";
	}

	get integrityProblem(): Problem | undefined {
		return this.chain?.problem;
	}

	get lastMac(): string {
		return this.chain?.lastMac ?? "";
	}

	/**
	 * Reads on from `at`, a place a checkpoint vouches for (store/checkpoint.ts), instead of from the start: the next
	 * line must chain from its MAC under `keys`. Only before the first read.
	 */
	startAt(at: LogPosition, keys: RunKeys): void {
		this.lines.offset = at.offset;
		this.line = at.seq; // the coordinator writes one line per event, seq 1 first
		this.lastSeq = at.seq;
		this.chain = LogChain.continuing(this.file, keys, at.mac);
	}

	/** The complete events appended since the last read, in order (none from a line that breaks the chain on). */
	async read(): Promise<CrewEvent[]> {
		const lines = await this.lines.read();
		this.chain ??= await this.chainFor(lines);
		return this.parse(lines);
	}

	/**
	 * The complete events of `buf`, the bytes that follow what was read so far (from memory: an imported bundle's log
	 * is checked this way before anything is written). No key is looked up: such a log is never this user's to verify.
	 */
	feed(buf: Buffer): CrewEvent[] {
		this.chain ??= new LogChain(this.file, undefined);
		return this.parse(this.lines.feed(buf));
	}

	/** The chain of the log whose first lines are `lines` (none yet while they are all empty). */
	private async chainFor(lines: string[]): Promise<LogChain | undefined> {
		const first = lines.find((l) => l.trim() !== "");
		if (first === undefined) return undefined;
		const runId = this.options.runId ?? runIdOf(first);
		const keys = runId === undefined ? undefined : await runKeys(runId, false, this.options.home);
		return new LogChain(this.file, keys);
	}

	private parse(lines: string[]): CrewEvent[] {
		const events: CrewEvent[] = [];
		for (const line of lines) {
			this.line++;
			const text = this.chain ? this.chain.check(line, this.line) : line;
			if (text === undefined) break;
			if (text.trim() === "") continue;
			const event = parseLine(text);
			if (typeof event === "string") {
				this.errors.push({ file: this.file, line: this.line, message: event });
				continue;
			}
			const expected = this.lastSeq + 1;
			if (event.seq !== expected)
				this.errors.push({
					file: this.file,
					line: this.line,
					message: `seq ${event.seq} where ${expected} was expected`,
				});
			this.lastSeq = event.seq;
			events.push(event);
		}
		return events;
	}

	/** A partial last line: a writer that died mid-write (never acknowledged, so ignoring it loses nothing). */
	tornTail(): Problem[] {
		return this.lines.pending > 0
			? [{ file: this.file, line: this.line + 1, message: "torn last line ignored (the writer stopped mid-write)" }]
			: [];
	}
}

/** The run id a line names, if it is a JSON object with one. */
function runIdOf(text: string): string | undefined {
	try {
		const { runId } = JSON.parse(text) as { runId?: unknown };
		return typeof runId === "string" ? runId : undefined;
	} catch {
		return undefined;
	}
}

function parseLine(text: string): CrewEvent | string {
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch (err) {
		return `corrupt line: ${(err as Error).message}`;
	}
	const e = raw as Partial<CrewEvent>;
	if (typeof e !== "object" || e === null) return "corrupt line: not an object";
	if (typeof e.v !== "number" || e.v > EVENT_VERSION) return `unsupported event version ${String(e.v)}`;
	if (!Number.isInteger(e.seq) || typeof e.ts !== "string" || typeof e.runId !== "string")
		return "corrupt line: missing seq, ts or runId";
	if (typeof e.type !== "string" || !EVENT_TYPES.has(e.type)) return `unknown event type ${String(e.type)}`;
	if (typeof e.data !== "object" || e.data === null) return "corrupt line: missing data";
	if (e.round !== undefined && (!Number.isInteger(e.round) || e.round < 2 || typeof e.taskId !== "string"))
		return `corrupt line: round ${JSON.stringify(e.round)} (a task event's loop round, an integer of 2 or more)`;
	const validator = payloadValidator(e.type as EventType);
	if (!validator.Check(e.data)) {
		const [, errors] = validator.Errors(e.data);
		const first = errors[0];
		return `invalid ${e.type} data${first ? `: ${first.instancePath || "/"} ${first.message}` : ""}`;
	}
	return e as CrewEvent;
}

const validators = new Map<EventType, Validator>();

/** A compiled validator of one event type's payload, built on first use. */
function payloadValidator(type: EventType): Validator {
	let validator = validators.get(type);
	if (!validator) {
		validator = Compile(EVENT_PAYLOADS[type]) as unknown as Validator;
		validators.set(type, validator);
	}
	return validator;
}

type Listener = (event: CrewEvent) => void;

/** A place in a log the writer made durable: its byte length, the seq of its last event and that line's MAC. */
export interface LogPosition {
	offset: number;
	seq: number;
	mac: string;
}

export interface EventLogOptions {
	now?: () => Date;
	/** The crew home whose key signs the log (default: this user's). */
	home?: string;
}

/** Where a writer starts: its file and handle, the run's keys, and the chain and bytes written so far. */
interface WriterStart {
	file: string;
	handle: FileHandle;
	runId: string;
	seq: number;
	keys: RunKeys;
	mac: string;
	offset: number;
	/** What the log holds already (a resumed one): the loop rounds its tasks are in. */
	events?: CrewEvent[];
}

/** The file's modification time, as its handle sees it. */
async function mtimeOf(handle: FileHandle): Promise<bigint> {
	return (await handle.stat({ bigint: true })).mtimeNs;
}

/**
 * The single writer of a run's log. Obtain it only while holding the run's lease. It knows the exact bytes it wrote:
 * at every flush, and whenever the file changes (a watcher), the file must still be its own (same inode), as long as
 * it wrote and last modified when it wrote; anything else is a foreign write (see `onForeignWrite`).
 */
export class EventLogWriter {
	private pending: {
		line: string;
		mac: string;
		event: CrewEvent;
		resolve: () => void;
		reject: (e: Error) => void;
	}[] = [];
	private flushing: Promise<void> | undefined;
	private failure: Error | undefined;
	private readonly listeners = new Set<Listener>();
	private readonly durableListeners = new Set<(at: LogPosition) => void>();
	private readonly now: () => Date;
	readonly runId: string;
	private readonly file: string;
	private readonly handle: FileHandle;
	private readonly keys: RunKeys;
	private seq: number;
	private mac: string;
	private offset: number;
	/** The file's mtime after the writer's last write: any other change moves it. */
	private mtime: bigint;
	private checkRequested = false;
	private foreign: string | undefined;
	private readonly foreignListeners = new Set<(why: string) => void>();
	private readonly watcher: FSWatcher | undefined;
	/** Each task's loop round past the first, as the log's `task.looped` events set it (the fold's `round`). */
	private readonly rounds = new Map<string, number>();

	private constructor(start: WriterStart & { mtime: bigint }, options: EventLogOptions) {
		({ file: this.file, handle: this.handle, runId: this.runId, seq: this.seq, keys: this.keys } = start);
		for (const e of start.events ?? []) this.noteRound(e);
		this.mac = start.mac;
		this.offset = start.offset;
		this.mtime = start.mtime;
		this.now = options.now ?? (() => new Date());
		try {
			// Prompt notice of a foreign write; the check at every flush holds without it (no inotify, a replaced file).
			this.watcher = watch(this.file, { persistent: false }, () => this.requestCheck());
			this.watcher.on("error", () => undefined);
		} catch {
			this.watcher = undefined;
		}
	}

	/** A new log; fails if one exists. */
	static async create(file: string, runId: string, options: EventLogOptions = {}): Promise<EventLogWriter> {
		const keys = (await runKeys(runId, true, options.home)) as RunKeys;
		await (await openExclusive(dirname(file), file)).close();
		// Appending (O_APPEND): bytes something else adds stay where they are, for readers to find at their line.
		const handle = await openAppend(dirname(file), file);
		const mtime = await mtimeOf(handle);
		return new EventLogWriter({ file, handle, runId, seq: 0, keys, mac: "", offset: 0, mtime }, options);
	}

	/**
	 * Continue an existing log after its last good line (a torn tail is cut off first). Only a log that verifies is
	 * continued: a tampered or unauthenticated one is refused (UntrustedLogError).
	 */
	static async resume(file: string, runId: string, options: EventLogOptions = {}): Promise<EventLogWriter> {
		const read = await readEventLog(file, { runId, home: options.home });
		if (read.integrity !== "verified") throw new UntrustedLogError(runId, read.integrity, read.integrityProblem);
		const keys = (await runKeys(runId, false, options.home)) as RunKeys;
		const handle = await openAppend(dirname(file), file);
		const seq = read.events.at(-1)?.seq ?? 0;
		const start = { file, handle, runId, seq, keys, mac: read.lastMac, offset: read.goodBytes, events: read.events };
		try {
			await handle.truncate(read.goodBytes);
			return new EventLogWriter({ ...start, mtime: await mtimeOf(handle) }, options);
		} catch (err) {
			await handle.close();
			throw err;
		}
	}

	/** Why the file is no longer only what this writer wrote, once it is not. */
	get foreignWrite(): string | undefined {
		return this.foreign;
	}

	/** Called once, when something other than this writer is found to have written (or replaced) the file. */
	onForeignWrite(listener: (why: string) => void): void {
		this.foreignListeners.add(listener);
	}

	/** Checks the file now (after what is being written): why it is not only this writer's, or undefined. */
	async checkOwnBytes(): Promise<string | undefined> {
		this.requestCheck();
		await this.drain();
		return this.foreign;
	}

	get lastSeq(): number {
		return this.seq;
	}

	/** Called with each event once it is durable, in seq order. */
	subscribe(listener: Listener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** Resolves with the event once it is on disk (fsynced). Rejects with the real I/O error if it could not be. */
	append<K extends EventType>(type: K, data: EventPayloads[K], taskId?: string): Promise<CrewEvent> {
		if (this.failure) return Promise.reject(this.failure);
		// Each event of a task in a later loop round says which, wherever it was logged from.
		const round = taskId === undefined ? undefined : this.rounds.get(taskId);
		// Secrets never reach the log (every string is redacted); listeners see exactly what the log holds.
		const event = {
			v: EVENT_VERSION,
			seq: this.seq + 1,
			ts: this.now().toISOString(),
			runId: this.runId,
			...(taskId !== undefined ? { taskId } : {}),
			cid: eventCorrelationId(this.runId, taskId),
			...(round !== undefined ? { round } : {}),
			type,
			data: redactStrings(data),
		};
		const { line, mac } = signLine(this.keys.log, this.mac, JSON.stringify(event));
		this.mac = mac;
		this.seq++;
		const full = event as CrewEvent;
		this.noteRound(full);
		return new Promise((resolve, reject) => {
			this.pending.push({ line: `${line}\n`, mac, event: full, resolve: () => resolve(full), reject });
			this.flushing ??= this.flushLoop();
		});
	}

	/**
	 * Called after each durable batch, once every event listener saw its events: where the log then ends. What a listener
	 * folded is the state at exactly that position (store/checkpoint.ts snapshots it there).
	 */
	onDurable(listener: (at: LogPosition) => void): void {
		this.durableListeners.add(listener);
	}

	/** A loop's next round: the tasks it reopens are in it from their next event on (store/fold.ts loopBack). */
	private noteRound(e: CrewEvent): void {
		if (e.type === "task.looped") for (const id of e.data.reopened) this.rounds.set(id, e.data.round);
	}

	/** Waits until everything appended so far is durable. */
	async drain(): Promise<void> {
		while (this.flushing) await this.flushing;
		if (this.failure) throw this.failure;
	}

	async close(): Promise<void> {
		try {
			await this.drain();
		} finally {
			this.watcher?.close();
			await this.handle.close();
		}
	}

	private requestCheck(): void {
		if (this.foreign !== undefined || this.failure) return;
		this.checkRequested = true;
		this.flushing ??= this.flushLoop();
	}

	/** Compares the file at its path with what this writer wrote through its handle. */
	private async compareOwnBytes(): Promise<void> {
		if (this.foreign !== undefined) return;
		const [mine, there] = await Promise.all([
			this.handle.stat({ bigint: true }),
			stat(this.file, { bigint: true }).catch(() => undefined),
		]);
		const why = !there
			? "the file was removed or moved away"
			: there.ino !== mine.ino || there.dev !== mine.dev
				? "the file was replaced"
				: mine.size !== BigInt(this.offset)
					? `it holds ${mine.size} bytes where the coordinator wrote ${this.offset}`
					: mine.mtimeNs !== this.mtime
						? "it was rewritten in place"
						: undefined;
		if (why === undefined) return;
		this.foreign = why;
		for (const listener of this.foreignListeners) listener(why);
	}

	/** A failing listener (a UI, a printer) must not stop the run: the log is the truth and it is intact. */
	private notify(listener: Listener, event: CrewEvent): void {
		try {
			listener(event);
		} catch (err) {
			this.listeners.delete(listener);
			process.emitWarning(
				correlatedLine(`pi-crew: an event listener failed and was removed: ${(err as Error).message}`),
			);
		}
	}

	private async flushLoop(): Promise<void> {
		// Let the current tick's appends join the first batch.
		await Promise.resolve();
		while (this.pending.length > 0 || this.checkRequested) {
			this.checkRequested = false;
			const batch = this.pending;
			this.pending = [];
			try {
				await this.compareOwnBytes();
				if (batch.length === 0) continue;
				const text = batch.map((p) => p.line).join("");
				await this.handle.appendFile(text);
				await this.handle.datasync();
				this.offset += Buffer.byteLength(text);
				this.mtime = await mtimeOf(this.handle);
			} catch (err) {
				this.failure = new Error(`cannot append to the event log of run ${this.runId}: ${(err as Error).message}`, {
					cause: err,
				});
				for (const p of [...batch, ...this.pending]) p.reject(this.failure);
				this.pending = [];
				break;
			}
			for (const p of batch) {
				for (const listener of this.listeners) this.notify(listener, p.event);
				p.resolve();
			}
			const last = batch[batch.length - 1] as (typeof batch)[number];
			const at = { offset: this.offset, seq: last.event.seq, mac: last.mac };
			for (const listener of this.durableListeners) listener(at);
		}
		this.flushing = undefined;
	}
}

/** A log that does not verify: never continued (resumed, requeued, dead-lettered by hand). */
export class UntrustedLogError extends UsageError {
	constructor(runId: string, integrity: Integrity, problem: Problem | undefined) {
		super(untrustedLog(runId, integrity, problem));
	}
}

/** Why pi-crew does not act on run `runId`, whose log reads `integrity` (not verified), and what to do. */
export function untrustedLog(runId: string, integrity: Integrity, problem: Problem | undefined): string {
	const where = problem ? ` (${problem.file}${problem.line ? `:${problem.line}` : ""}: ${problem.message})` : "";
	const what =
		integrity === "tampered"
			? "its event log was changed by something other than the coordinator"
			: "its event log cannot be authenticated here";
	return `run ${runId}: ${what}${where}. pi-crew never resumes, requeues, applies or changes a run whose log does not verify; inspect it (pi-crew status ${runId}, pi-crew events ${runId}) and start a new run`;
}
