/**
 * A conflicted merge settled by an agent before it needs a person: the integration branch is merged into the task's
 * branch in its worktree with the conflict markers left in, the resolver agent (config `merge.resolver`, builtin
 * `merger`) settles the files with both sides' answers in its prompt, the host checks that no marker is left, commits
 * the merge on the task's branch (both sides as parents), runs the step's verify command on it and merges it through
 * the run's one merge queue. Any failure puts the task's branch back where it was: neither side's work is lost, and the
 * integration branch only ever moves by the queue's compare-and-swap.
 */
import { lstat, readFile } from "node:fs/promises";
import { join, sep } from "node:path";
import type { EffectiveConfig } from "../config/resolve.js";
import type { Catalog } from "../resources/catalog.js";
import { writeArtifact } from "../store/run-store.js";
import { OperationError, UsageError } from "../util/errors.js";
import { goalSection } from "../util/identity.js";
import { inertLine } from "../util/inert.js";
import { makeDirs, readConfined } from "../util/safe-fs.js";
import type { Workspace } from "../workspace/worktrees.js";
import { runAttempt, verify } from "./attempt.js";
import type { RunContext } from "./context.js";
import { type PlannedTask, taskModels } from "./plan.js";
import { fencedResult, systemPrompt } from "./prompt.js";

/** What a resolution came to: merged into the integration branch, or why not (the task's branch is as it was). */
export type Resolution = { merged: string } | { failed: string } | { cancelled: string };

/** A line git's conflict markers begin (`<<<<<<< ours`, `||||||| base`, `>>>>>>> theirs`). */
const MARKER = /^(?:<{7}|\|{7}|>{7})(?: |\r?$)/m;

/**
 * The run's `merge` settings from the config: the resolver agent must exist (a typo is refused before the run
 * starts, with where it was set); `none` records nothing, and a conflict needs a person at once.
 */
export function mergeSettings(merge: EffectiveConfig["merge"], source: string, catalog: Catalog) {
	if (merge.resolver === "none") return {};
	if (!catalog.agents.has(merge.resolver))
		throw new UsageError(
			`merge.resolver names the agent "${merge.resolver}" (${source}), and there is none: name one of ${[...catalog.agents.keys()].sort().join(", ")}, or none`,
		);
	return { merge: { resolver: merge.resolver, ...(merge.model ? { model: merge.model } : {}) } };
}

/**
 * A resolution the coordinator did not see end (it was killed): the task's branch and worktree go back to where they
 * were before it, so its unverified merge is never merged; the conflict is then met, and resolved, again.
 */
export async function recoverResolution(ctx: RunContext, workspace: Workspace, id: string): Promise<void> {
	const open = ctx.state().tasks.get(id)?.resolving;
	if (!open) return;
	await workspace.restore(id, open.from);
	await ctx.log.append("task.resolved", { failed: "cut short: the coordinator stopped while it ran" }, id);
}

/**
 * Settles the task's conflicted merge with the run's resolver agent, if it has one (`undefined`: none, a person
 * resolves it). On any failure the task's branch and worktree are back where they were.
 */
export async function resolveConflict(
	ctx: RunContext,
	workspace: Workspace,
	task: PlannedTask,
	files: string[],
): Promise<Resolution | undefined> {
	const merge = ctx.settings.merge;
	if (!merge) return undefined;
	const agent = ctx.plan.resolver;
	if (!agent) return { failed: `the resolver agent "${merge.resolver}" is not found (config merge.resolver)` };
	const id = task.id;
	const sides = await workspace.sides(id).catch((err: Error) => err);
	if (sides instanceof Error) {
		if (!(sides instanceof OperationError)) throw sides;
		return { failed: `the resolver could not start: ${sides.message}` };
	}
	const round = (ctx.state().tasks.get(id)?.resolutions ?? 0) + 1;
	await ctx.log.append("task.resolving", { files, agent: agent.name, ...sides }, id);
	// Built anew: nothing of the step (its model, skills, loop, approval, reviewer) but its verify command for the check.
	const check = task.verify?.command ? task.verify : undefined;
	const resolver: PlannedTask = {
		id,
		role: "merger",
		agent,
		dependsOn: [],
		template: "",
		output: task.output,
		...(merge.model ? { model: merge.model } : {}),
		...(check && {
			verify: { command: check.command, scope: check.scope, ...(check.refused && { refused: check.refused }) },
		}),
	};
	const ended = await settle(ctx, workspace, resolver, sides, `tasks/${id}/merge-${round}`).catch((err: Error) => {
		if (!(err instanceof OperationError)) throw err;
		return { failed: `the resolution failed: ${err.message}` };
	});
	if ("merged" in ended) {
		await ctx.log.append("task.resolved", { commit: ended.commit }, id);
		return { merged: ended.merged };
	}
	const restored = await workspace.restore(id, sides.from).then(
		() => "",
		(err: Error) => ` (and its branch could not be put back at ${sides.from}: ${err.message})`,
	);
	const failed = "failed" in ended ? `${ended.failed}${restored}` : `cancelled${restored}`;
	await ctx.log.append("task.resolved", { failed }, id);
	return "cancelled" in ended ? ended : { failed };
}

