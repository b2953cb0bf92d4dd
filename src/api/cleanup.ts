/**
 * `pi-crew cleanup`: removes what pi-crew leaves behind when one of its processes dies mid-way, in this repository's
 * `.crew/` only, never through a link:
 *
 * - drafts of atomic writes (`<file>.<pid>.<random>.tmp`) older than an hour (a write takes milliseconds);
 * - lease drafts and takeover claims (`lease.json.*.new`, `lease.json.takeover-*`) whose writer is dead, in runs this
 *   user created or imported here (a claim only once the lease it was for is gone);
 * - work directories (`.crew/tmp/import-<pid>-*` of an import, `remove-<pid>-*` of a run being removed) whose
 *   process is gone, or older than an hour.
 *
 * - task worktrees and branches whose work is merged into their run's integration branch, and integration branches
 *   of ended runs once the checkout has their work (applied), never one that is not (docs/workspaces.md).
 *
 * Each kind of leftover is one sweeper below.
 */
import { lstat, readdir, rmdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { foreignReason } from "../config/owner.js";
import { TERMINAL_RUN } from "../store/events.js";
import { holderLiveness, readLease } from "../store/lease.js";
import { crewTemp, listRunIds, loadRun, runsDir, TEMP_NAME } from "../store/run-store.js";
import { removeFile, removeTree } from "../util/safe-fs.js";
import { git, gitRun } from "../workspace/git.js";
import { integrationBranch, taskWorktrees } from "../workspace/worktrees.js";
import { findRepo } from "./index.js";

/** A file or directory pi-crew left behind, and why it is safe to remove. */
export interface Leftover {
	kind: "draft" | "lease-draft" | "takeover-claim" | "work-dir" | "worktree" | "integration-branch";
	/** A file or directory; for an integration branch, its name. */
	path: string;
	why: string;
}

export interface CleanupResult {
	dryRun: boolean;
	/** Removed, or (dry run) to be removed. */
	removed: Leftover[];
	/** Runs whose files were not looked at, with the reason (foreign, unreadable). */
	skippedRuns: { runId: string; why: string }[];
}

interface Sweep {
	repo: string;
	crew: string;
	now: number;
	/** Runs this user created or imported here: the only runs whose files cleanup looks at. */
	own: Set<string>;
	/** Every other run directory, by id. */
	others: Set<string>;
}

interface Found extends Leftover {
	remove(): Promise<void>;
}

type Sweeper = (sweep: Sweep) => Promise<Found[]>;

const STALE_MS = 3_600_000;
/** The draft name of safe-fs writeFileAtomic. */
const DRAFT = /\.\d+\.[0-9a-f]{8}\.tmp$/;
const LEASE_DRAFT = /^lease\.json\.[0-9a-f-]{36}\.new$/;
const CLAIM_DRAFT = /^lease\.json\.takeover-([^.]+)\.[0-9a-f-]{36}\.new$/;
const CLAIM = /^lease\.json\.takeover-(.+)-\d+$/;

/** Finds (and unless `dryRun`, removes) the leftovers of this repository's `.crew/`. */
export async function cleanup(
	cwd: string | undefined,
	/** `only`: remove only these paths (what a person confirmed from a dry run), if they are still leftovers. */
	options: { dryRun?: boolean; now?: number; only?: string[] } = {},
): Promise<CleanupResult> {
	const repo = findRepo(cwd);
	const crew = join(repo, ".crew");
	const result: CleanupResult = { dryRun: options.dryRun === true, removed: [], skippedRuns: [] };
	if (!(await lstat(crew).catch(() => undefined))?.isDirectory()) return result;
	const sweep: Sweep = { repo, crew, now: options.now ?? Date.now(), own: new Set(), others: new Set() };
	for (const runId of await listRunIds(repo)) {
		const why = await ownership(repo, runId);
		if (why) {
			sweep.others.add(runId);
			result.skippedRuns.push({ runId, why });
		} else sweep.own.add(runId);
	}
	for (const sweeper of SWEEPERS)
		for (const found of await sweeper(sweep)) {
			if (options.only && !options.only.includes(found.path)) continue;
			if (!options.dryRun) await found.remove();
			result.removed.push({ kind: found.kind, path: found.path, why: found.why });
		}
	if (!options.dryRun) await rmdir(crewTemp(repo)).catch(() => undefined); // only when empty
	return result;
}

/** Why cleanup leaves a run's files alone, or undefined for a run this user created or imported here. */
async function ownership(repo: string, runId: string): Promise<string | undefined> {
	try {
		const view = await loadRun(repo, runId);
		if (view.imported) return undefined;
		const foreign = await foreignReason(view.state);
		return foreign ? `foreign: ${foreign}` : undefined;
	} catch (err) {
		return `unreadable: ${(err as Error).message}`;
	}
}

/** Drafts of atomic writes older than an hour, anywhere under `.crew/` but in other users' runs and import temps. */
const staleDrafts: Sweeper = async (sweep) => {
	const found: Found[] = [];
	const skip = new Set([
		...[...sweep.others].map((id) => join(runsDir(sweep.repo), id)),
		crewTemp(sweep.repo), // work directories go whole (below)
	]);
	const walk = async (dir: string): Promise<void> => {
		for (const name of await readdir(dir).catch(() => [] as string[])) {
			const path = join(dir, name);
			const info = await lstat(path).catch(() => undefined);
			if (info?.isDirectory() && !skip.has(path)) await walk(path);
			else if (info?.isFile() && DRAFT.test(name) && sweep.now - info.mtimeMs > STALE_MS)
				found.push({
					kind: "draft",
					path,
					why: `a draft of an atomic write, untouched for ${hours(sweep.now - info.mtimeMs)}`,
					remove: () => removeFile(sweep.repo, path),
				});
		}
	};
	await walk(sweep.crew);
	return found;
};

/** Lease drafts and takeover claims of dead writers, in this user's runs. */
const leaseLeftovers: Sweeper = async (sweep) => {
	const found: Found[] = [];
	for (const runId of sweep.own) {
		const dir = join(runsDir(sweep.repo), runId);
		const current = await readLease(join(dir, "lease.json")).catch(() => undefined);
		for (const name of await readdir(dir).catch(() => [] as string[])) {
			const claimOf = CLAIM.exec(name)?.[1] ?? CLAIM_DRAFT.exec(name)?.[1];
			if (!LEASE_DRAFT.test(name) && claimOf === undefined) continue;
			const path = join(dir, name);
			if (!(await lstat(path).catch(() => undefined))?.isFile()) continue;
			const writer = await readLease(path).catch(() => undefined);
			if (!writer || holderLiveness(writer) !== "dead") continue;
			const draft = name.endsWith(".new");
			// A claim counts while the dead lease it is for is still in place: a contender may be taking it over. A
			// draft is only ever linked by its own writer, which is gone.
			if (!draft && current?.token === claimOf) continue;
			found.push({
				kind: draft ? "lease-draft" : "takeover-claim",
				path,
				why: `${draft ? "a lease draft" : "a takeover claim"} of run ${runId} whose writer (pid ${writer.pid}) is gone`,
				remove: () => removeFile(sweep.repo, path),
			});
		}
	}
	return found;
};

/** Work directories under `.crew/tmp/` whose process is gone (or that are over an hour old). */
const workDirs: Sweeper = async (sweep) => {
	const tmp = crewTemp(sweep.repo);
	const found: Found[] = [];
	for (const name of await readdir(tmp).catch(() => [] as string[])) {
		const [, kind, pid] = TEMP_NAME.exec(name) ?? [];
		if (!kind || !pid) continue;
		const path = join(tmp, name);
		const info = await lstat(path).catch(() => undefined);
		if (!info?.isDirectory()) continue;
		const gone = holderLiveness({ pid: Number(pid), host: hostname(), token: "", since: "" }) === "dead";
		const old = sweep.now - info.mtimeMs > STALE_MS;
		if (!gone && !old) continue;
		const what = kind === "import" ? "an import's work directory" : "what is left of a removed run";
		found.push({
			kind: "work-dir",
			path,
			why: gone ? `${what}; its process (pid ${pid}) is gone` : `${what}, over an hour old`,
			remove: () => removeTree(sweep.repo, path).then(() => undefined),
		});
	}
	return found;
};

/**
 * Task worktrees (and their branches) whose work is merged, of this user's ended runs in this checkout; a reader's
 * worktree (detached) of such a run. A worktree with changes not committed, a task whose merge conflicted, a run that
 * may still be resumed (interrupted) keep theirs; the integration branch goes only once applied (below).
 */
const mergedWorktrees: Sweeper = async (sweep) => {
	const found: Found[] = [];
	for (const wt of await taskWorktrees(sweep.repo)) {
		const merged = await mergedWorktree(sweep, wt);
		if (merged) found.push(merged);
	}
	return found;
};

type TaskWorktree = Awaited<ReturnType<typeof taskWorktrees>>[number];

/** The task worktree `wt` as a leftover, if it is one (see `mergedWorktrees`). */
async function mergedWorktree(sweep: Sweep, wt: TaskWorktree): Promise<Found | undefined> {
	// Only this checkout's own runs: linked checkouts share the git directory, and a run of another one (or one
	// whose directory is gone) may be live elsewhere: doctor names those, with the command to remove one.
	if (!sweep.own.has(wt.runId)) return undefined;
	const view = await loadRun(sweep.repo, wt.runId).catch(() => undefined);
	if (!view || !TERMINAL_RUN.has(view.status) || view.state.tasks.get(wt.taskId)?.conflict) return undefined;
	const dirty = await gitRun(wt.worktree, ["status", "--porcelain"], { files: true });
	if (dirty.code !== 0 || dirty.stdout.trim() !== "") return undefined;
	// A reader's worktree has no branch of its own: nothing in it to lose.
	const reader = (await branchTip(sweep.repo, wt.branch)) === undefined;
	const into = integrationBranch(wt.runId);
	if (!reader && (await gitRun(sweep.repo, ["merge-base", "--is-ancestor", wt.branch, into])).code !== 0)
		return undefined;
	return {
		kind: "worktree",
		path: wt.worktree,
		why: reader
			? `task ${wt.taskId} of run ${wt.runId}: a reader's worktree of an ended run`
			: `task ${wt.taskId} of run ${wt.runId}: its work is merged into ${into}; its branch ${wt.branch} goes too`,
		remove: async () => {
			await git(sweep.repo, ["worktree", "remove", wt.worktree], { files: true }); // refused if anything changed since
			if (!reader) await git(sweep.repo, ["branch", "--quiet", "-D", wt.branch]);
		},
	};
}

/**
 * Integration branches of this user's ended runs once applied: the checkout's HEAD contains the branch's tip (a
 * fast-forward by `apply`, or a merge), so the run's result is in the checkout. Only when no task branch of the run is
 * left that cleanup keeps (a task branch is known merged only against its integration branch). An unapplied one holds
 * the run's result and stays; the branch is deleted only if it is still where it was found.
 */
const appliedIntegrations: Sweeper = async (sweep) => {
	const found: Found[] = [];
	const worktrees = await taskWorktrees(sweep.repo);
	for (const runId of sweep.own) {
		const branch = integrationBranch(runId);
		const oid = await branchTip(sweep.repo, branch);
		if (!oid) continue;
		const view = await loadRun(sweep.repo, runId).catch(() => undefined);
		if (!view || !TERMINAL_RUN.has(view.status)) continue;
		if ((await gitRun(sweep.repo, ["merge-base", "--is-ancestor", branch, "HEAD"])).code !== 0) continue;
		const tasks = await git(sweep.repo, [
			"for-each-ref",
			"--format=%(refname:short)",
			`refs/heads/pi-crew/${runId}/task/`,
		]);
		let kept = false;
		for (const taskBranch of tasks.split("\n").filter(Boolean)) {
			const wt = worktrees.find((w) => w.branch === taskBranch);
			kept ||= !wt || !(await mergedWorktree(sweep, wt));
		}
		if (kept) continue;
		found.push({
			kind: "integration-branch",
			path: branch,
			why: `run ${runId} ended (${view.status}) and the checkout has its work (applied)`,
			remove: () => git(sweep.repo, ["update-ref", "-d", `refs/heads/${branch}`, oid]).then(() => undefined),
		});
	}
	return found;
};

/** The commit the branch points at, or undefined where there is no such branch. */
async function branchTip(repo: string, branch: string): Promise<string | undefined> {
	const r = await gitRun(repo, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`]);
	return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Every kind of leftover, in the order they are swept. */
const SWEEPERS: Sweeper[] = [staleDrafts, leaseLeftovers, workDirs, mergedWorktrees, appliedIntegrations];

function hours(ms: number): string {
	const h = ms / STALE_MS;
	return h >= 48 ? `${Math.floor(h / 24)} days` : `${Math.floor(h)} h`;
}
