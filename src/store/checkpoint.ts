/**
 * Checkpoints of a run's fold (`checkpoint.json` beside its log), so that opening a large run folds only the log's
 * tail. Derived, never a record: the log stays the only truth, a reader that finds anything wrong with a checkpoint
 * reads the whole log, and deleting checkpoints changes nothing but speed. The coordinator writes one every
 * CHECKPOINT_EVERY events and at the run's end, in the background, atomically; each is signed with the run's log key
 * (config/owner.ts runKeys), so one a worker forged, edited or copied from another run is refused.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { type RunKeys, runKeys } from "../config/owner.js";
import { openRead, readConfined, writeFileAtomic } from "../util/safe-fs.js";
import type { EventLogWriter, LogPosition } from "./event-log.js";
import { type RunState, TERMINAL_RUN } from "./events.js";

export const CHECKPOINT = "checkpoint.json";
/** Events between two checkpoints: a reader folds at most about this many (plus what came since the run ended). */
export const CHECKPOINT_EVERY = 5000;
/** The layout of a checkpoint's body; a checkpoint is also only read by the pi-crew version that wrote it (its fold). */
const FORMAT = 1;

/** Where a run's checkpoint lives: its directory (and the repository, the base nothing below may be a link from). */
export interface CheckpointPlace {
	repo: string;
	dir: string;
	runId: string;
	/** The run's log. */
	events: string;
}

interface Body {
	format: number;
	piCrew: string;
	runId: string;
	at: LogPosition;
	state: Omit<RunState, "tasks"> & { tasks: [string, unknown][] };
}

let version: Promise<string> | undefined;

/** This pi-crew's version: a checkpoint holds the fold of the version that wrote it, read by that version only. */
function piCrewVersion(): Promise<string> {
	version ??= readFile(new URL("../../package.json", import.meta.url), "utf8").then(
		(text) => String((JSON.parse(text) as { version?: unknown }).version),
		() => "unknown",
	);
	return version;
}

/** The MAC of a checkpoint's body: apart from the log's line MACs (those sign a hex MAC or nothing, then `{`). */
function checkpointMac(keys: RunKeys, body: string): string {
	return createHmac("sha256", keys.log).update("pi-crew checkpoint\n").update(body).digest("hex");
}

/** The file's text: its MAC, a newline, its body (the JSON of the state at `at`, tasks as entries). */
function checkpointText(keys: RunKeys, piCrew: string, runId: string, at: LogPosition, state: RunState): string {
	const body: Body = { format: FORMAT, piCrew, runId, at, state: { ...state, tasks: [...state.tasks] } };
	const json = JSON.stringify(body);
	return `${checkpointMac(keys, json)}\n${json}`;
}

/**
 * Writes the checkpoints of a run its coordinator is writing the log of. A checkpoint is taken (serialised) at the end
 * of a durable batch, where `state` is the fold of exactly the log so far, and written after, off the group commit;
 * while one is being written the latest one due waits, and replaces any older one waiting.
 */
export class Checkpoints {
	/** The seq the latest checkpoint was taken at (none yet: the first durable batch of a large log takes one). */
	private last = 0;
	private queued: string | undefined;
	private writing: Promise<void> | undefined;

	private constructor(
		private readonly place: CheckpointPlace,
		private readonly keys: RunKeys,
		private readonly piCrew: string,
		private readonly state: () => RunState,
		private readonly every: number,
	) {}

	/** Starts taking checkpoints of `log`, whose events `state` folds (its listener subscribed before this). */
	static async start(
		log: EventLogWriter,
		place: CheckpointPlace,
		state: () => RunState,
		every = CHECKPOINT_EVERY,
	): Promise<Checkpoints | undefined> {
		const keys = await runKeys(log.runId, false);
		if (!keys) return undefined;
		const checkpoints = new Checkpoints(place, keys, await piCrewVersion(), state, every);
		log.onDurable((at) => checkpoints.durable(at));
		return checkpoints;
	}

	/** Waits until the checkpoints taken so far are written (or failed: a checkpoint is only ever a speed-up). */
	async settled(): Promise<void> {
		while (this.writing) await this.writing;
	}

	private durable(at: LogPosition): void {
		const state = this.state();
		const due = at.seq - this.last >= this.every || (TERMINAL_RUN.has(state.status) && at.seq > this.last);
		if (!due) return;
		this.last = at.seq;
		this.queued = checkpointText(this.keys, this.piCrew, this.place.runId, at, state);
		this.writing ??= this.writeLoop();
	}

	private async writeLoop(): Promise<void> {
		for (let text = this.queued; text !== undefined; text = this.queued) {
			this.queued = undefined;
			await writeFileAtomic(this.place.repo, `${this.place.dir}/${CHECKPOINT}`, text).catch(() => undefined);
		}
		this.writing = undefined;
	}
}

/** A checkpoint that checked out: the fold of the log up to `at`, and the run's keys (to check the lines after it). */
export interface Restored {
	state: RunState;
	at: LogPosition;
	keys: RunKeys;
}

/** The run's checkpoint if it is sound for its log as it is now, else why not (none, forged, stale, another's). */
export async function readCheckpoint(place: CheckpointPlace): Promise<Restored | string> {
	const text = await readConfined(place.dir, CHECKPOINT).catch((err: Error) => err);
	if (text instanceof Error) return `no checkpoint (${text.message})`;
	const nl = text.indexOf("\n");
	const json = text.slice(nl + 1);
	const keys = await runKeys(place.runId, false);
	if (!keys) return "no key to check the checkpoint with";
	const mac = Buffer.from(checkpointMac(keys, json));
	const given = Buffer.from(text.slice(0, nl));
	if (nl < 0 || given.length !== mac.length || !timingSafeEqual(given, mac)) return "the checkpoint's MAC is wrong";
	const body = JSON.parse(json) as Body;
	if (body.format !== FORMAT || body.piCrew !== (await piCrewVersion()))
		return `a checkpoint of format ${body.format} by pi-crew ${body.piCrew}`;
	if (body.runId !== place.runId) return `a checkpoint of run ${body.runId}`;
	const why = await endsAt(place.events, body.at);
	if (why) return why;
	return { state: { ...body.state, tasks: new Map(body.state.tasks) } as RunState, at: body.at, keys };
}

/** Why the log does not end a line with the MAC `at` records at `at.offset` (the lines after must chain from it). */
async function endsAt(file: string, at: LogPosition): Promise<string | undefined> {
	const tail = Buffer.from(`,"mac":"${at.mac}"}\n`);
	if (at.offset < tail.length) return "the checkpoint's offset is before any line";
	const handle = await openRead(file);
	try {
		const buf = Buffer.alloc(tail.length);
		const { bytesRead } = await handle.read(buf, 0, buf.length, at.offset - tail.length);
		return bytesRead === buf.length && buf.equals(tail)
			? undefined
			: `the log does not hold the checkpoint's line at byte ${at.offset}`;
	} finally {
		await handle.close();
	}
}
