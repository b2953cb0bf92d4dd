/**
 * Planning: a team + workflow become tasks with stable ids (the step ids), dependencies resolved by step id, and
 * every problem found before anything runs.
 */

import { basename } from "node:path";
import type { Catalog } from "../resources/catalog.js";
import type { AgentDef } from "../resources/schema.js";
import { checkWorkflowGraph, checkWorkflowRoles } from "../resources/validate.js";
import type { RunState } from "../store/events.js";
import { formatProblem, type Problem } from "../util/yaml-source.js";

export interface PlannedTask {
	id: string;
	role: string;
	agent: AgentDef;
	dependsOn: string[];
	/** The step's task template (`{goal}`, `{<output of a dependency>}`). */
	template: string;
	output: string;
	/** Its answer is a plan that adds tasks to the run (see adaptive.ts). */
	adaptive?: boolean;
	/** Added by the plan of this adaptive task. */
	from?: string;
}

export interface Plan {
	team: string;
	workflow: string;
	/** Team-level opt-in to retries (`autoRetry: true` in the team file). */
	autoRetry: boolean;
	/** The team's roles and their agents: what an adaptive plan may use. */
	roles: Map<string, AgentDef>;
	/** Grows when an adaptive step's plan adds tasks. */
	tasks: PlannedTask[];
}

/** Bad usage or invalid resources: the CLI exits 2 with this message. */
export class PlanError extends Error {
	constructor(
		message: string,
		readonly problems: Problem[] = [],
	) {
		super(problems.length > 0 ? `${message}\n${problems.map((p) => `  ${formatProblem(p)}`).join("\n")}` : message);
		this.name = "PlanError";
	}
}

export function planRun(catalog: Catalog, teamName: string, workflowName?: string): Plan {
	const team = catalog.teams.get(teamName);
	if (!team) {
		const related = catalog.problems.filter((p) => basename(p.file) === `${teamName}.team.md`);
		throw new PlanError(
			`unknown team "${teamName}" (known teams: ${[...catalog.teams.keys()].sort().join(", ")})`,
			related,
		);
	}
	const wfName = workflowName ?? team.defaultWorkflow;
	const workflow = catalog.workflows.get(wfName);
	if (!workflow) {
		const related = catalog.problems.filter((p) => basename(p.file) === `${wfName}.workflow.md`);
		throw new PlanError(
			`unknown workflow "${wfName}" (known workflows: ${[...catalog.workflows.keys()].sort().join(", ")})`,
			related,
		);
	}
	const agentFiles = new Set(team.roles.map((r) => `${r.agent}.md`));
	const problems = [
		...catalog.problems.filter(
			(p) => p.severity !== "warning" && (p.file === team.source.file || agentFiles.has(basename(p.file))),
		),
		...checkWorkflowGraph(workflow),
		...checkWorkflowRoles(workflow, team),
	];
	if (problems.length > 0)
		throw new PlanError(`team "${team.name}" with workflow "${workflow.name}" is invalid:`, problems);
	const roleAgent = new Map(team.roles.map((r) => [r.name, r.agent]));
	const tasks = workflow.steps.map((step): PlannedTask => {
		const agentName = roleAgent.get(step.role) ?? "";
		const agent = catalog.agents.get(agentName);
		if (!agent) throw new PlanError(`role "${step.role}" uses unknown agent "${agentName}"`);
		return {
			id: step.id,
			role: step.role,
			agent,
			dependsOn: step.dependsOn ?? [],
			template: step.task,
			output: step.output ?? step.id,
			...(step.adaptive ? { adaptive: true } : {}),
		};
	});
	return {
		team: team.name,
		workflow: workflow.name,
		autoRetry: team.autoRetry === true,
		roles: teamRoles(catalog, team.roles),
		tasks,
	};
}

function teamRoles(catalog: Catalog, roles: { name: string; agent: string }[]): Map<string, AgentDef> {
	const map = new Map<string, AgentDef>();
	for (const r of roles) {
		const agent = catalog.agents.get(r.agent);
		if (agent) map.set(r.name, agent);
	}
	return map;
}

/** One agent on the run's goal: a single task named after the agent. */
export function planAgent(catalog: Catalog, agentName: string): Plan {
	const agent = catalog.agents.get(agentName);
	if (!agent)
		throw new PlanError(`unknown agent "${agentName}" (known agents: ${[...catalog.agents.keys()].sort().join(", ")})`);
	return {
		team: `agent:${agent.name}`,
		workflow: "single",
		autoRetry: false,
		roles: new Map([[agent.name, agent]]),
		tasks: [{ id: agent.name, role: agent.name, agent, dependsOn: [], template: "{goal}", output: "result" }],
	};
}

/** A run that cannot be resumed (the CLI exits 2 with the reason). */
export class ResumeRefused extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ResumeRefused";
	}
}

/**
 * Which tasks a resume runs again, or why the run cannot be resumed. Decided by the coordinator on the state it
 * reads under the run's lease (so two resumers cannot act on a stale view): tasks that were running or cancelled,
 * requeued failed tasks, and, transitively, the tasks skipped because of those.
 */
export function reopenForResume(state: RunState, requeue: string[]): string[] {
	const id = state.runId;
	if (state.status === "succeeded") throw new ResumeRefused(`run ${id} succeeded: nothing to resume`);
	if (state.status === "pending")
		throw new ResumeRefused(`run ${id} never started (its coordinator died while planning): start a new run`);
	if (state.status === "failed" && requeue.length === 0)
		throw new ResumeRefused(`run ${id} failed; to run its failed tasks again: pi-crew deadletter requeue ${id}`);
	for (const taskId of requeue) {
		const t = state.tasks.get(taskId);
		if (t?.status !== "failed")
			throw new ResumeRefused(
				`cannot requeue "${taskId}": it is ${t ? t.status : "not a task of this run"}; only failed tasks can be requeued`,
			);
	}
	const reopen = new Set(
		[...state.tasks.values()].filter((t) => t.status === "running" || t.status === "cancelled").map((t) => t.id),
	);
	for (const taskId of requeue) reopen.add(taskId);
	for (let grew = true; grew; ) {
		grew = false;
		for (const t of state.tasks.values())
			if (t.status === "skipped" && !reopen.has(t.id) && t.dependsOn.some((d) => reopen.has(d))) {
				reopen.add(t.id);
				grew = true;
			}
	}
	return [...reopen];
}

/**
 * The plan of an existing run, for resuming it: tasks, templates and dependencies exactly as logged; only the agents'
 * definitions (prompt, tools, model) come from the current resources.
 */
export function planFromState(state: RunState, catalog: Catalog): Plan {
	const missing = [...new Set([...state.tasks.values()].map((t) => t.agent))].filter((a) => !catalog.agents.has(a));
	if (missing.length > 0)
		throw new PlanError(`cannot resume run ${state.runId}: agent(s) ${missing.join(", ")} no longer exist`);
	const tasks = [...state.tasks.values()].map(
		(t): PlannedTask => ({
			id: t.id,
			role: t.role,
			agent: catalog.agents.get(t.agent) as AgentDef,
			dependsOn: t.dependsOn,
			template: t.template,
			output: t.output,
			...(t.adaptive ? { adaptive: true } : {}),
			...(t.from ? { from: t.from } : {}),
		}),
	);
	const team = catalog.teams.get(state.team);
	const roles = team ? teamRoles(catalog, team.roles) : new Map(tasks.map((t) => [t.role, t.agent]));
	return { team: state.team, workflow: state.workflow, autoRetry: state.settings.retry !== undefined, roles, tasks };
}
