/**
 * Removing runs: `forget` one run, `prune` runs by age and status (by hand, or when a coordinator starts if the
 * user's config asks for it). Only this repository's runs that this user created here are pruned (`forget` also takes
 * a run this user imported here); never a foreign run, never a run whose coordinator is alive or cannot be checked
 * (another host), never through a link. A run is removed while holding its lease, so no resume can start on it
 * meanwhile. Each removal is listed in the result and appended to `.crew/removed-runs.jsonl`.
 */
import { rename, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { foreignReason } from "../config/owner.js";
import { REMOVABLE_RUN_STATUSES, type RunStatus } from "../store/events.js";
import { acquireLease, holderLiveness, LeaseHeldError } from "../store/lease.js";
import { crewTemp, listRunIds, loadRun, RunNotFoundError, type RunView, tempDirPath } from "../store/run-store.js";
import { makeDirs, openAppend, removeTree } from "../util/safe-fs.js";
import { findRepo, UsageError } from "./index.js";

/** The statuses a run can be pruned in: ended, or interrupted. A running or pending run never is. */
export const PRUNABLE_STATUSES = REMOVABLE_RUN_STATUSES;
export type PrunableStatus = (typeof PRUNABLE_STATUSES)[number];
/** Without `--status`: runs that ended. An interrupted run can still be resumed, so it is pruned only when named. */
export const DEFAULT_PRUNE_STATUSES: readonly PrunableStatus[] = ["succeeded", "failed", "cancelled"];

export interface RemovedRun {
	runId: string;
	status: RunStatus;
	/** The time of the run's last event: its age is counted from here. */
	lastActivity: string;
	/** Files and directories removed (0 in a dry run). */
	entries: number;
}

export interface SkippedRun {
	runId: string;
	why: string;
}

export interface PruneResult {
	dryRun: boolean;
	/** Removed, or (dry run) to be removed. */
	removed: RemovedRun[];
	/** Runs that matched or could have, left alone, with the reason: foreign, live, unreadable, changed meanwhile. */
	skipped: SkippedRun[];
	/** Runs kept because they are younger or in another status. */
	kept: number;
}

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/** `7d`, `12h`, `30m`, `2w` in milliseconds; `0d` is any age. */
export function parseAge(text: string): number {
	const m = /^(\d{1,6})([mhdw])$/.exec(text.trim());
	const unit = UNIT_MS[m?.[2] ?? ""];
	if (!m || !unit) throw new UsageError(`an age is a number and a unit: 30m, 12h, 7d, 2w (0d: any age), got "${text}"`);
	return Number(m[1]) * unit;
}

/** `succeeded,failed` as statuses a prune may take. */
export function parseStatuses(text: string | readonly string[]): PrunableStatus[] {
	const list = (typeof text === "string" ? text.split(",") : [...text]).map((s) => s.trim()).filter(Boolean);
	const bad = list.filter((s) => !(PRUNABLE_STATUSES as readonly string[]).includes(s));
	if (bad.length > 0 || list.length === 0)
		throw new UsageError(
			`the statuses to prune are ${PRUNABLE_STATUSES.join(", ")} (comma-separated); a running run is never pruned${bad.length > 0 ? `, got "${bad.join(",")}"` : ""}`,
		);
	return list as PrunableStatus[];
}

export interface PruneRequest {
	cwd?: string;
	olderThanMs: number;
	statuses?: readonly PrunableStatus[];
	dryRun?: boolean;
	/** Runs never to consider (the run a starting coordinator is about to take). */
	exclude?: readonly string[];
	/** Only these runs, when given (the list a user confirmed). */
	only?: readonly string[];
	/** Who asked, for the audit file (`pi-crew prune --older-than 7d`, the config key). */
	by?: string;
	now?: number;
}

/**
 * The config's `prune` (when a coordinator starts): like `pi-crew prune`, never the run being started. A failure is
 * reported, never a reason not to run.
 */
export async function autoPrune(
	repo: string,
	policy: { olderThanDays: number; statuses?: readonly PrunableStatus[] },
	exclude: readonly string[],
): Promise<PruneResult | undefined> {
	try {
		return await pruneRuns({
			cwd: repo,
			olderThanMs: policy.olderThanDays * DAY_MS,
			statuses: policy.statuses,
			exclude,
			by: `config prune.olderThanDays: ${policy.olderThanDays}`,
		});
	} catch (err) {
		process.emitWarning(`pi-crew: automatic pruning failed: ${(err as Error).message}`);
		return undefined;
	}
}

/** Removes this user's runs of the repository whose last event is older than `olderThanMs`, in the given statuses. */
export async function pruneRuns(req: PruneRequest): Promise<PruneResult> {
	const repo = findRepo(req.cwd);
	const statuses = new Set<string>(req.statuses ?? DEFAULT_PRUNE_STATUSES);
	const cutoff = (req.now ?? Date.now()) - req.olderThanMs;
	const result: PruneResult = { dryRun: req.dryRun === true, removed: [], skipped: [], kept: 0 };
	for (const runId of await listRunIds(repo)) {
		if (req.exclude?.includes(runId) || (req.only && !req.only.includes(runId))) continue;
		const found = await inspect(repo, runId);
		if ("why" in found) {
			result.skipped.push(found);
			continue;
		}
		const { view, lastActivity } = found;
		const foreign = await foreignReason(view.state);
		const live = liveReason(view);
		if (!statuses.has(view.status) && !live) result.kept++;
		else if (Date.parse(lastActivity) > cutoff) result.kept++;
		else if (foreign)
			result.skipped.push({
				runId,
				why: view.imported ? `imported here: remove it with pi-crew forget ${runId}` : `foreign: ${foreign}`,
			});
		else if (live) result.skipped.push({ runId, why: live });
		else if (req.dryRun) result.removed.push({ runId, status: view.status, lastActivity, entries: 0 });
		else {
			const done = await removeRun(repo, found, req.by ?? "prune");
			if ("why" in done) result.skipped.push(done);
			else result.removed.push(done);
		}
	}
	return result;
}

/**
 * Removes one run: one this user created or imported here, whose coordinator is not alive. Refused (exit 2) with the
 * reason otherwise.
 */
export async function forgetRun(
	cwd: string | undefined,
	runId: string,
	options: { dryRun?: boolean } = {},
): Promise<RemovedRun> {
	const repo = findRepo(cwd);
	const found = await inspect(repo, runId);
	if ("why" in found) throw new UsageError(`cannot forget run ${runId}: ${found.why}`);
	const { view, lastActivity } = found;
	const foreign = view.imported ? undefined : await foreignReason(view.state);
	if (foreign)
		throw new UsageError(
			`run ${runId} was not created here: ${foreign}. pi-crew never deletes such a run (it may be part of the repository); remove it by hand if you mean to`,
		);
	const live = liveReason(view);
	if (live) throw new UsageError(`run ${runId} is ${view.status}: ${live}; cancel it first (pi-crew cancel ${runId})`);
	if (options.dryRun) return { runId, status: view.status, lastActivity, entries: 0 };
	const done = await removeRun(repo, found, "forget");
	if ("why" in done) throw new UsageError(`cannot forget run ${runId}: ${done.why}`);
	return done;
}

interface Found {
	view: RunView;
	lastActivity: string;
}

/** The run's view and the time of its last event, or why it cannot be judged. */
async function inspect(repo: string, runId: string): Promise<Found | SkippedRun> {
	let lastActivity = "";
	try {
		const view = await loadRun(repo, runId, (event) => {
			lastActivity = event.ts;
		});
		return { view, lastActivity };
	} catch (err) {
		if (err instanceof RunNotFoundError) return { runId, why: "it has no event log (a run that never started)" };
		return { runId, why: `unreadable: ${(err as Error).message}` };
	}
}

/** Why a process may still be writing the run (its lease holder is alive, or on another host), or undefined. */
function liveReason(view: RunView): string | undefined {
	const holder = view.coordinator;
	if (!holder) return undefined;
	const liveness = holderLiveness(holder);
	if (liveness === "alive") return `its coordinator is alive (pid ${holder.pid})`;
	if (liveness === "unknown") return `its coordinator runs on another host (${holder.host}) and cannot be checked`;
	return undefined;
}

/**
 * Removes a run's directory while holding its lease: a coordinator that took it meanwhile wins (the run is skipped),
 * and no resume can start until it is gone. The run is read again under the lease: one that changed since it was
 * judged is left alone.
 */
async function removeRun(repo: string, found: Found, by: string): Promise<RemovedRun | SkippedRun> {
	const { view } = found;
	const runId = view.state.runId;
	let lease: Awaited<ReturnType<typeof acquireLease>>;
	try {
		lease = await acquireLease(view.paths.lease);
	} catch (err) {
		if (err instanceof LeaseHeldError) return { runId, why: err.message };
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return { runId, why: "it was removed meanwhile" };
		throw err;
	}
	let moved = false;
	try {
		const now = await loadRun(repo, runId).catch(() => undefined);
		if (now?.state.lastSeq !== view.state.lastSeq) return { runId, why: "it changed while being pruned" };
		// Out of the runs first, in one rename (its lease goes with it): no reader sees half a run, and no other
		// process can take the lease of a run that is no longer there.
		await makeDirs(repo, crewTemp(repo));
		const trash = tempDirPath(repo, "remove");
		await rename(view.paths.dir, trash);
		moved = true;
		const entries = await removeTree(repo, trash);
		await rmdir(crewTemp(repo)).catch(() => undefined); // only when empty
		const done: RemovedRun = { runId, status: view.status, lastActivity: found.lastActivity, entries };
		await audit(repo, { ...done, removedAt: new Date().toISOString(), by });
		return done;
	} finally {
		if (!moved) await lease.release();
	}
}

/** One line per removed run in `.crew/removed-runs.jsonl`: deletion is explicit, owned and recorded. */
async function audit(repo: string, record: RemovedRun & { removedAt: string; by: string }): Promise<void> {
	const handle = await openAppend(repo, join(repo, ".crew", "removed-runs.jsonl"), 0o600);
	try {
		await handle.write(`${JSON.stringify(record)}\n`);
	} finally {
		await handle.close();
	}
}
