/**
 * A run's work as a branch of its own (`apply --branch`): made with plumbing from commits and trees the run recorded,
 * so the checkout (its branch, index and files) is never touched, and pushed with git that runs nothing the
 * repository configures (git.ts `sterilePush`).
 */
import { OperationError, UsageError } from "../util/errors.js";
import { redact } from "../util/redact.js";
import { git, gitRun, sterilePush } from "./git.js";
import { gitIdentity } from "./worktrees.js";

/** A branch name git takes (`git check-ref-format`), that cannot be read as an option or mean the checkout's HEAD. */
export async function assertBranchName(repo: string, name: string): Promise<void> {
	const valid =
		name !== "" &&
		!name.startsWith("-") &&
		name !== "HEAD" &&
		(await gitRun(repo, ["check-ref-format", `refs/heads/${name}`])).code === 0;
	if (!valid)
		throw new UsageError(
			`--branch ${JSON.stringify(name)} is not a valid branch name (see git check-ref-format: no spaces, "..", "~", "^", ":", "?", "*", "[", "\\\\", no leading "-" or trailing ".lock"): choose another`,
		);
}

/** The commit a branch points at, if it exists. */
async function tipOf(repo: string, name: string): Promise<string | undefined> {
	const r = await gitRun(repo, ["rev-parse", "--verify", "--quiet", `refs/heads/${name}^{commit}`]);
	return r.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * Makes branch `name` at `commit`: only if it does not exist yet (or already points there: `apply --branch` again),
 * and only from nothing (`update-ref` with an empty old value), so a branch made meanwhile is never moved.
 */
export async function createBranch(repo: string, name: string, commit: string): Promise<void> {
	const tip = await tipOf(repo, name);
	if (tip === commit) return;
	if (tip)
		throw new UsageError(
			`branch ${name} exists (at ${tip.slice(0, 12)}), so it is left as it is: choose another name with --branch, or delete it first (git branch -D ${name})`,
		);
	await git(repo, ["update-ref", "-m", "pi-crew: apply --branch", `refs/heads/${name}`, commit, ""]);
}

/**
 * One commit of `tree` on `parent` with `message`, dated `date` (the run's end): the same run gives the same commit
 * each time, so `apply --branch x --squash` again finds x already there.
 */
export async function commitTree(
	repo: string,
	tree: string,
	parent: string,
	message: string,
	date: string,
): Promise<string> {
	const env = { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
	return git(repo, [...(await gitIdentity(repo)), "commit-tree", tree, "-p", parent], { input: message, env });
}

/** A configured remote's push URL (`remote.<name>.pushurl`, else `.url`), or an error that says how to add one. */
export async function remoteUrl(repo: string, remote: string): Promise<string> {
	if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(remote))
		throw new UsageError(`--push ${JSON.stringify(remote)} is not a remote's name: name one of git remote's`);
	for (const key of [`remote.${remote}.pushurl`, `remote.${remote}.url`]) {
		const r = await gitRun(repo, ["config", "--get", key]);
		if (r.code === 0 && r.stdout.trim() !== "") return r.stdout.trim();
	}
	throw new UsageError(
		`--push ${remote}: no remote of that name in ${repo} (git remote -v lists them): add it with git remote add ${remote} URL`,
	);
}

/** Pushes branch `name` (at `commit`) to `remote`; a refusal is an error with git's own words (URL credentials masked). */
export async function pushBranch(repo: string, remote: string, name: string, commit: string): Promise<void> {
	const url = await remoteUrl(repo, remote);
	const r = await sterilePush(repo, url, commit, name);
	if (r.code !== 0)
		throw new OperationError(
			`git push to ${remote} failed: ${redact((r.stderr || r.stdout).trim())}. Branch ${name} is made here: push it yourself with git push ${remote} ${name}`,
		);
}
