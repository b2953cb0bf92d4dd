/**
 * `apply --branch`: a run's work handed over as a branch of its own (the tasks' commits, or one commit with
 * `--squash`), made from what the run's log recorded without touching the checkout, with a pull-request description
 * (`pr.md` in the run's artifacts) and, with `--push`, pushed to a remote. docs/workspaces.md.
 */
import { join, relative } from "node:path";
import { formatCost, formatTokens, tokensLine } from "../engine/summary.js";
import { type RunState, shownUsage, type TaskState } from "../store/events.js";
import type { RunView } from "../store/run-store.js";
import { UsageError } from "../util/errors.js";
import { inert, inertLine } from "../util/inert.js";
import { redact } from "../util/redact.js";
import { readConfined, writeFileAtomic } from "../util/safe-fs.js";
import { assertBranchName, commitTree, createBranch, pushBranch, remoteUrl } from "../workspace/branch.js";
import { git, gitRun } from "../workspace/git.js";
import { type DiffFile, recorded, runDiff } from "./diff.js";
import { runStatus } from "./index.js";

export interface HandoverRequest {
	/** The branch to make (`squash` and `push` need it). */
	branch?: string;
	/** One commit holding the whole run's work, instead of the tasks' commits. */
	squash?: boolean;
	/** A configured remote to push the branch to. */
	push?: string;
	/**
	 * Asked before anything is made when the branch is to be pushed (a push is outward and cannot be undone): false
	 * refuses the handover. Absent: the user asked for the push themselves.
	 */
	confirmPush?: (remote: string, url: string, branch: string) => Promise<boolean>;
}

export interface Handover {
	runId: string;
	branch: string;
	/** The branch's tip. */
	commit: string;
	/** The commit it starts from. */
	base: string;
	/** Commits on the branch from `base`. */
	commits: number;
	/** The remote it was pushed to. */
	pushed?: string;
	/** The pull-request description. */
	prPath: string;
}

/** A commit subject's length at most, as a task's commit's. */
const SUBJECT_CHARS = 100;
/** Lines of a task's answer the description quotes. */
const ANSWER_LINES = 6;

/**
 * Makes branch `req.branch` with run `runId`'s work (a run that succeeded, made here), writes `pr.md`, and pushes the
 * branch when asked. An isolated run gives its integration branch's commits (or one); a shared run in a git
 * repository one commit of the checkout's tree after its latest writer, on the checkout's HEAD when HEAD's files are
 * what the run started from.
 */
export async function handOver(
	cwd: string | undefined,
	runId: string | undefined,
	req: HandoverRequest,
): Promise<Handover> {
	const view = await runStatus(cwd, runId);
	const { state } = view;
	await (await import("./lifecycle.js")).assertLocal(view); // a run that came with the repository is never applied
	const repo = view.paths.repo;
	const { branch } = req;
	if (branch === undefined)
		throw new UsageError("squash and push make a branch: name it (--branch NAME; the team tool's branch)");
	await assertBranchName(repo, branch);
	const url = req.push ? await remoteUrl(repo, req.push) : undefined;
	if (view.status !== "succeeded")
		throw new UsageError(
			`run ${state.runId} is ${view.status}; only a run that succeeded is handed over (pi-crew diff ${state.runId} shows what it changed so far)`,
		);
	const { base, head, notes } = await recorded(view);
	if (base === head) throw new UsageError(`run ${state.runId} changed no file: there is no work to make a branch of`);
	if (req.push && url && req.confirmPush && !(await req.confirmPush(req.push, redact(url), branch)))
		throw new UsageError(`the user declined the push of branch ${branch} to ${req.push}: nothing was made`);
	const answers = await firstLines(view);
	const message = commitMessage(state, answers);
	const date = `@${Math.floor(Date.parse(state.endedAt ?? state.lastAt) / 1000)} +0000`;
	let parent = base;
	let commit = head;
	if (state.settings.isolation !== "worktree") {
		parent = await sharedParent(view, base, branch);
		commit = await commitTree(repo, head, parent, message, date);
	} else if (req.squash) commit = await commitTree(repo, `${head}^{tree}`, base, message, date);
	await createBranch(repo, branch, commit);
	const count = await git(repo, ["rev-list", "--count", `${parent}..${commit}`]);
	const prPath = await writeDescription(view, { branch, base: parent, commit, notes }, answers);
	if (req.push) await pushBranch(repo, req.push, branch, commit);
	return {
		runId: state.runId,
		branch,
		commit,
		base: parent,
		commits: Number(count),
		...(req.push ? { pushed: req.push } : {}),
		prPath,
	} satisfies Handover;
}

/**
 * A shared run's commit goes on the checkout's HEAD only when HEAD's files are the run's starting tree: then the
 * commit holds the run's changes and nothing else (not edits made before it, nor commits made since).
 */
