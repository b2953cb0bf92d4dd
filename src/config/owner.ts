/**
 * Runs are local: a run records who created it, as an HMAC of its id under a random key that lives in the user's
 * pi-crew home (never in a repository). A run directory that arrived with a clone cannot carry a valid mark, so it is
 * never coordinated, resumed, requeued or offered for resume here: it is listed as foreign, with the reason.
 *
 * A run imported from a bundle (`pi-crew import`) carries no creator mark, so it is foreign too; the import record
 * beside it carries a second mark (of the words "import" and the run id), so that this user may forget a run they
 * imported, and a repository cannot pass a planted run off as one.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { crewHome } from "./home.js";

const KEY_FILE = "owner.key";

/** Keys read in this process, by home: `list` checks every run, and the key file does not change once written. */
const keys = new Map<string, Buffer>();

async function ownerKey(create: boolean, home: string): Promise<Buffer | undefined> {
	const known = keys.get(home);
	if (known) return known;
	const file = join(home, KEY_FILE);
	const existing = await readFile(file).catch(() => undefined);
	if (existing && existing.length >= 32) {
		keys.set(home, existing);
		return existing;
	}
	if (!create) return undefined;
	await mkdir(home, { recursive: true });
	// `wx`: two processes creating it at once keep the first; the loser reads what the winner wrote.
	await writeFile(file, randomBytes(32), { flag: "wx", mode: 0o600 }).catch((err: NodeJS.ErrnoException) => {
		if (err.code !== "EEXIST") throw err;
	});
	return ownerKey(false, home);
}

function mark(key: Buffer, runId: string, what = "run"): string {
	return createHmac("sha256", key).update(`pi-crew ${what} ${runId}`).digest("hex").slice(0, 32);
}

function sameMark(expected: string | undefined, given: string | undefined): boolean {
	if (!expected || !given) return false;
	const [a, b] = [Buffer.from(expected), Buffer.from(given)];
	return a.length === b.length && timingSafeEqual(a, b);
}

/** The mark a run created by this user carries in its `run.created` event. */
export async function ownerMark(runId: string, home = crewHome()): Promise<string> {
	return mark((await ownerKey(true, home)) as Buffer, runId);
}

/** Why a run was not created here, or undefined when it was. */
export async function foreignReason(run: { runId: string; owner?: string }): Promise<string | undefined> {
	if (!run.owner) return "it carries no creator mark (made by another machine or user, or by pi-crew before 0.4)";
	const key = await ownerKey(false, crewHome());
	if (!sameMark(key && mark(key, run.runId), run.owner))
		return "it was created by another machine or user (its creator mark is not this user's)";
	return undefined;
}

/** The mark of a run this user imports (kept in its import record). */
export async function importMark(runId: string, home = crewHome()): Promise<string> {
	return mark((await ownerKey(true, home)) as Buffer, runId, "import");
}

/** Whether an import record's mark says this user imported the run here. */
export async function importedHere(runId: string, given: string | undefined): Promise<boolean> {
	const key = await ownerKey(false, crewHome());
	return sameMark(key && mark(key, runId, "import"), given);
}

/** What a run's log is checked with here: the key of its hash chain (store/log-chain.ts) and its creator mark. */
export interface RunKeys {
	/** HMAC(owner key, "pi-crew log <runId>"): one key per run, derived, never stored. */
	log: Buffer;
	/** The creator mark the run's `run.created` carries when this user made it. */
	owner: string;
}

/**
 * The keys of run `runId` under this user's key; `create` makes the key when there is none (a coordinator starting a
 * run). Undefined when there is no key here: no run of this user's can exist, so none can be checked.
 */
export async function runKeys(runId: string, create: boolean, home = crewHome()): Promise<RunKeys | undefined> {
	const key = await ownerKey(create, home);
	if (!key) return undefined;
	return { log: createHmac("sha256", key).update(`pi-crew log ${runId}`).digest(), owner: mark(key, runId) };
}

/** Whether `given` is the creator mark `keys` expect (in constant time). */
export function isOwner(keys: RunKeys | undefined, given: string | undefined): boolean {
	return sameMark(keys?.owner, given);
}
