/**
 * Planning: a team + workflow become tasks with stable ids (the step ids), dependencies resolved by step id, and
 * every problem found before anything runs.
 */

import { basename } from "node:path";
import { PI_DEFAULT_TOOLS } from "../config/home.js";
import type { Catalog } from "../resources/catalog.js";
import type { AgentDef, Scope, WorkflowDef } from "../resources/schema.js";
import {
	checkDisabledAgents,
	checkExtensionTrust,
	checkVerifyTrust,
	checkWorkflowGraph,
	checkWorkflowRoles,
} from "../resources/validate.js";
import { isScripted } from "../scripted/scenario.js";
import type { AgentDefinition, EventPayloads, RunState, TaskState } from "../store/events.js";
import type { RunSettings } from "../store/settings.js";
import { UsageError } from "../util/errors.js";
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
	/** The step's own isolation, over the run's (a writing step of an isolated run works in a worktree). */
	isolation?: "worktree" | "shared";
	/** The step's model, else its role's: over the agent's. */
	model?: string;
	/** The step's own pi skills, besides its agent's. */
	skills?: string[];
	/**
	 * The step's verify command, and the scope of the workflow that named it; `refused`: why it must not run (a resumed
	 * run's command that today's workflow does not name): the task fails its verification with that reason.
	 */
	verify?: { command?: string; agent?: string; model?: string; scope: Scope; refused?: string };
	/** Its verdict not clean: `to` and the tasks between run again, at most `max` rounds (engine/loop.ts). */
	loop?: { to: string; until: "verify" | "verdict"; max: number };
	/** Earlier tasks whose results it is given besides those of its dependencies. */
	reads?: string[];
	/** Its answer waits for a person's approval (engine/approval.ts). */
	approval?: boolean;
	/**
	 * Where its task text comes from: the scope of the workflow that named its step (an adaptive task: its planner's).
	 * A repository's (`project`) reaches the worker fenced while the repository is not trusted. Absent: pi-crew's own
	 * text (a single agent's task is the goal).
	 */
	scope?: Scope;
}

export interface Plan {
	team: string;
	workflow: string;
	/** Team-level opt-in to retries (`autoRetry: true` in the team file). */
	autoRetry: boolean;
	/** The team's isolation (`isolation: worktree` in the team file), unless the run says otherwise. */
	isolation?: "worktree" | "shared";
	/** The team's roles and their agents: what an adaptive plan may use. */
	roles: Map<string, AgentDef>;
	/** The models the team gives its roles (`model` of a role), for the tasks an adaptive plan adds. */
	roleModels?: Map<string, string>;
	/** The team's cap on concurrent tasks (`maxConcurrency`): the run's concurrency never goes above it. */
	maxConcurrency?: number;
	/** Grows when an adaptive step's plan adds tasks. */
	tasks: PlannedTask[];
	/** The agent that settles a conflicted merge of an isolated run (its settings' `merge.resolver`), as defined today. */
	resolver?: AgentDef;
	/** The reviewer agents its tasks' `verify` names (engine/review.ts), by name (engine/reviewers.ts). */
	reviewers?: Map<string, AgentDef>;
	/** The team's or the config's reviewer of every writing task that names none (an adaptive plan's included). */
	reviewer?: RunSettings["reviewer"];
	/** A resumed run's agents whose files changed since it started (it keeps the definitions it recorded). */
	changedAgents?: string[];
	/** A resumed run's resources and trust as they are now: what its trust decisions are made from (see retrusted). */
	today?: Today;
}

/** The resources and trust a resume decides with, never what the log recorded. */
interface Today {
	workflow?: WorkflowDef;
	agents: ReadonlyMap<string, AgentDef>;
	projectTrusted: boolean;
}

export type ModelSettings = Pick<RunSettings, "model" | "defaultModel" | "models" | "scenario" | "merge">;