async function sharedParent(view: RunView, baseTree: string, branch: string): Promise<string> {
	const repo = view.paths.repo;
	const head = await gitRun(repo, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
	const tree = await gitRun(repo, ["rev-parse", "--verify", "--quiet", "HEAD^{tree}"]);
	if (head.code === 0 && tree.stdout.trim() === baseTree) return head.stdout.trim();
	throw new UsageError(
		`run ${view.state.runId} worked in the checkout, and the checkout's HEAD ${head.code === 0 ? `(${head.stdout.trim().slice(0, 12)}) does not hold the files the run started from (there were uncommitted or untracked files then, or HEAD moved since)` : "has no commit"}, so its work cannot be told apart as a commit: make the branch yourself (git switch -c ${branch}, add the run's changes, commit; pi-crew diff ${view.state.runId} shows them)`,
	);
}

/** Each task's answer, its first non-empty lines (a model's text: redacted and made inert where it is shown). */
async function firstLines(view: RunView): Promise<Map<string, string[]>> {
	const answers = new Map<string, string[]>();
	for (const t of view.state.tasks.values()) {
		if (!t.resultPath) continue;
		const text = await readConfined(view.paths.dir, t.resultPath).catch(() => "");
		const lines = redact(text)
			.split("\n")
			.filter((l) => l.trim() !== "");
		answers.set(t.id, lines.slice(0, ANSWER_LINES));
	}
	return answers;
}

function bounded(line: string): string {
	const one = inertLine(redact(line)).replace(/\s+/g, " ").trim();
	return one.length > SUBJECT_CHARS ? `${one.slice(0, SUBJECT_CHARS - 1).trimEnd()}…` : one;
}

/** A whole run's commit: the goal as subject, each task's first line in the body, the run as a trailer. */
function commitMessage(state: RunState, answers: Map<string, string[]>): string {
	const subject = bounded(state.goal.split("\n").find((l) => l.trim() !== "") ?? `run ${state.runId}`);
	const tasks = [...state.tasks.values()].map(
		(t) => `- ${bounded(`${t.id} (${t.role}): ${answers.get(t.id)?.[0]?.replace(/^[\s#>*-]+/, "") ?? t.status}`)}`,
	);
	return `${subject}\n\n${tasks.join("\n")}\n\nRun: ${state.runId}\nTeam: ${bounded(state.team)}\n`;
}

/** What a task's verify command and verdict said, in words; empty when it has neither. */
function verification(t: TaskState): string[] {
	const lines: string[] = [];
	const verified = t.attempts.at(-1)?.verified;
	if (t.verify?.command && verified !== undefined)
		lines.push(`verify \`${inertLine(redact(t.verify.command))}\`: ${verified ? "passed" : "failed"}`);
	if (t.verdict) {
		const findings = t.verdict.findings.trim() ? `: ${bounded(t.verdict.findings)}` : "";
		lines.push(`verdict (by ${t.verdict.by}): ${t.verdict.clean ? "clean" : "not clean"}${findings}`);
	}
	return lines;
}

function fileLine(f: DiffFile): string {
	const counts = f.binary ? "binary" : `+${f.additions} -${f.deletions}`;
	return `\`${inertLine(f.path)}\` (${f.status}, ${counts})`;
}

/** The files a task changed, from its recorded commit or trees; none when it recorded none (a read-only task). */
async function changedFiles(view: RunView, t: TaskState): Promise<DiffFile[]> {
	if (!t.committed?.base && !t.changed) return [];
	return (await runDiff(view, t.id).catch(() => undefined))?.files ?? [];
}

/** `pr.md`: the goal, what each task changed and said, verification and review verdicts, rounds, tokens and cost. */
async function writeDescription(
	view: RunView,
	target: { branch: string; base: string; commit: string; notes: string[] },
	answers: Map<string, string[]>,
): Promise<string> {
	const { state } = view;
	const tasks = [...state.tasks.values()];
	const sections: string[] = [];
	for (const t of tasks) {
		const round = (t.round ?? 1) > 1 ? `, round ${t.round}` : "";
		const usage = shownUsage(t.usage);
		const cost = usage.cost === undefined ? "" : `, ${formatCost(usage.cost)}`;
		const files = await changedFiles(view, t);
		sections.push(
			[
				`### ${bounded(t.id)}: ${bounded(t.role)} (${bounded(t.agent)}${round}), ${t.status}, ${formatTokens(usage.total)} tokens${cost}`,
				"",
				files.length > 0 ? `Changed: ${files.map(fileLine).join(", ")}` : "Changed no file.",
				...verification(t).map((l) => `- ${l}`),
				"",
				...(answers.get(t.id) ?? []).map((l) => `> ${inertLine(l)}`),
			].join("\n"),
		);
	}
	const checked = tasks.flatMap((t) => verification(t).map((l) => `- ${bounded(t.id)}: ${l}`));
	const rounds = tasks.filter((t) => (t.round ?? 1) > 1).map((t) => `${bounded(t.id)} ×${t.round}`);
	const goal = state.goal.trim().split("\n");
	const text = [
		`# ${bounded(goal[0] ?? state.runId)}`,
		"",
		...(goal.length > 1 ? [...goal.slice(1).map((l) => `> ${inertLine(l)}`), ""] : []),
		`Made by pi-crew run \`${state.runId}\` (team ${bounded(state.team)}, workflow ${bounded(state.workflow)}): branch \`${target.branch}\` at ${target.commit.slice(0, 12)}, on ${target.base.slice(0, 12)}.`,
		...target.notes.map((n) => `\nNote: ${bounded(n)}`),
		"",
		"## Verification and review",
		"",
		...(checked.length > 0 ? checked : ["No task of this run had a verify command or a verdict."]),
		...(rounds.length > 0 ? ["", `Loop rounds: ${rounds.join(", ")}`] : []),
		"",
		"## What each task did",
		"",
		sections.join("\n\n"),
		"",
		"## Tokens and cost",
		"",
		`${tokensLine(state)}`,
		"",
	].join("\n");
	const file = relative(view.paths.dir, join(view.paths.artifacts, "pr.md"));
	return writeFileAtomic(view.paths.dir, file, inert(redact(text)));
}