/** The resolver's work, from the conflicted worktree to the merge queue; throws OperationError for git's failures. */
async function settle(
	ctx: RunContext,
	workspace: Workspace,
	resolver: PlannedTask,
	sides: { from: string; into: string },
	rel: string,
): Promise<{ merged: string; commit: string } | { failed: string } | { cancelled: string }> {
	const id = resolver.id;
	const cwd = workspace.place(id).worktree;
	const files = await workspace.layConflict(id, sides);
	await makeDirs(ctx.paths.repo, join(ctx.paths.artifacts, rel));
	const prompt = await resolverPrompt(ctx, workspace, resolver, files, sides);
	const promptPath = await writeArtifact(ctx.paths, `${rel}/prompt.md`, prompt);
	// Its own identity (`<task>.merge`): its scripts, its processes and any verdict it gives are not the task's.
	const side = { id: `${id}.merge`, stop: new AbortController().signal, verdict: () => {} };
	const system = systemPrompt({ ...resolver, id: side.id }, ctx.plan.team, 1);
	const systemPromptPath = await writeArtifact(ctx.paths, `${rel}/system.md`, system);
	const [model] = taskModels(ctx.settings, resolver);
	const attempt = { prompt, promptPath, systemPromptPath, taskDir: join(ctx.paths.artifacts, rel) };
	const ran = await runAttempt(ctx, resolver, attempt, cwd, model, undefined, side);
	const who = `the resolver ${resolver.agent.name}`;
	if (ran.kind === "cancelled") return { cancelled: ran.detail };
	if (ran.kind !== "succeeded") return { failed: `${who} failed: ${ran.detail}` };
	await writeArtifact(ctx.paths, `${rel}/result.md`, ran.answer);
	const marked = await withMarkers(cwd, files);
	if (marked.length > 0) return { failed: `${who} left conflict markers in ${marked.join(", ")}` };
	const work = { role: resolver.role, answer: ran.answer, agent: resolver.agent.name, model };
	const commit = await workspace.commitResolution(id, sides.into, work);
	if (resolver.verify?.command) {
		const checked = await verify(ctx, resolver, cwd, rel, ran);
		if (checked.kind === "cancelled") return { cancelled: checked.detail };
		if (checked.kind !== "succeeded") return { failed: `${who}'s merge did not pass: ${checked.detail}` };
	}
	const landing = await workspace.land(id);
	if ("conflict" in landing) return { failed: `${who}'s merge conflicts again in ${landing.conflict.join(", ")}` };
	return { merged: landing.merged, commit };
}

/**
 * Of `files` (relative to `dir`, latin1: their bytes), those that still hold a conflict marker line, by their names;
 * a file gone or not regular has none.
 */
async function withMarkers(dir: string, files: string[]): Promise<string[]> {
	const marked: string[] = [];
	for (const file of files) {
		const path = Buffer.concat([Buffer.from(`${dir}${sep}`), Buffer.from(file, "latin1")]);
		if (!(await lstat(path).catch(() => undefined))?.isFile()) continue;
		if (MARKER.test(await readFile(path, "latin1"))) marked.push(named(file));
	}
	return marked;
}

/** A path git gave as bytes (latin1), as people read it. */
function named(file: string): string {
	return inertLine(Buffer.from(file, "latin1").toString());
}

/**
 * The resolver's prompt: the goal, the files in conflict and which side is which, both sides' intents (the task's
 * answer, and the answers of the tasks already merged that changed those files, fenced: workers wrote them), and the
 * step's verify command.
 */
async function resolverPrompt(
	ctx: RunContext,
	workspace: Workspace,
	resolver: PlannedTask,
	files: string[],
	sides: { from: string; into: string },
): Promise<string> {
	const state = ctx.state();
	const id = resolver.id;
	const answer = async (taskId: string) => {
		const rel = state.tasks.get(taskId)?.committed?.resultPath ?? "";
		return {
			task: { ...resolver, id: taskId, role: state.tasks.get(taskId)?.role ?? "" },
			text: await readConfined(ctx.paths.dir, rel),
			path: join(ctx.paths.dir, rel),
		};
	};
	const theirs: string[] = [];
	for (const t of state.tasks.values()) {
		if (t.id === id || !t.merged || !t.committed?.base) continue;
		const touched = await workspace.changed(t.committed.base, t.committed.commit);
		if (touched.some((f) => files.includes(f)))
			theirs.push(`### ${t.id} (${t.role})\n\n${fencedResult(await answer(t.id))}\n`);
	}
	const verifyCommand = resolver.verify?.command;
	return [
		goalSection(ctx.goal),
		"## Your task\n",
		`Task "${id}" worked on its own branch while other tasks' work was merged into the run's integration branch. Merging that branch into the task's work conflicts, and these files of your working directory hold git's conflict markers (\`<<<<<<< ${sides.from}\`: the task's side; \`>>>>>>> ${sides.into}\`: the run's side):\n`,
		`${files.map((f) => `- \`${named(f)}\``).join("\n")}\n`,
		"Settle each file so that it does what both sides meant, and leave no conflict marker. Say what you kept from each side.\n",
		verifyCommand
			? `The step's verify command must pass on the result (the host runs it again before merging): \`${verifyCommand}\`\n`
			: "",
		`## The task's side: what task "${id}" answered\n\n${fencedResult(await answer(id))}\n`,
		theirs.length > 0
			? `## The run's side: what the merged tasks that changed these files answered\n\n${theirs.join("\n")}`
			: "",
	]
		.filter(Boolean)
		.join("\n");
}
