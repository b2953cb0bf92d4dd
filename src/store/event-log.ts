/**
 * The append-only event log of one run (`events.jsonl`). One writer per run (the coordinator holding the lease);
 * appends are group-committed: every event queued while a batch is being written and fsynced goes into the next
 * batch, so throughput scales with load and no event is acknowledged before it is durable.
 */

import type { FileHandle } from "node:fs/promises";
import { open, readFile, truncate } from "node:fs/promises";
import { correlatedLine, eventCorrelationId } from "../util/correlation.js";
import { redactStrings } from "../util/redact.js";
import type { Problem } from "../util/yaml-source.js";
import { type CrewEvent, EVENT_TYPES, EVENT_VERSION, type EventPayloads, type EventType } from "./events.js";

export interface ReadResult {
	events: CrewEvent[];
	/** A torn last line (crash mid-write): reported, ignored. */
	warnings: Problem[];
	/** Corrupt lines elsewhere, bad shapes and seq gaps: reported with file and line; the rest stays readable. */
	errors: Problem[];
	/** Byte length of the well-formed prefix ending in a newline (where a resumed writer continues). */
	goodBytes: number;
}

export async function readEventLog(file: string): Promise<ReadResult> {
	const buf = await readFile(file);
	return parseEventLog(buf, file);
}

export function parseEventLog(buf: Buffer, file: string): ReadResult {
	const events: CrewEvent[] = [];
	const warnings: Problem[] = [];
	const errors: Problem[] = [];
	let offset = 0;
	let line = 0;
	let goodBytes = 0;
	while (offset < buf.length) {
		line++;
		const nl = buf.indexOf(10, offset);
		const end = nl < 0 ? buf.length : nl;
		const text = buf.toString("utf8", offset, end);
		offset = end + 1;
		if (nl < 0) {
			// No newline: the writer died mid-line. Never acknowledged, so dropping it loses nothing.
			warnings.push({ file, line, message: "torn last line ignored (the writer stopped mid-write)" });
			break;
		}
		goodBytes = offset;
		if (text.trim() === "") continue;
		const event = parseLine(text);
		if (typeof event === "string") {
			errors.push({ file, line, message: event });
			continue;
		}
		const expected = (events.at(-1)?.seq ?? 0) + 1;
		if (event.seq !== expected) errors.push({ file, line, message: `seq ${event.seq} where ${expected} was expected` });
		events.push(event);
	}
	return { events, warnings, errors, goodBytes };
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
	return e as CrewEvent;
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
		return new EventLogWriter(await open(file, "wx"), runId, 0, options);
	}

	/** Continue an existing log after its last good line (a torn tail is cut off first). */
	static async resume(file: string, runId: string, options: EventLogOptions = {}): Promise<EventLogWriter> {
		const read = await readEventLog(file);
		await truncate(file, read.goodBytes);
		return new EventLogWriter(await open(file, "a"), runId, read.events.at(-1)?.seq ?? 0, options);
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
