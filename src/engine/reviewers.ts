/**
 * Which reviewer agent judges each task (engine/review.ts): its step's `verify: {agent}`, else its team's `verify`,
 * else the config's, for a task that writes; each reviewer found and enabled, and every agent that gives a verdict able
 * to (it has the `verdict` tool), before anything runs.
 */
import type { Catalog } from "../resources/catalog.js";
import type { AgentDef, Scope, WorkflowDef } from "../resources/schema.js";
import type { Problem } from "../util/yaml-source.js";
import { type Plan, PlanError, type PlannedTask, taskTools, taskWrites } from "./plan.js";

/** A reviewer for every writing task that names no verify of its own, and where it is named (for problems). */
export interface DefaultReviewer {
	agent: string;
	model?: string;
	scope: Scope;
	at: Omit<Problem, "message">;
}

export interface ReviewOptions {
	/** The config's reviewer (a team's is over it). */
	reviewer?: DefaultReviewer;
	/** The config's denied tools: whether a task writes (taskWrites) and can give a verdict depend on them. */
	denyTools?: string[];
	/** Where `denyTools` is set (for problems). */
	denyAt: Omit<Problem, "message">;
}

/**
 * `plan` with the default reviewer (its team's, else `opts.reviewer`) given to each writing task without a verify of
 * its own, and the reviewer agents its tasks name; a PlanError says where an unknown or disabled one is named.
 */
export function assignReviewers(plan: Plan, catalog: Catalog, opts: ReviewOptions): Plan {
	const team = catalog.teams.get(plan.team);
	const workflow = catalog.workflows.get(plan.workflow);
	const fallback: DefaultReviewer | undefined = team?.verify
		? {
				...team.verify,
				scope: team.source.scope,
				at: { file: team.source.file, line: team.source.lineOf(["verify", "agent"]), field: "verify.agent" },
			}
		: opts.reviewer;
	const stepAt = (task: PlannedTask): Omit<Problem, "message"> => {
		const i = workflow?.steps.findIndex((s) => s.id === task.id) ?? -1;
		if (!workflow || i < 0) return { file: task.agent.source.file };
		const line = workflow.source.lineOf(["steps", i, "verify", "agent"]);
		return { file: workflow.source.file, line, field: `steps.${i}.verify.agent` };
	};
	const reviewers = new Map<string, AgentDef>();
	const problems: Problem[] = [];
	const check = (name: string, at: Omit<Problem, "message">) => {
		if (reviewers.has(name)) return;
		const agent = catalog.agents.get(name);
		if (!agent) {
			const known = [...catalog.agents.keys()].sort().join(", ");
			problems.push({ ...at, message: `unknown reviewer agent "${name}"`, hint: `known agents: ${known}` });
		} else if (agent.disabled)
			problems.push({
				...at,
				message: `reviewer agent "${name}" is disabled (disabled: true in ${agent.source.file})`,
			});
		else reviewers.set(name, agent);
	};
	const { agent, model, scope } = fallback ?? {};
	const tasks = plan.tasks.map((task): PlannedTask => {
		if (task.verify || !agent || !scope || !taskWrites({ denyTools: opts.denyTools }, task.agent)) return task;
		return { ...task, verify: { agent, ...(model ? { model } : {}), scope } };
	});
	// The default reviewer is checked even when no planned task writes: an adaptive plan may add one that does.
	if (fallback) check(fallback.agent, fallback.at);
	for (const task of tasks) if (task.verify?.agent) check(task.verify.agent, stepAt(task));
	problems.push(...verdictProblems(tasks, workflow, fallback?.agent, opts));
	if (problems.length > 0) throw new PlanError("the work cannot be judged as planned:", problems);
	return {
		...plan,
		tasks,
		...(reviewers.size > 0 ? { reviewers } : {}),
		...(agent && scope ? { reviewer: { agent, ...(model ? { model } : {}), scope } } : {}),
	};
}

/**
 * Who cannot give the verdict the run waits for: the agent of a step that loops `until: verdict` without the `verdict`
 * tool (its tools minus the denied ones; one that names none gets pi's defaults, which hold no crew tool), and every
 * reviewer when the config denies `verdict` (a reviewer is given it otherwise). A denied `verdict` is reported where
 * the config denies it: it is not the workflow's fault.
 */
function verdictProblems(
	tasks: PlannedTask[],
	workflow: WorkflowDef | undefined,
	fallback: string | undefined,
	opts: ReviewOptions,
): Problem[] {
	const denied = opts.denyTools?.includes("verdict") === true;
	const { denyAt } = opts;
	const unDeny = "remove verdict from tools.deny, or use until: verify with a command";
	const problems: Problem[] = [];
	for (const task of tasks) {
		if (task.loop?.until !== "verdict" || taskTools(opts, task.agent)?.includes("verdict")) continue;
		const name = task.agent.name;
		const message = `"${task.id}" loops until its agent's verdict, and agent "${name}" has no verdict tool`;
		if (denied && task.agent.tools?.includes("verdict")) {
			problems.push({ ...denyAt, message: `${message}: tools.deny denies it`, hint: unDeny });
			continue;
		}
		const i = workflow?.steps.findIndex((s) => s.id === task.id) ?? -1;
		const at =
			workflow && i >= 0
				? { file: workflow.source.file, line: workflow.source.lineOf(["steps", i, "loop", "until"]) }
				: { file: task.agent.source.file };
		const hint = `add verdict to agent ${name}'s tools (${task.agent.source.file}), or use until: verify with a command`;
		problems.push({ ...at, field: `steps.${i}.loop.until`, message, hint });
	}
	const reviewers = [...new Set([...(fallback ? [fallback] : []), ...tasks.flatMap((t) => t.verify?.agent ?? [])])];
	if (denied && reviewers.length > 0)
		problems.push({
			...denyAt,
			message: `tools.deny denies verdict, which reviewer ${reviewers.map((r) => `"${r}"`).join(", ")} needs to judge`,
			hint: "remove verdict from tools.deny, or the reviewer (verify.agent)",
		});
	return problems;
}
