/**
 * The keyed hash chain of a run's log: each line the coordinator writes ends with `,"mac":"<hex>"}`, the
 * HMAC-SHA256, under the run's key (config/owner.ts runKeys: outside the repository and the workers' reach), of the
 * previous line's MAC followed by the line's own bytes without the MAC. A reader checks the exact bytes (no
 * re-serialising), so a line inserted, changed, removed or reordered by anything but the coordinator breaks the chain.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { isOwner, type RunKeys } from "../config/owner.js";
import type { Problem } from "../util/yaml-source.js";

/**
 * `verified`: every line is the coordinator's. `unauthenticated`: the log cannot be checked here (written before logs
 * were signed, its MACs removed, or signed by another user or machine): shown, never acted on. `tampered`: a line
 * does not verify; nothing from it on is read.
 */
export type Integrity = "verified" | "unauthenticated" | "tampered";

const MAC = /,"mac":"([0-9a-f]{64})"\}$/;

function chainMac(key: Buffer, prev: string, body: string): string {
	return createHmac("sha256", key).update(prev).update(body).digest("hex");
}

/**
 * The line the coordinator writes for `json` (a serialised event: an object) after the line whose MAC is `prev` ("" for
 * the first line), and its MAC. The one signing function: the log writer and test support both use it.
 */
export function signLine(key: Buffer, prev: string, json: string): { line: string; mac: string } {
	const mac = chainMac(key, prev, json);
	return { line: `${json.slice(0, -1)},"mac":"${mac}"}`, mac };
}

/** A line's signed bytes and its MAC (none: a line written before logs were signed). */
function splitMac(text: string): { body: string; mac?: string } {
	const m = MAC.exec(text);
	return m ? { body: `${text.slice(0, m.index)}}`, mac: m[1] } : { body: text };
}

function sameMac(a: string, b: string): boolean {
	return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Whether the first line is a `run.created` that is not this user's (its creator mark is not theirs). */
function madeElsewhere(keys: RunKeys | undefined, body: string): boolean {
	try {
		const e = JSON.parse(body) as { type?: unknown; data?: { owner?: unknown } };
		return e.type === "run.created" && !isOwner(keys, typeof e.data?.owner === "string" ? e.data.owner : undefined);
	} catch {
		return false;
	}
}

/**
 * Checks a log line by line as it is read (incrementally: only new lines, keeping the last MAC). The first line decides
 * how the log is read: signed (every line must verify), or unsigned (any MAC after it is a tampering).
 */
export class LogChain {
	integrity: Integrity = "verified";
	/** Why the log is not verified: file, line and what. */
	problem: Problem | undefined;
	/** The MAC of the last line that verified ("" before the first): where a resumed writer continues the chain. */
	lastMac = "";
	private mode: "signed" | "unsigned" | "elsewhere" | undefined;

	constructor(
		readonly file: string,
		private readonly keys: RunKeys | undefined,
	) {}

	/**
	 * A chain that goes on from a point already checked (a checkpoint's: store/checkpoint.ts): the line after it must
	 * chain from `mac` under `keys`, as every line of a signed log does.
	 */
	static continuing(file: string, keys: RunKeys, mac: string): LogChain {
		const chain = new LogChain(file, keys);
		chain.mode = "signed";
		chain.lastMac = mac;
		return chain;
	}

	/** The bytes of line `line` to parse, or undefined when it breaks the chain: nothing from it on is trusted. */
	check(text: string, line: number): string | undefined {
		if (this.integrity === "tampered") return undefined;
		if (text.trim() === "") return this.mode === "signed" ? this.tampered(line, "is empty") : text;
		const { body, mac } = splitMac(text);
		if (this.mode === undefined) return this.first(body, mac, line);
		if (this.mode === "elsewhere") return body;
		if (this.mode === "unsigned")
			return mac === undefined ? body : this.tampered(line, "carries a MAC in a log whose first line has none");
		if (mac === undefined || !this.keys || !sameMac(chainMac(this.keys.log, this.lastMac, body), mac))
			return this.tampered(line, "was changed or inserted (or a line before it removed)");
		this.lastMac = mac;
		return body;
	}

	private first(body: string, mac: string | undefined, line: number): string | undefined {
		if (mac === undefined) {
			this.mode = "unsigned";
			this.unauthenticated(
				"no line carries a MAC: the log was written before pi-crew signed its logs, or its MACs were removed",
			);
			return body;
		}
		if (this.keys && sameMac(chainMac(this.keys.log, "", body), mac)) {
			this.mode = "signed";
			this.lastMac = mac;
			return body;
		}
		if (!madeElsewhere(this.keys, body))
			return this.tampered(line, "was changed or inserted (or a line before it removed)");
		this.mode = "elsewhere";
		this.unauthenticated("it was signed by another user or machine: it cannot be checked here");
		return body;
	}

	private unauthenticated(message: string): void {
		this.integrity = "unauthenticated";
		this.problem = { file: this.file, message: `unauthenticated log: ${message}` };
	}

	private tampered(line: number, what: string): undefined {
		this.integrity = "tampered";
		this.problem = {
			file: this.file,
			line,
			message: `tampered log: line ${line} ${what} by something other than the coordinator; nothing from this line on is read`,
		};
		return undefined;
	}
}
