/**
 * Worktree isolation: each writing task of a run works in a git worktree of its own, on its own branch, started from
 * the run's integration branch (the base commit plus every task merged so far, its dependencies included). When a task
 * succeeds its work is committed and merged into the integration branch through one queue per run, computed with
 * `git merge-tree` and published with a compare-and-swap of the branch ref: there is no working tree to leave half
 * merged, and a crash leaves the branch either before or after the merge. The user's checkout is never touched here;
 * only `apply` moves it, by a fast-forward, when asked.
 *
 *   base ──● integration (pi-crew/<run>/integration) ──●────────●──▶  apply: fast-forward the checkout
 *          ├─ pi-crew/<run>/task/b ──●──────────────────┘        │
 *          └─ pi-crew/<run>/task/c ──●───────────────────────────┘
 *
 * Worktrees live in pi-crew's home (`worktreeRoot`: `<crew home>/worktrees/<repo key>/<run>/<task>`), outside the
 * repository: no relative path, test runner or linter walking up from a worktree reaches the checkout or its `.git`.
 * Runs from before kept theirs in the git dir (`<git common dir>/pi-crew/worktrees/<run>/<task>`): found there too, and
 * moved out when the run goes on. Commits and merges run nothing the repository configures: git.ts, snapshot.ts.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, realpath } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { crewHome } from "../config/home.js";
import { OperationError, UsageError } from "../util/errors.js";
import { inertLine } from "../util/inert.js";
import { redact } from "../util/redact.js";
import { git, gitRun, sterileGit } from "./git.js";
import { commitWorktree } from "./snapshot.js";

export type Landing = { merged: string } | { conflict: string[] };

/** What a task did, for its commit's message: its role, its answer, the agent and model that gave it. */
export interface TaskWork {
	role: string;
	answer: string;
	agent: string;
	/** Absent: pi's default model. */
	model: string | undefined;
}

/** A commit subject's length at most: `git log --oneline` stays one line. */
const SUBJECT_CHARS = 100;

/**
 * A task's commit message: `<task> (<role>): <the first line of its answer>`, one line, bounded, made inert and
 * redacted (the answer is a model's text), then the run, agent and model it came from as trailers.
 */
