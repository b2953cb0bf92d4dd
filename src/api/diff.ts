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
}

const STATUS: Record<string, DiffStatus> = { A: "added", M: "modified", D: "deleted", T: "type-changed" };

/** What the run (or its task `taskId`) changed, as its log recorded it. */
export async function runDiff(view: RunView, taskId?: string): Promise<RunDiff> {
	const { base, head } = taskId ? taskEnds(view, taskId) : runEnds(view);
	const repo = view.paths.repo;
	await assertPresent(repo, base, head);
	const common = ["--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", base, head, "--"];
	const [patch, numstat, names] = await Promise.all([
		diffGit(repo, ["diff", "--full-index", ...common]),
		diffGit(repo, ["diff", "--numstat", "-z", ...common]),
		diffGit(repo, ["diff", "--name-status", "-z", ...common]),
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
	return { runId: view.state.runId, ...(taskId ? { taskId } : {}), base, head, files, patch };
}

/** A whole run: from its base to its integration branch's latest merge, or to the checkout after its latest writer. */
function runEnds(view: RunView): { base: string; head: string } {
	const { state } = view;
	const { baseCommit, baseTree } = state.settings;
	if (state.settings.isolation === "worktree") {
		if (!baseCommit) throw new UsageError(`run ${state.runId} is isolated but records no base commit`);
		return { base: baseCommit, head: state.merged ?? baseCommit };
	}
	if (!baseTree)
		throw new UsageError(
			`run ${state.runId} recorded no tree of its checkout to compare with (${view.paths.repo} is not a git repository, or the run is from before pi-crew recorded one); see each task's result: pi-crew result ${state.runId} <task>`,
		);
	return { base: baseTree, head: state.tree ?? baseTree };
}

/** One task: its commit and the commit it was made on (isolated), or the checkout's trees around its attempts. */
function taskEnds(view: RunView, taskId: string): { base: string; head: string } {
	const { state } = view;
	const task = state.tasks.get(taskId);
	if (!task)
		throw new UsageError(
			`run ${state.runId} has no task "${taskId}" (its tasks: ${[...state.tasks.keys()].join(", ")})`,
		);
	if (task.committed?.base) return { base: task.committed.base, head: task.committed.commit };
	if (task.changed) return { base: task.changed.from, head: task.changed.to };
	const why = task.committed
		? "its commit was recorded before pi-crew recorded the commit it was made on: diff the whole run"
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

async function diffGit(repo: string, args: string[]): Promise<string> {
	const r = await sterileGit(repo, args);
	if (r.code !== 0)
		throw new OperationError(`git ${args.slice(0, 2).join(" ")} failed: ${r.stderr.trim().split("\n")[0]}`);
	return r.stdout;
}
