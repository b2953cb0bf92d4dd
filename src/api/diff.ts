/**
 * `diff`: what a run or one of its tasks changed, from what its log recorded: commits in an isolated run (the base and
 * the integration branch after the latest merge; a task's commit and the commit it was made on), trees of the checkout
 * in a shared one (at the run's start and after its latest writer; before and after a task's attempts). git computes
 * it where no configuration is (`sterileGit`): no diff driver or textconv a repository names runs.
 */
import type { RunView } from "../store/run-store.js";
import { OperationError, UsageError } from "../util/errors.js";
import { gitRun, sterileGit } from "../workspace/git.js";

export type DiffStatus = "added" | "modified" | "deleted" | "type-changed";

export interface DiffFile {
	path: string;
	status: DiffStatus;
	/** Lines; 0 for a binary file (`binary`). */
	additions: number;
	deletions: number;
	binary?: true;
}

export interface RunDiff {
	runId: string;
	taskId?: string;
	/** The commits (isolated) or trees (shared) compared. */
	base: string;
	head: string;
	files: DiffFile[];
	/** The unified diff; text from a worker's edits: make it inert before a terminal shows it. */
	patch: string;
	/** What the diff leaves out and why (changes made where the run's record does not reach). */
	notes?: string[];
}

const STATUS: Record<string, DiffStatus> = { A: "added", M: "modified", D: "deleted", T: "type-changed" };

/**
 * What the run (or its task `taskId`) changed, as its log recorded it, with `notes` on what the record leaves out.
 */
export async function runDiff(view: RunView, taskId?: string): Promise<RunDiff> {
	const { base, head, notes } = await recorded(view, taskId);
	const repo = view.paths.repo;
	const [patch, numstat, names] = await Promise.all([
		diffGit(repo, ["--full-index"], base, head).then((b) => b.toString()),
		diffGit(repo, ["--numstat", "-z"], base, head).then((b) => b.toString()),
		diffGit(repo, ["--name-status", "-z"], base, head).then((b) => b.toString()),
	]);
	const counts = new Map<string, [string, string]>();
	for (const entry of numstat.split("\0").filter(Boolean)) {
		const [added = "", deleted = "", ...path] = entry.split("\t");
		counts.set(path.join("\t"), [added, deleted]);
	}
	const fields = names.split("\0");
	const files: DiffFile[] = [];
	for (let i = 0; i + 1 < fields.length; i += 2) {
		const path = fields[i + 1] ?? "";
		const [added = "0", deleted = "0"] = counts.get(path) ?? [];
		const binary = added === "-";
		files.push({
			path,
			status: STATUS[fields[i] ?? ""] ?? "modified",
			additions: binary ? 0 : Number(added),
			deletions: binary ? 0 : Number(deleted),
			...(binary ? { binary: true as const } : {}),
		});
	}
	return {
		runId: view.state.runId,
		...(taskId ? { taskId } : {}),
		base,
		head,
		files,
		patch,
		...(notes.length > 0 ? { notes } : {}),
	};
}

/**
 * The same changes written to `file` (relative to `cwd`) as a patch `git apply` takes: git's bytes as they are (CRLF
 * and any encoding kept), binary files included (`--binary`). Written atomically, never through a link at the file
 * (nor anywhere in the repository). Returns where it went and what the patch leaves out.
 */
export async function writePatch(
	view: RunView,
	taskId: string | undefined,
	cwd: string | undefined,
	file: string,
): Promise<{ path: string; bytes: number; notes: string[] }> {
	const { base, head, notes } = await recorded(view, taskId);
	const repo = view.paths.repo;
	const patch = await diffGit(repo, ["--full-index", "--binary"], base, head);
	const { exportTarget, writeExport } = await import("../util/safe-fs.js");
	const path = await writeExport(repo, await exportTarget(repo, cwd, file, file, { what: "patch" }), patch);
	return { path, bytes: patch.length, notes };
}