/**
 * The models a task runs on, in order: its model first (the run's `--model`, else the step's, else its role's, else
 * its agent's, else the run's default; `undefined` is pi's own default), then its agent's `fallbackModels`, each taken
 * when the one before is rate-limited or its provider is down. `--model` is every worker's model: no fallbacks.
 * The agent's model, thinking and fallbacks are the config's `agents.<name>` where it sets them, over the agent's file
 * (api/models.ts withAgentOverrides): a step or role that names a model chose it for that step, so it stays over them.
 * A run on a scenario stays on the offline model: models that are not the scripted model's are passed over.
 * Each is as the run resolved it (`settings.models`: an alias or a bare id as `provider/id`), once it has.
 */
export function taskModels(
	settings: ModelSettings,
	task: Pick<PlannedTask, "agent" | "model">,
): (string | undefined)[] {
	const resolved = (m: string | undefined) => (m === undefined ? m : (settings.models?.[m] ?? m));
	if (settings.model) return [resolved(settings.model)];
	const usable = (m: string | undefined): m is string => m !== undefined && (!settings.scenario || isScripted(m));
	const primary = resolved([task.model, task.agent.model].find(usable) ?? settings.defaultModel);
	const fallbacks = (task.agent.fallbackModels ?? []).map(resolved).filter((m) => usable(m) && m !== primary);
	return [primary, ...new Set(fallbacks)];
}

/**
 * The pi skills a task's workers load: its agent's and its step's. `undefined` (neither names any): pi's own discovery
 * (the user's skills, and the repository's when it is trusted); a list, even empty: exactly these.
 */
export function taskSkills(task: Pick<PlannedTask, "agent" | "skills">): string[] | undefined {
	if (!task.agent.skills && !task.skills) return undefined;
	return [...new Set([...(task.agent.skills ?? []), ...(task.skills ?? [])])];
}

/**
 * The tools a task of `agent` gets: the agent's (pi's defaults when it names none) minus the run's denied tools
 * (`tools.deny` of the user's and the repository's config). `undefined`: pi's defaults, nothing denied.
 */
export function taskTools(settings: Pick<RunSettings, "denyTools">, agent: AgentDef): string[] | undefined {
	const deny = settings.denyTools ?? [];
	if (deny.length === 0) return agent.tools;
	return (agent.tools ?? PI_DEFAULT_TOOLS).filter((t) => !deny.includes(t));
}

/** Tools that change files: a task with any of them works in a worktree of its own when the run is isolated. */
const WRITING_TOOLS = new Set(["write", "edit", "bash"]);

/** Whether the task may change files (no tools named means pi's defaults, which write). */
export function taskWrites(settings: Pick<RunSettings, "denyTools">, agent: AgentDef): boolean {
	const tools = taskTools(settings, agent);
	return tools === undefined || tools.some((t) => WRITING_TOOLS.has(t));
}

/** Whether any task of the plan may change files, or an adaptive one may add one that does. */
export function planWrites(plan: Plan, settings: Pick<RunSettings, "denyTools">): boolean {
	return plan.tasks.some((t) => t.adaptive || taskWrites(settings, t.agent));
}

/**
 * Every model the run may use, with the tasks (or, for the roles an adaptive plan may add, `role:<name>`) that would
 * run on it; `undefined` is pi's own default.
 */
export function modelsOf(plan: Plan, settings: ModelSettings) {
	const needs = new Map<string | undefined, string[]>();
	for (const [who, models] of modelsByTask(plan, settings))
		for (const model of models) needs.set(model, [...(needs.get(model) ?? []), who]);
	return needs;
}

/** Each task's models (taskModels), and those of each role an adaptive plan may add (`role:<name>`). */
export function modelsByTask(plan: Plan, settings: ModelSettings): [string, (string | undefined)[]][] {
	const rows = plan.tasks.map((task): [string, (string | undefined)[]] => [task.id, taskModels(settings, task)]);
	if (plan.tasks.some((t) => t.adaptive))
		for (const [role, agent] of plan.roles)
			rows.push([`role:${role}`, taskModels(settings, { agent, model: plan.roleModels?.get(role) })]);
	// The side workers a task may call on: its reviewer, the merge resolver.
	for (const task of plan.tasks) {
		const reviewer = task.verify?.agent ? plan.reviewers?.get(task.verify.agent) : undefined;
		if (reviewer)
			rows.push([`${task.id}.review`, taskModels(settings, { agent: reviewer, model: task.verify?.model })]);
	}
	if (plan.resolver)
		rows.push(["merge resolver", taskModels(settings, { agent: plan.resolver, model: settings.merge?.model })]);
	return rows;
}