function taskCommitMessage(task: TaskWork & { taskId: string; runId: string }): string {
	const first = task.answer.split("\n").find((l) => l.trim() !== "") ?? "(no answer)";
	const line = inertLine(redact(first))
		.replace(/^[\s#>*-]+/, "")
		.replace(/\s+/g, " ")
		.trim();
	let subject = inertLine(`${task.taskId} (${task.role}): ${line}`);
	if (subject.length > SUBJECT_CHARS) subject = `${subject.slice(0, SUBJECT_CHARS - 1).trimEnd()}…`;
	const trailers = [`Run: ${task.runId}`, `Agent: ${task.agent}`, `Model: ${task.model ?? "pi's default"}`];
	return `${subject}\n\n${trailers.map(inertLine).join("\n")}\n`;
}

/** `git merge-tree --write-tree` came with git 2.38. */
const MIN_GIT_MINOR = 38;

/** The branch an isolated run's tasks are merged into. */
export function integrationBranch(runId: string): string {
	return `pi-crew/${runId}/integration`;
}

/** Where a task's work is: its branch and worktree. */
export interface TaskPlace {
	branch: string;
	worktree: string;
}

/**
 * Worktrees pi-crew made in `repo` whose run no longer exists (its directory was deleted): `doctor` reports them, with
 * the command that removes one. Their branches are left alone: they may hold work.
 */
export async function orphanedWorktrees(repo: string, runExists: (runId: string) => boolean) {
	return (await taskWorktrees(repo)).filter((w) => !runExists(w.runId));
}

/** The repository's git common dir, by its real path (git lists worktrees by theirs). */
async function commonDir(repo: string): Promise<string> {
	return realpath(resolve(repo, await git(repo, ["rev-parse", "--git-common-dir"])));
}

/** Where runs from before this version kept a repository's worktrees: in its git dir. */
function legacyRoot(common: string): string {
	return join(common, "pi-crew", "worktrees");
}

/**
 * Where the worktrees of `repo`'s runs live: `<crew home>/worktrees/<name>-<hash>`, the name readable (the
 * repository's directory), the hash of its real git common dir telling apart two checkouts of the same name. A real
 * path, as git lists worktrees. The sandbox binds a task's own directory under it writable.
 */
export async function worktreeRoot(repo: string): Promise<string> {
	return rootFor(await commonDir(repo));
}

async function rootFor(common: string): Promise<string> {
	const name = basename(basename(common) === ".git" ? dirname(common) : common)
		.replace(/[^A-Za-z0-9._-]/g, "_")
		.slice(0, 32);
	const hash = createHash("sha256").update(common).digest("hex").slice(0, 12);
	const home = join(crewHome(), "worktrees");
	const real = await realpath(home).catch(() => home);
	return join(real, `${name}-${hash}`);
}

/** The task worktrees pi-crew made in `repo` (as git lists them), in either place, with their run, task and branch. */
export async function taskWorktrees(repo: string) {
	const listed = await gitRun(repo, ["worktree", "list", "--porcelain", "-z"]);
	if (listed.code !== 0) return [];
	const common = await commonDir(repo);
	const roots = [await rootFor(common), legacyRoot(common)].map((r) => `${r}${sep}`);
	const found: { runId: string; taskId: string; worktree: string; branch: string }[] = [];
	for (const field of listed.stdout.split("\0")) {
		const worktree = field.startsWith("worktree ") ? field.slice("worktree ".length) : "";
		const root = roots.find((r) => worktree.startsWith(r));
		const [runId, taskId, ...more] = root ? worktree.slice(root.length).split(sep) : [];
		if (runId && taskId && more.length === 0)
			found.push({ worktree, runId, taskId, branch: `pi-crew/${runId}/task/${taskId}` });
	}
	return found;
}

/** `-c user.name=… -c user.email=…` for a commit when the user has no git identity configured, else nothing. */
export async function gitIdentity(repo: string): Promise<string[]> {
	const named = (await gitRun(repo, ["config", "--get", "user.email"])).code === 0;
	return named ? [] : ["-c", "user.name=pi-crew", "-c", "user.email=pi-crew@localhost"];
}

export class Workspace {
	private queue: Promise<unknown> = Promise.resolve();

	private constructor(
		readonly repo: string,
		readonly runId: string,
		/** Directory of this run's worktrees. */
		private readonly root: string,
		/** Where this run's worktrees were before they moved out of the git dir. */
		private readonly legacy: string,
		/** `-c user.name=… -c user.email=…` when the user has no git identity configured. */
		private readonly identity: string[],
	) {}

	/** The workspace of a run in `repo`; a repository git cannot use is an error that says what to do. */
	static async open(repo: string, runId: string): Promise<Workspace> {
		const probe = await gitRun(repo, ["rev-parse", "--git-common-dir"]).catch(() => undefined);
		if (probe?.code !== 0)
			throw new UsageError(
				`isolation "worktree" needs git and a git repository, and ${repo} is not one: run with --isolation shared`,
			);
		const version = /(\d+)\.(\d+)/.exec(await git(repo, ["version"])) ?? [];
		if (Number(version[1]) < 2 || (Number(version[1]) === 2 && Number(version[2]) < MIN_GIT_MINOR))
			throw new UsageError(
				`isolation "worktree" needs git 2.${MIN_GIT_MINOR} or later (for merge-tree --write-tree); this is ${version[0]}: update git, or run with --isolation shared`,
			);
		const common = await commonDir(repo);
		await mkdir(join(crewHome(), "worktrees"), { recursive: true }); // made first: its real path names the root
		return new Workspace(
			repo,
			runId,
			join(await rootFor(common), runId),
			join(legacyRoot(common), runId),
			await gitIdentity(repo),
		);
	}

	/** The commit a run starts from: the checkout's HEAD. A repository without a commit cannot isolate tasks. */
	static async baseCommit(repo: string): Promise<string> {
		await Workspace.open(repo, "probe");
		const head = await gitRun(repo, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
		if (head.code !== 0)
			throw new UsageError(
				`isolation "worktree" needs a commit to start from, and ${repo} has none yet: commit first, or run with --isolation shared`,
			);
		return head.stdout.trim();
	}

	get integration(): string {
		return integrationBranch(this.runId);
	}

	place(taskId: string): TaskPlace {
		return { branch: `pi-crew/${this.runId}/task/${taskId}`, worktree: join(this.root, taskId) };
	}

	/**
	 * The integration branch, at `base` if it does not exist yet (a resumed run finds its own). Once a task was merged
	 * into it, it must still be there: made afresh it would silently drop that work.
	 */
	async begin(base: string, merged: string[]): Promise<void> {
		if (await this.has(this.integration)) return;
		if (merged.length > 0)
			throw new UsageError(
				`run ${this.runId}'s integration branch ${this.integration} is gone, with the merged work of ${merged.join(", ")}: restore the branch (git reflog), then resume`,
			);
		await git(this.repo, ["branch", this.integration, base]);
	}

	/**
	 * A worktree to read the run's work so far in (a task that writes nothing): detached at the integration branch's
	 * tip, made again at each start so it shows what was merged since.
	 */
	view(taskId: string): Promise<string> {
		return this.serial(async () => {
			const worktree = await this.relocate(taskId);
			const tip = `refs/heads/${this.integration}`;
			if (await this.listed(worktree)) await git(worktree, ["checkout", "--quiet", "--detach", tip], { files: true });
			else await git(this.repo, ["worktree", "add", "--quiet", "--detach", worktree, tip], { files: true });
			return worktree;
		});
	}

	/**
	 * The task's worktree, found again or made: on its branch if that exists, else a new branch from integration. git
	 * does not guard its worktree list against two writers: this run's git work goes one operation at a time.
	 * `again` (a loop's later round): a branch whose work is all merged moves up to integration's tip, so that the round
	 * works on, and checks, what the rounds before it merged.
	 */
	prepare(taskId: string, again = false): Promise<string> {
		return this.serial(async () => {
			const { branch } = this.place(taskId);
			const worktree = await this.relocate(taskId);
			if (await this.listed(worktree)) {
				if (again) await this.catchUp(worktree, branch);
				return worktree;
			}
			const add = async () =>
				(await this.has(branch))
					? git(this.repo, ["worktree", "add", "--quiet", worktree, branch], { files: true })
					: git(this.repo, ["worktree", "add", "--quiet", "-b", branch, worktree, this.integration], { files: true });
			await add().catch(async () => {
				// A worktree directory removed by hand is still registered (or another run's git was mid-write): once more.
				await git(this.repo, ["worktree", "prune"]);
				await add();
			});
			return worktree;
		});
	}

	/** Moves `branch` (checked out in `worktree`) up to integration's tip, if none of its commits would be left behind. */
	private async catchUp(worktree: string, branch: string): Promise<void> {
		const tip = await git(this.repo, ["rev-parse", `refs/heads/${branch}`]);
		const into = await git(this.repo, ["rev-parse", `refs/heads/${this.integration}`]);
		if (tip !== into && (await this.isAncestor(tip, into)))
			await git(worktree, ["checkout", "--quiet", "-B", branch, into], { files: true });
	}

	/**
	 * The task's worktree path, its worktree moved there first if a run from before left it in the git dir (with its
	 * work, committed or not: `git worktree move` moves the directory as it is).
	 */
	private async relocate(taskId: string): Promise<string> {
		const { worktree } = this.place(taskId);
		await mkdir(this.root, { recursive: true });
		const old = join(this.legacy, taskId);
		if (!existsSync(worktree) && (await this.listed(old))) await git(this.repo, ["worktree", "move", old, worktree]);
		return worktree;
	}

	/** Commits whatever the task changed in its worktree: the commit it was made on, and the branch's tip. */
	commit(taskId: string, work: TaskWork): Promise<{ base: string; commit: string }> {
		const message = taskCommitMessage({ ...work, taskId, runId: this.runId });
		return commitWorktree(this.place(taskId).worktree, message, this.identity);
	}

	/** The two sides of a task's merge: its branch's tip (`from`) and the integration branch's (`into`). */
	async sides(taskId: string): Promise<{ from: string; into: string }> {
		const from = await git(this.repo, ["rev-parse", `refs/heads/${this.place(taskId).branch}`]);
		return { from, into: await git(this.repo, ["rev-parse", `refs/heads/${this.integration}`]) };
	}

	/**
	 * Lays the merge of `into` (the integration branch) into the task's branch at `from` over its worktree, for a
	 * resolver to settle: computed by `merge-tree` where no configuration is (no merge driver runs), the merged tree
	 * checked out (filters defused) with git's conflict markers in the files that conflict, which it returns as
	 * latin1 strings (their bytes, whatever their encoding: not quoted as git shows names).
	 */
	async layConflict(taskId: string, { from, into }: { from: string; into: string }): Promise<string[]> {
		const args = ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", from, into];
		const r = await sterileGit(this.repo, args);
		if (r.code > 1) throw new OperationError(`git merge-tree failed: ${r.stderr.trim()}`);
		const [tree = "", ...files] = r.stdout.toString("latin1").split("\0");
		await git(this.place(taskId).worktree, ["read-tree", "--reset", "-u", tree], { files: true });
		return r.code === 1 ? files.filter(Boolean) : [];
	}

	/** Commits the settled worktree on the task's branch as the merge of both sides: parents its tip, then `into`. */
	async commitResolution(taskId: string, into: string, work: TaskWork): Promise<string> {
		const message = taskCommitMessage({ ...work, taskId, runId: this.runId });
		return (await commitWorktree(this.place(taskId).worktree, message, this.identity, into)).commit;
	}

	/**
	 * Puts the task's worktree back at its branch's tip, tracked or untracked files alike (ignored ones stay): what a
	 * loop's rejected round did there is gone, and the next round's catch-up neither fails on it nor carries it.
	 */
	discard(taskId: string): Promise<void> {
		return this.serial(async () => {
			const { branch, worktree } = this.place(taskId);
			if (!(await this.listed(worktree))) return;
			await git(worktree, ["reset", "--quiet", "--hard", `refs/heads/${branch}`], { files: true });
			await git(worktree, ["clean", "--quiet", "-d", "--force"], { files: true });
		});
	}

	/** Puts the task's branch, its worktree and its index back at `from`: what a resolver did there is gone. */
	async restore(taskId: string, from: string): Promise<void> {
		const { branch, worktree } = this.place(taskId);
		await git(this.repo, ["update-ref", `refs/heads/${branch}`, from]);
		if (await this.listed(worktree)) await git(worktree, ["reset", "--quiet", "--hard", from], { files: true });
	}

	/** The files a commit changed from `base`, as latin1 strings (compared where no configuration is: no driver runs). */
	async changed(base: string, commit: string): Promise<string[]> {
		const r = await sterileGit(this.repo, ["diff", "--name-only", "-z", "--no-renames", base, commit]);
		if (r.code !== 0) throw new OperationError(`git diff failed: ${r.stderr.trim()}`);
		return r.stdout.toString("latin1").split("\0").filter(Boolean);
	}

	/** Merges the task's branch into integration, one task at a time, in the order tasks finish. */
	land(taskId: string): Promise<Landing> {
		return this.serial(() => this.merge(taskId));
	}

	/** The run's queue of git operations that change shared state (worktree list, integration branch). */
	private serial<T>(work: () => Promise<T>): Promise<T> {
		const next = this.queue.then(work);
		this.queue = next.catch(() => undefined);
		return next;
	}

	private async merge(taskId: string): Promise<Landing> {
		const { branch } = this.place(taskId);
		const into = await git(this.repo, ["rev-parse", `refs/heads/${this.integration}`]);
		const tip = await git(this.repo, ["rev-parse", `refs/heads/${branch}`]);
		if (await this.isAncestor(tip, into)) return { merged: into }; // nothing new, or merged before a crash
		let merged = tip;
		if (!(await this.isAncestor(into, tip))) {
			// In a repository of no configuration: a merge driver named by the repository's attributes would run here.
			const r = await sterileGit(this.repo, ["merge-tree", "--write-tree", "--name-only", "--no-messages", into, tip]);
			const [tree = "", ...files] = r.stdout.toString().trim().split("\n");
			if (r.code === 1) return { conflict: files.filter(Boolean) };
			if (r.code !== 0) throw new Error(`git merge-tree failed: ${r.stderr.trim()}`);
			const subject = `pi-crew: merge task ${taskId} of run ${this.runId}`;
			const body = `Merges ${branch}: ${await git(this.repo, ["log", "-1", "--format=%s", tip])}`;
			const message = ["-m", subject, "-m", body];
			merged = await git(this.repo, [...this.identity, "commit-tree", tree, "-p", into, "-p", tip, ...message]);
		}
		// Only if integration is still where it was read: nothing else moves it meanwhile, and a lost race is an error.
		await git(this.repo, ["update-ref", `refs/heads/${this.integration}`, merged, into]);
		return { merged };
	}

	/**
	 * Moves the user's checkout to the integration branch by a fast-forward: only when its HEAD is where the run
	 * started or behind, and git keeps uncommitted changes (it refuses if one would be overwritten).
	 */
	async apply(): Promise<{ from: string; to: string }> {
		const to = await git(this.repo, ["rev-parse", `refs/heads/${this.integration}`]);
		const from = await git(this.repo, ["rev-parse", "HEAD"]);
		if (!(await this.isAncestor(from, to)))
			throw new UsageError(
				`the checkout (${from.slice(0, 12)}) has moved on since the run started, so it cannot be fast-forwarded: merge the run yourself with: git merge ${this.integration}`,
			);
		if (from !== to) await git(this.repo, ["merge", "--ff-only", "--quiet", to], { files: true });
		return { from, to };
	}

	private async listed(worktree: string): Promise<boolean> {
		const listed = await git(this.repo, ["worktree", "list", "--porcelain"]);
		return existsSync(worktree) && listed.split("\n").includes(`worktree ${worktree}`);
	}

	private async has(branch: string): Promise<boolean> {
		return (await gitRun(this.repo, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`])).code === 0;
	}

	private async isAncestor(a: string, b: string): Promise<boolean> {
		return (await gitRun(this.repo, ["merge-base", "--is-ancestor", a, b])).code === 0;
	}
}
