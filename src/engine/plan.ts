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
}

export interface Plan {
	team: string;
	workflow: string;
	/** Team-level opt-in to retries (`autoRetry: true` in the team file). */
	autoRetry: boolean;
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
		};
	});
	return { team: team.name, workflow: workflow.name, autoRetry: team.autoRetry === true, tasks };
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
		}),
	);
	return { team: state.team, workflow: state.workflow, autoRetry: state.settings.retry !== undefined, tasks };
}