/** Every skill the run's tasks name, with the tasks (or `role:<name>`) that load it. */
export function skillsOf(plan: Plan): Map<string, string[]> {
	const needs = new Map<string, string[]>();
	const add = (skills: string[] | undefined, who: string) => {
		for (const skill of skills ?? []) needs.set(skill, [...(needs.get(skill) ?? []), who]);
	};
	for (const task of plan.tasks) add(taskSkills(task), task.id);
	if (plan.tasks.some((t) => t.adaptive)) for (const [role, agent] of plan.roles) add(agent.skills, `role:${role}`);
	return needs;
}

/** Bad usage or invalid resources: the CLI exits 2 with this message. */
export class PlanError extends UsageError {
	/** Each problem once: the catalog's checks and the plan's own may find the same one (an unknown role). */
	readonly problems: Problem[];

	constructor(message: string, problems: Problem[] = []) {
		const unique = [...new Map(problems.map((p) => [formatProblem(p), p])).values()];
		super(unique.length > 0 ? `${message}\n${unique.map((p) => `  ${formatProblem(p)}`).join("\n")}` : message);
		this.problems = unique;
	}
}

/**
 * The tasks of `teamName`'s workflow (`workflowName`, else the team's default). `approvePlans` (the user's config):
 * the builtin implementation workflow's planner shows its plan for approval.
 */
