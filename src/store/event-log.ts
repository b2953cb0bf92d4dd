/**
 * The append-only event log of one run (`events.jsonl`). One writer per run (the coordinator holding the lease);
 * appends are group-committed: every event queued while a batch is being written and fsynced goes into the next
 * batch, so throughput scales with load and no event is acknowledged before it is durable.
 */

import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { Compile, type Validator } from "typebox/schema";
import { correlatedLine, eventCorrelationId } from "../util/correlation.js";
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

export interface ReadResult {
	events: CrewEvent[];
	/** A torn last line (crash mid-write): reported, ignored. */
	warnings: Problem[];
	/** Corrupt lines elsewhere, bad shapes and seq gaps: reported with file and line; the rest stays readable. */
	errors: Problem[];
	/** Byte length of the well-formed prefix ending in a newline (where a resumed writer continues). */
	goodBytes: number;
}

/** One whole read of a log (a fresh tail, read once). */
export async function readEventLog(file: string): Promise<ReadResult> {
	const tail = new EventLogTail(file);
	const events = await tail.read();
	return { events, warnings: tail.tornTail(), errors: tail.errors, goodBytes: tail.offset };
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

	constructor(readonly file: string) {
		this.lines = new LineTail(file);
	}

	/** Bytes of complete lines read so far. */
	get offset(): number {
		return this.lines.offset;
	}

	/** The complete events appended since the last read, in order. */
	async read(): Promise<CrewEvent[]> {
		return this.parse(await this.lines.read());
	}

	/**
	 * The complete events of `buf`, the bytes that follow what was read so far (from memory: an imported bundle's log
	 * is checked this way before anything is written).
	 */
	feed(buf: Buffer): CrewEvent[] {
		return this.parse(this.lines.feed(buf));
	}

	private parse(lines: string[]): CrewEvent[] {
		const events: CrewEvent[] = [];
		for (const text of lines) {
			this.line++;
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

export interface EventLogOptions {
	now?: () => Date;
}

/** The single writer of a run's log. Obtain it only while holding the run's lease. */
export class EventLogWriter {
	private pending: { line: string; event: CrewEvent; resolve: () => void; reject: (e: Error) => void }[] = [];
	private flushing: Promise<void> | undefined;
	private failure: Error | undefined;
	private readonly listeners = new Set<Listener>();
	private readonly now: () => Date;

	private constructor(
		private readonly handle: FileHandle,
		readonly runId: string,
		private seq: number,
		options: EventLogOptions,
	) {
		this.now = options.now ?? (() => new Date());
	}

	/** A new log; fails if one exists. */
	static async create(file: string, runId: string, options: EventLogOptions = {}): Promise<EventLogWriter> {
		return new EventLogWriter(await openExclusive(dirname(file), file), runId, 0, options);
	}

	/** Continue an existing log after its last good line (a torn tail is cut off first). */
	static async resume(file: string, runId: string, options: EventLogOptions = {}): Promise<EventLogWriter> {
		const read = await readEventLog(file);
		const handle = await openAppend(dirname(file), file);
		await handle.truncate(read.goodBytes).catch(async (err) => {
			await handle.close();
			throw err;
		});
		return new EventLogWriter(handle, runId, read.events.at(-1)?.seq ?? 0, options);
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
		// Secrets never reach the log (every string is redacted); listeners see exactly what the log holds.
		const event = {
			v: EVENT_VERSION,
			seq: this.seq + 1,
			ts: this.now().toISOString(),
			runId: this.runId,
			...(taskId !== undefined ? { taskId } : {}),
			cid: eventCorrelationId(this.runId, taskId),
			type,
			data: redactStrings(data),
		};
		const line = JSON.stringify(event);
		this.seq++;
		const full = event as CrewEvent;
		return new Promise((resolve, reject) => {
			this.pending.push({ line: `${line}\n`, event: full, resolve: () => resolve(full), reject });
			this.flushing ??= this.flushLoop();
		});
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
			await this.handle.close();
		}
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
		while (this.pending.length > 0) {
			const batch = this.pending;
			this.pending = [];
			try {
				await this.handle.appendFile(batch.map((p) => p.line).join(""));
				await this.handle.datasync();
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
		}
		this.flushing = undefined;
	}
}