/** A commit or tree id as git writes them (SHA-1 or SHA-256): nothing else from a log reaches git's command line. */
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The recorded ends, checked: ids, still in the repository's objects. */
export async function recorded(view: RunView, taskId?: string): Promise<Ends> {
	const ends = taskId ? taskEnds(view, taskId) : runEnds(view);
	for (const [field, oid] of [
		["base", ends.base],
		["head", ends.head],
	] as const)
		if (!OID.test(oid))
			throw new OperationError(
				`the ${field} that run ${view.state.runId}'s log records for diff is not a commit or tree id (${JSON.stringify(oid.slice(0, 80))}): ${view.paths.events} was not written by pi-crew; start a new run`,
			);
	await assertPresent(view.paths.repo, ends.base, ends.head);
	return ends;
}

export interface Ends {
	base: string;
	head: string;
	/** What the diff leaves out, in words. */
	notes: string[];
}

/**
 * A whole run: from its base to its integration branch's latest merge, or to the checkout after its latest writer. An
 * isolated run's steps that worked in the checkout (`isolation: shared`) are not on its branch: the notes name them.
 */
function runEnds(view: RunView): Ends {
	const { state } = view;
	const { baseCommit, baseTree, noBaseTree } = state.settings;
	if (state.settings.isolation === "worktree") {
		if (!baseCommit) throw new UsageError(`run ${state.runId} is isolated but records no base commit`);
		const notes = [...state.tasks.values()]
			.filter((t) => t.changed || t.unrecorded)
			.map(
				(t) =>
					`task ${t.id} worked in the checkout (isolation: shared), not on the run's branch: its changes are not in this diff; see pi-crew diff ${state.runId} ${t.id}`,
			);
		return { base: baseCommit, head: state.merged ?? baseCommit, notes };
	}
	if (!baseTree)
		throw new UsageError(
			`run ${state.runId} recorded no tree of its checkout to compare with (${noBaseTree ?? `${view.paths.repo} is not a git repository, or the run is from before pi-crew recorded one`}); see each task's result: pi-crew result ${state.runId} <task>`,
		);
	const notes = state.treeUnrecorded
		? [
				`the latest attempt that worked in the checkout was not recorded, so its changes are not in this diff: ${state.treeUnrecorded}`,
			]
		: [];
	return { base: baseTree, head: state.tree ?? baseTree, notes };
}

/** One task: its commit and the commit it was made on (isolated), or the checkout's trees around its attempts. */
function taskEnds(view: RunView, taskId: string): Ends {
	const { state } = view;
	const task = state.tasks.get(taskId);
	if (!task)
		throw new UsageError(
			`run ${state.runId} has no task "${taskId}" (its tasks: ${[...state.tasks.keys()].join(", ")})`,
		);
	if (task.committed?.base) return { base: task.committed.base, head: task.committed.commit, notes: [] };
	const unrecorded = `an attempt of it in the checkout was not recorded: ${task.unrecorded}`;
	if (task.changed)
		return { base: task.changed.from, head: task.changed.to, notes: task.unrecorded ? [unrecorded] : [] };
	const why = task.committed
		? "its commit was recorded before pi-crew recorded the commit it was made on: diff the whole run"
		: task.unrecorded
			? unrecorded
			: `it is ${task.status}, and only a writing task's finished attempts are recorded (its commit in an isolated run; the checkout's trees in a shared run, in a git repository)`;
	throw new UsageError(`task ${taskId} of run ${state.runId} has no recorded changes: ${why}`);
}

/** The recorded commits or trees must still be in the repository's objects (a gc removes those nothing refers to). */
async function assertPresent(repo: string, base: string, head: string): Promise<void> {
	const r = await gitRun(repo, ["cat-file", "--batch-check=%(objecttype)"], {
		input: `${base}^{tree}\n${head}^{tree}\n`,
	});
	const types = r.stdout.split("\n");
	if (r.code === 0 && types[0] === "tree" && types[1] === "tree") return;
	throw new OperationError(
		`what the run recorded (${base.slice(0, 12)}..${head.slice(0, 12)}) is not in ${repo}'s git objects: the run came from elsewhere, or git gc removed objects nothing referred to`,
	);
}

/** `git diff` of two recorded ids, as bytes: no colour, driver, textconv or rename detection. */
async function diffGit(repo: string, args: string[], base: string, head: string): Promise<Buffer> {
	const options = ["--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", ...args];
	const r = await sterileGit(repo, ["diff", ...options, "--end-of-options", base, head, "--"]);
	if (r.code !== 0) throw new OperationError(`git diff ${args.join(" ")} failed: ${r.stderr.trim().split("\n")[0]}`);
	return r.stdout;
}