export function planRun(
	catalog: Catalog,
	teamName: string,
	workflowName?: string,
	{ approvePlans = false }: { approvePlans?: boolean } = {},
): Plan {
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
	// Errors of the files this run would use. An invalid file elsewhere (a project file with a builtin's name that did
	// not parse) was skipped by the catalog: it is validate's to report, and never blocks what it failed to shadow.
	const used = new Set([
		team.source.file,
		workflow.source.file,
		...team.roles.flatMap((r) => catalog.agents.get(r.agent)?.source.file ?? []),
	]);
	const problems = [
		...catalog.problems.filter((p) => p.severity !== "warning" && used.has(p.file)),
		...checkWorkflowGraph(workflow),
		...checkWorkflowRoles(workflow, team),
		...checkDisabledAgents(team, catalog.agents, "error"),
		...checkVerifyTrust(workflow, "error"),
		...[...new Set(team.roles.flatMap((r) => catalog.agents.get(r.agent) ?? []))].flatMap((agent) =>
			checkExtensionTrust(agent, "error"),
		),
	];
	if (problems.length > 0)
		throw new PlanError(`team "${team.name}" with workflow "${workflow.name}" is invalid:`, problems);
	const roleAgent = new Map(team.roles.map((r) => [r.name, r.agent]));
	const roleModels = new Map(team.roles.flatMap((r) => (r.model ? [[r.name, r.model] as const] : [])));
	const tasks = workflow.steps.map((step): PlannedTask => {
		const agentName = roleAgent.get(step.role) ?? "";
		const agent = catalog.agents.get(agentName);
		if (!agent) throw new PlanError(`role "${step.role}" uses unknown agent "${agentName}"`);
		const model = step.model ?? roleModels.get(step.role);
		return {
			id: step.id,
			role: step.role,
			agent,
			dependsOn: step.dependsOn ?? [],
			template: step.task,
			output: step.output ?? step.id,
			...(step.adaptive ? { adaptive: true } : {}),
			...(step.isolation ? { isolation: step.isolation } : {}),
			...(model ? { model } : {}),
			...(step.skills ? { skills: step.skills } : {}),
			...(step.verify ? { verify: { ...stepVerify(step.verify), scope: workflow.source.scope } } : {}),
			...(step.loop ? { loop: { until: step.verify ? "verify" : "verdict", ...step.loop } } : {}),
			...(step.reads?.length ? { reads: step.reads } : {}),
			...(step.approval || (approvePlans && step.adaptive && workflow.source.scope === "builtin")
				? { approval: true }
				: {}),
			scope: workflow.source.scope,
		};
	});
	// The team's isolation, else a worktree if a step asks for one (the run's `--isolation` is over both).
	const isolation = team.isolation ?? (tasks.some((t) => t.isolation === "worktree") ? "worktree" : undefined);
	return {
		team: team.name,
		workflow: workflow.name,
		autoRetry: team.autoRetry === true,
		...(isolation ? { isolation } : {}),
		roles: teamRoles(catalog, team.roles),
		...(roleModels.size > 0 ? { roleModels } : {}),
		...(team.maxConcurrency ? { maxConcurrency: team.maxConcurrency } : {}),
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

/** A single agent's task text: the run's goal, the user's own words. */
const GOAL_ONLY = "{goal}";

/** One agent on the run's goal: a single task named after the agent. */
export function planAgent(catalog: Catalog, agentName: string): Plan {
	const agent = catalog.agents.get(agentName);
	if (!agent)
		throw new PlanError(`unknown agent "${agentName}" (known agents: ${[...catalog.agents.keys()].sort().join(", ")})`);
	if (agent.disabled)
		throw new PlanError(
			`agent "${agentName}" is disabled (disabled: true in ${agent.source.file}): enable it to run it`,
		);
	const problems = checkExtensionTrust(agent, "error");
	if (problems.length > 0) throw new PlanError(`agent "${agentName}" cannot run:`, problems);
	return {
		team: `agent:${agent.name}`,
		workflow: "single",
		autoRetry: false,
		roles: new Map([[agent.name, agent]]),
		tasks: [{ id: agent.name, role: agent.name, agent, dependsOn: [], template: GOAL_ONLY, output: "result" }],
	};
}

/** A run that cannot be resumed (the CLI exits 2 with the reason). */
export class ResumeRefused extends UsageError {
	constructor(message: string) {
		super(message);
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
	// A merge conflict is resolved by hand on the task's branch; resuming tries its merge again.
	const conflicted = [...state.tasks.values()].filter((t) => t.status === "failed" && t.conflict).map((t) => t.id);
	if (state.status === "failed" && requeue.length === 0 && conflicted.length === 0)
		throw new ResumeRefused(`run ${id} failed; to run its failed tasks again: pi-crew deadletter requeue ${id}`);
	if (requeue.length === 0) requeue = conflicted;
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
	// Skipped dependents, transitively: one pass over the edges (a worklist, not a fixpoint over all tasks).
	const dependents = new Map<string, TaskState[]>();
	for (const t of state.tasks.values())
		for (const d of t.dependsOn) {
			const list = dependents.get(d);
			if (list) list.push(t);
			else dependents.set(d, [t]);
		}
	const work = [...reopen];
	for (let id = work.pop(); id !== undefined; id = work.pop())
		for (const t of dependents.get(id) ?? [])
			if (t.status === "skipped" && !reopen.has(t.id)) {
				reopen.add(t.id);
				work.push(t.id);
			}
	return [...reopen];
}

/** What the log records of an agent: everything a worker gets from it (see AgentDefinition). */
export function recordDefinition(agent: AgentDef): AgentDefinition {
	const { description, prompt, tools, model, thinking, maxTurns, fallbackModels, skills, extensions, source } = agent;
	return {
		scope: source.scope,
		...(source.untrusted ? { untrusted: true } : {}),
		description,
		prompt,
		...(tools ? { tools } : {}),
		...(model ? { model } : {}),
		...(thinking ? { thinking } : {}),
		...(maxTurns ? { maxTurns } : {}),
		...(fallbackModels?.length ? { fallbackModels } : {}),
		...(skills ? { skills } : {}),
		...(extensions?.length ? { extensions } : {}),
	};
}

/** What `task.planned` records of a task: everything a resume needs to run what was planned. */
export function plannedPayload(task: PlannedTask): EventPayloads["task.planned"] {
	return {
		role: task.role,
		agent: task.agent.name,
		dependsOn: task.dependsOn,
		template: task.template,
		output: task.output,
		...stepExtras(task),
		definition: recordDefinition(task.agent),
	};
}

/** An agent as a run's log recorded it. */
function recordedAgent(runId: string, name: string, definition: AgentDefinition): AgentDef {
	const { scope, untrusted, thinking, ...rest } = definition;
	const source = { file: `run ${runId} (as recorded)`, scope, untrusted, lineOf: () => undefined };
	return { name, ...rest, ...(thinking ? { thinking: thinking as AgentDef["thinking"] } : {}), source };
}

/**
 * A task as the log plans it: the folded state is the only list of a run's tasks (an adaptive plan adds to it by
 * events, never beside it). Its agent is the one the log recorded, or, in a log from before definitions were
 * recorded, the plan's agent of that name.
 */
export function plannedTask(state: RunState, plan: Plan, id: string): PlannedTask {
	const t = state.tasks.get(id);
	if (!t) throw new Error(`run ${state.runId} has no task ${id}`);
	const agent = t.definition
		? recordedAgent(state.runId, t.agent, t.definition)
		: (plan.tasks.find((p) => p.agent.name === t.agent)?.agent ?? plan.roles.get(t.role));
	if (!agent) throw new Error(`run ${state.runId}: no definition of agent ${t.agent} for task ${id}`);
	const task = fromLog(t, agent);
	return plan.today ? retrusted(task, plan.today, plan.workflow) : task;
}

/**
 * A resumed run's task with its trust decided again from today's resources and trust (a recorded scope is never a
 * permission): its verify command runs only if today's workflow names that same command for that step (and then with
 * that workflow's scope, so a repository's runs only while it is trusted now); its agent counts as builtin or user only
 * if today's agent of that name is one, else as the repository's, fenced unless the repository is trusted now; its
 * task text likewise counts as the workflow's scope only if today's workflow of that scope words the step the same
 * (a task an adaptive step added: if today's workflow has that scope), else as the repository's.
 */
function retrusted(task: PlannedTask, today: Today, workflowName: string): PlannedTask {
	let { verify, agent } = task;
	const todays = today.workflow;
	const sameText = task.from !== undefined || todays?.steps.find((s) => s.id === task.id)?.task === task.template;
	// The single-agent shape (no workflow of that name today, no recorded scope, the goal as its whole text) is the
	// user's own text: its scope stays absent.
	const goalOnly = task.scope === undefined && task.template === GOAL_ONLY && (workflowName === "single" || !todays);
	const textScope = goalOnly || (todays && todays.source.scope === task.scope && sameText) ? task.scope : "project";
	if (verify?.command) {
		const step = today.workflow?.steps.find((s) => s.id === task.id);
		verify =
			today.workflow && step?.verify && stepVerify(step.verify).command === verify.command
				? { ...verify, scope: today.workflow.source.scope }
				: {
						...verify,
						refused: `verify \`${verify.command}\` not run: the run's workflow "${workflowName}" as it is now does not name this command for step "${task.id}" (a resumed run runs only the verify commands its workflow names today)`,
					};
	}
	const recorded = agent.source.scope;
	const scope =
		recorded !== "project" && today.agents.get(agent.name)?.source.scope === recorded ? recorded : "project";
	const untrusted = scope === "project" && !today.projectTrusted;
	agent = { ...agent, source: { ...agent.source, scope, untrusted } };
	return { ...task, agent, scope: textScope, ...(verify ? { verify } : {}) };
}

/** A step's `verify` as its parts: a command (the string form), a reviewer agent, or both. */
function stepVerify(verify: NonNullable<WorkflowDef["steps"][number]["verify"]>): {
	command?: string;
	agent?: string;
	model?: string;
} {
	return typeof verify === "string" ? { command: verify } : verify;
}

/** The planned task a logged task is, run by `agent`. */
function fromLog(t: TaskState, agent: AgentDef): PlannedTask {
	return {
		id: t.id,
		role: t.role,
		agent,
		dependsOn: t.dependsOn,
		template: t.template,
		output: t.output,
		...stepExtras(t),
	};
}

/** A step's optional fields the log records and a resume restores: one list, so the two directions cannot drift. */
const STEP_EXTRAS = [
	"adaptive",
	"from",
	"isolation",
	"model",
	"skills",
	"verify",
	"loop",
	"reads",
	"scope",
	"approval",
] as const;
type StepExtras = Pick<PlannedTask, (typeof STEP_EXTRAS)[number]>;

/** The step extras `t` has set (an unset or false one is left out, as a log written before it existed has it). */
function stepExtras(t: StepExtras): StepExtras {
	return Object.fromEntries(STEP_EXTRAS.filter((k) => t[k]).map((k) => [k, t[k]])) as StepExtras;
}

/**
 * The plan of an existing run, for resuming it: tasks, templates, dependencies and the agents' definitions exactly
 * as logged (a resumed run means what it meant when it started). A log from before definitions were recorded takes
 * them from the current resources. `changedAgents`: agents whose files differ now from what the run recorded. Trust
 * is decided again from today's resources and trust (`today`, see retrusted).
 */
export function planFromState(state: RunState, catalog: Catalog, projectTrusted: boolean): Plan {
	const recorded = new Map<string, AgentDef>();
	const changed = new Set<string>();
	const missing = new Set<string>();
	const agentOf = (t: { agent: string; definition?: AgentDefinition }): AgentDef => {
		const current = catalog.agents.get(t.agent);
		if (!t.definition) {
			if (!current) missing.add(t.agent);
			return current as AgentDef;
		}
		if (!current || JSON.stringify(recordDefinition(current)) !== JSON.stringify(t.definition)) changed.add(t.agent);
		let def = recorded.get(t.agent);
		if (!def) {
			def = recordedAgent(state.runId, t.agent, t.definition);
			recorded.set(t.agent, def);
		}
		return def;
	};
	const tasks = [...state.tasks.values()].map((t) => fromLog(t, agentOf(t)));
	// The reviewers its log names, as they are now (the log records a reviewer by its name and model).
	const reviewers = new Map<string, AgentDef>();
	const { reviewer } = state.settings;
	for (const name of new Set([...tasks.flatMap((t) => t.verify?.agent ?? []), ...(reviewer ? [reviewer.agent] : [])])) {
		const agent = catalog.agents.get(name);
		if (agent) reviewers.set(name, agent);
		else missing.add(name);
	}
	if (missing.size > 0)
		throw new PlanError(`cannot resume run ${state.runId}: agent(s) ${[...missing].join(", ")} no longer exist`);
	const team = catalog.teams.get(state.team);
	const roles = team ? teamRoles(catalog, team.roles) : new Map(tasks.map((t) => [t.role, t.agent]));
	const roleModels = new Map(team?.roles.flatMap((r) => (r.model ? [[r.name, r.model] as const] : [])) ?? []);
	return withResolver(catalog, state.settings, {
		team: state.team,
		workflow: state.workflow,
		autoRetry: state.settings.retry !== undefined,
		roles,
		...(roleModels.size > 0 ? { roleModels } : {}),
		tasks,
		...(reviewers.size > 0 ? { reviewers } : {}),
		changedAgents: [...changed].sort(),
		today: { workflow: catalog.workflows.get(state.workflow), agents: catalog.agents, projectTrusted },
	});
}

/**
 * `plan` with its run's resolver agent (its settings' `merge.resolver`) as today's resources define it: the one place a
 * plan gets it, new or resumed, so the model policy and the coordinator both see it (absent: the run has none, or it
 * is gone).
 */
export function withResolver(catalog: Catalog, settings: Pick<RunSettings, "merge">, plan: Plan): Plan {
	const resolver = settings.merge ? catalog.agents.get(settings.merge.resolver) : undefined;
	return { ...plan, ...(resolver ? { resolver } : {}) };
}
