/**
 * The run lease: the one lock in pi-crew. Exactly one coordinator holds a run's lease and writes its log. The lease
 * records who holds it (pid + process start time + host), so liveness is provable: a reused pid does not look alive.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { UsageError } from "../util/errors.js";
import { LinkError, openExclusive, openRead } from "../util/safe-fs.js";

/** A lease is one small JSON object. */
const MAX_LEASE_BYTES = 4096;

export interface LeaseHolder {
	pid: number;
	/** Kernel start time of the process (clock ticks since boot); undefined where /proc is missing. */
	startTime?: number;
	host: string;
	token: string;
	since: string;
	/** Set when the lease file could not be parsed. */
	unreadable?: true;
}

export class LeaseHeldError extends UsageError {
	constructor(readonly holder: LeaseHolder) {
		super(`run is owned by a live coordinator (pid ${holder.pid} on ${holder.host})`);
	}
}

/**
 * Start time of a live process from /proc/<pid>/stat (field 22), or undefined if it is gone, a zombie, or /proc is
 * missing.
 */
export function processStartTime(pid: number): number | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// The command name (field 2) may contain spaces and parentheses: fields are counted after the last ')'.
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		if (fields[0] === "Z" || fields[0] === "X") return undefined;
		const ticks = Number(fields[19]);
		return Number.isFinite(ticks) ? ticks : undefined;
	} catch {
		return undefined;
	}
}

export type Liveness = "alive" | "dead" | "unknown";

/** Whether the process named by a lease still runs. Another host's holder cannot be checked from here. */
export function holderLiveness(holder: LeaseHolder): Liveness {
	if (holder.unreadable) return "dead";
	if (holder.host !== hostname()) return "unknown";
	const start = processStartTime(holder.pid);
	if (start !== undefined) return holder.startTime === undefined || start === holder.startTime ? "alive" : "dead";
	if (holder.startTime !== undefined) return "dead";
	try {
		process.kill(holder.pid, 0);
		return "alive";
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "EPERM" ? "alive" : "dead";
	}
}

/**
 * The holder recorded in a lease file. Leases are only ever linked into place whole and fsynced, so a file that
 * cannot be parsed was not left by a live coordinator (disk damage, a hand edit): it reads as a dead holder, and the
 * run as interrupted, which `resume` can take over.
 */
export async function readLease(file: string): Promise<LeaseHolder | undefined> {
	let text: string;
	try {
		// Never through a link, never a device or a huge file: a repository may ship a "lease" that is either.
		const handle = await openRead(file);
		try {
			const info = await handle.stat();
			text = info.isFile() && info.size <= MAX_LEASE_BYTES ? await handle.readFile("utf8") : "";
		} finally {
			await handle.close();
		}
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
		if (err instanceof LinkError) return { pid: 0, host: hostname(), token: "unreadable", since: "", unreadable: true };
		throw err;
	}
	try {
		return JSON.parse(text) as LeaseHolder;
	} catch {
		return { pid: 0, host: hostname(), token: "unreadable", since: "", unreadable: true };
	}
}

export interface Lease {
	holder: LeaseHolder;
	release(): Promise<void>;
}

const TAKEOVER_WAIT_MS = 50;
const MAX_CLAIMS = 100;

/**
 * Take the lease at `file`. The file is only ever created whole and exclusively (written aside, then hard-linked into
 * place), so readers never see half a lease. A live holder wins (LeaseHeldError). A dead holder's lease is taken
 * over in two steps: claim the takeover exclusively (see claimTakeover), then remove the lease only if it still is
 * the dead one. So a fresh lease is never removed, and two resumers cannot both win.
 */
export async function acquireLease(file: string): Promise<Lease> {
	const holder: LeaseHolder = {
		pid: process.pid,
		startTime: processStartTime(process.pid),
		host: hostname(),
		token: randomUUID(),
		since: new Date().toISOString(),
	};
	const draft = `${file}.${holder.token}.new`;
	const handle = await openExclusive(dirname(file), draft);
	try {
		await handle.writeFile(JSON.stringify(holder));
		await handle.sync(); // linked into place only once it is on disk: never an empty lease after a crash
	} finally {
		await handle.close();
	}
	try {
		for (let attempt = 0; attempt < 20; attempt++) {
			try {
				await link(draft, file);
				return { holder, release: () => releaseLease(file, holder.token) };
			} catch (err) {
				if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
			}
			const current = await readLease(file);
			if (!current) continue;
			if (holderLiveness(current) !== "dead") throw new LeaseHeldError(current);
			if (!(await claimTakeover(file, current.token, holder))) {
				// Another process is taking this dead lease over: its fresh lease will show up as live.
				await new Promise((resolve) => setTimeout(resolve, TAKEOVER_WAIT_MS));
				continue;
			}
			if ((await readLease(file))?.token === current.token) await unlink(file);
		}
	} finally {
		await unlink(draft).catch(() => undefined);
	}
	const current = await readLease(file);
	throw current ? new LeaseHeldError(current) : new Error(`cannot acquire lease ${file}`);
}

/**
 * Claims the takeover of the dead lease `token`: one claim file per attempt generation, created exclusively and
 * holding the claimant. A claimant that died mid-takeover leaves its claim; the next contender moves on to the next
 * generation, so a killed resumer never blocks the run for good, and two live contenders never both proceed.
 */
async function claimTakeover(file: string, token: string, holder: LeaseHolder): Promise<boolean> {
	// Like the lease, a claim appears whole (written aside, then linked): a contender reading a claim still being
	// written would take it for a dead claimant's and claim the next generation too.
	const draft = `${file}.takeover-${token}.${holder.token}.new`;
	const handle = await openExclusive(dirname(file), draft);
	await handle.writeFile(JSON.stringify(holder)).finally(() => handle.close());
	try {
		for (let generation = 0; generation < MAX_CLAIMS; generation++) {
			const claim = `${file}.takeover-${token}-${generation}`;
			try {
				await link(draft, claim);
				return true;
			} catch (err) {
				if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
			}
			const claimant = await readLease(claim);
			if (claimant && holderLiveness(claimant) !== "dead") return false;
		}
		return false;
	} finally {
		await unlink(draft).catch(() => undefined);
	}
}

async function releaseLease(file: string, token: string): Promise<void> {
	const current = await readLease(file);
	if (current?.token === token) await unlink(file);
}
