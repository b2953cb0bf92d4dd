/** Cross-reference checks that need more than one file: team -> agents/workflow, workflow -> roles, the DAG itself. */
import type { Problem } from "../util/yaml-source.js";
import { checkLoops } from "./loops.js";
import type { AgentDef, TeamDef, WorkflowDef } from "./schema.js";

export const PLACEHOLDER = /\{([A-Za-z0-9_-]+)\}/g;

interface Resources {
	agents: Map<string, AgentDef>;
	teams: Map<string, TeamDef>;
	workflows: Map<string, WorkflowDef>;
}

export function crossCheck(r: Resources): Problem[] {
	const problems: Problem[] = [];
	for (const wf of r.workflows.values())
		problems.push(...checkWorkflowGraph(wf), ...checkVerifyTrust(wf, "warning"), ...checkReviewers(wf, r.agents));
	for (const agent of r.agents.values()) problems.push(...checkExtensionTrust(agent, "warning"));
	for (const team of r.teams.values()) {
		problems.push(...checkTeam(team, r.agents), ...checkDisabledAgents(team, r.agents, "warning"));
		const wf = r.workflows.get(team.defaultWorkflow);
		if (!wf) {
			problems.push({
				file: team.source.file,
				line: team.source.lineOf(["defaultWorkflow"]),
				field: "defaultWorkflow",
				message: `unknown workflow "${team.defaultWorkflow}"`,
				hint: hintKnown("workflows", r.workflows),
			});
		} else problems.push(...checkWorkflowRoles(wf, team));
	}
	return problems;
}

function hintKnown(what: string, map: Map<string, unknown>): string {
	return `known ${what}: ${[...map.keys()].sort().join(", ") || "(none)"}`;
}

function checkTeam(team: TeamDef, agents: Map<string, AgentDef>): Problem[] {
	const problems: Problem[] = [];
	const seen = new Set<string>();
	team.roles.forEach((role, i) => {
		const at = (f: string) => team.source.lineOf(["roles", i, f]);
		if (seen.has(role.name))
			problems.push({
				file: team.source.file,
				line: at("name"),
				field: `roles.${i}.name`,
				message: `duplicate role "${role.name}"`,
			});
		seen.add(role.name);
		if (!agents.has(role.agent))
			problems.push({
				file: team.source.file,
				line: at("agent"),
				field: `roles.${i}.agent`,
				message: `unknown agent "${role.agent}"`,
				hint: hintKnown("agents", agents),
			});
	});
	if (team.verify && !agents.has(team.verify.agent))
		problems.push({
			file: team.source.file,
			line: team.source.lineOf(["verify", "agent"]),
			field: "verify.agent",
			message: `unknown reviewer agent "${team.verify.agent}"`,
			hint: hintKnown("agents", agents),
		});
	return problems;
}

/** Each reviewer agent a workflow's steps name (`verify: {agent}`) must exist. */
function checkReviewers(wf: WorkflowDef, agents: Map<string, AgentDef>): Problem[] {
	return wf.steps.flatMap((step, i) => {
		const name = typeof step.verify === "object" ? step.verify.agent : undefined;
		if (name === undefined || agents.has(name)) return [];
		return [
			{
				file: wf.source.file,
				line: wf.source.lineOf(["steps", i, "verify", "agent"]),
				field: `steps.${i}.verify.agent`,
				message: `unknown reviewer agent "${name}"`,
				hint: hintKnown("agents", agents),
			},
		];
	});
}

/**
 * A team whose role's agent is `disabled: true` cannot run. `validate` warns (a user disabling a builtin agent should
 * not make every builtin team that uses it an error); `run` refuses it as an error.
 */
export function checkDisabledAgents(
	team: TeamDef,
	agents: Map<string, AgentDef>,
	severity: "error" | "warning",
): Problem[] {
	return team.roles.flatMap((role, i) =>
		agents.get(role.agent)?.disabled
			? [
					{
						severity,
						file: team.source.file,
						line: team.source.lineOf(["roles", i, "agent"]),
						field: `roles.${i}.agent`,
						message: `agent "${role.agent}" is disabled (disabled: true in ${agents.get(role.agent)?.source.file}): team "${team.name}" cannot run`,
						hint: "enable the agent (remove disabled: true) or give the role another agent",
					},
				]
			: [],
	);
}

/**
 * A `verify` command runs on the host: a repository's workflow may name one only when the user trusts the repository
 * (resources of an untrusted repository never run code). `validate` warns; `run` refuses such a workflow.
 */
export function checkVerifyTrust(wf: WorkflowDef, severity: "error" | "warning"): Problem[] {
	if (!wf.source.untrusted) return [];
	// A reviewer agent only reads and judges: only a command runs anything.
	return wf.steps.flatMap((step, i) =>
		step.verify === undefined || (typeof step.verify !== "string" && step.verify.command === undefined)
			? []
			: [
					{
						severity,
						file: wf.source.file,
						line: wf.source.lineOf(
							typeof step.verify === "string" ? ["steps", i, "verify"] : ["steps", i, "verify", "command"],
						),
						field: `steps.${i}.verify`,
						message: `a verify command of a repository the user has not trusted never runs: workflow "${wf.name}" cannot run here`,
						hint: "if you trust this repository: /trust in pi, or: pi-crew trust",
					},
				],
	);
}

/**
 * An agent's `extensions` are code its workers run: a repository's agent may name them only when the user trusts the
 * repository, as a verify command. `validate` warns; `run` refuses a team with such an agent.
 */
export function checkExtensionTrust(agent: AgentDef, severity: "error" | "warning"): Problem[] {
	if (!agent.source.untrusted || !agent.extensions?.length) return [];
	return [
		{
			severity,
			file: agent.source.file,
			line: agent.source.lineOf(["extensions"]),
			field: "extensions",
			message: `extensions of a repository the user has not trusted never load: agent "${agent.name}" cannot run here`,
			hint: "if you trust this repository: /trust in pi, or: pi-crew trust",
		},
	];
}

/** Every step's role must be one of the team's roles. */
export function checkWorkflowRoles(wf: WorkflowDef, team: TeamDef): Problem[] {
	const roles = new Set(team.roles.map((r) => r.name));
	return wf.steps.flatMap((step, i) =>
		roles.has(step.role)
			? []
			: [
					{
						file: wf.source.file,
						line: wf.source.lineOf(["steps", i, "role"]),
						field: `steps.${i}.role`,
						message: `unknown role "${step.role}" for team "${team.name}"`,
						hint: `roles of ${team.name}: ${[...roles].join(", ")}`,
					},
				],
	);
}

/** Duplicate ids, unknown dependencies, cycles, template placeholders and loops: all before anything runs. */
export function checkWorkflowGraph(wf: WorkflowDef): Problem[] {
	const problems: Problem[] = [];
	const file = wf.source.file;
	const byId = new Map<string, number>();
	wf.steps.forEach((step, i) => {
		if (byId.has(step.id))
			problems.push({
				file,
				line: wf.source.lineOf(["steps", i, "id"]),
				field: `steps.${i}.id`,
				message: `duplicate step id "${step.id}"`,
				hint: "give every step a unique id",
			});
		else byId.set(step.id, i);
	});
	const outputs = new Map(wf.steps.map((s) => [s.id, s.output ?? s.id]));
	const graph = dependencyGraph(wf, byId);
	const reaches = readReachability(wf, byId, graph);
	wf.steps.forEach((step, i) => {
		const deps = step.dependsOn ?? [];
		deps.forEach((dep, j) => {
			if (!byId.has(dep))
				problems.push({
					file,
					line: wf.source.lineOf(["steps", i, "dependsOn", j]),
					field: `steps.${i}.dependsOn`,
					message: `"${step.id}" depends on unknown step "${dep}"`,
					hint: `step ids: ${[...byId.keys()].join(", ")}`,
				});
		});
		const reads = step.reads ?? [];
		reads.forEach((read, j) => {
			const known = byId.has(read);
			// A step in a cycle has no well-defined ancestors: the cycle is the problem reported.
			if (known && (graph.cyclic.has(i) || reaches(i, read))) return;
			problems.push({
				file,
				line: wf.source.lineOf(["steps", i, "reads", j]),
				field: `steps.${i}.reads`,
				message: known
					? `"${step.id}" reads "${read}", which it does not depend on: its result may not exist yet`
					: `"${step.id}" reads unknown step "${read}"`,
				hint: known
					? `add "${read}" to dependsOn (of "${step.id}" or of a step it depends on)`
					: `step ids: ${[...byId.keys()].join(", ")}`,
			});
		});
		const allowed = new Set(["goal", ...[...deps, ...reads].map((d) => outputs.get(d) ?? d)]);
		for (const m of step.task.matchAll(PLACEHOLDER)) {
			if (!allowed.has(m[1] ?? ""))
				problems.push({
					file,
					line: wf.source.lineOf(["steps", i, "task"]),
					field: `steps.${i}.task`,
					message: `unknown placeholder {${m[1]}}`,
					hint: `use {goal} or the output of a step "${step.id}" depends on or reads: ${[...allowed].map((a) => `{${a}}`).join(", ")}`,
				});
		}
	});
	const cycle = findCycle(wf, graph);
	if (cycle) {
		const first = byId.get(cycle[0] ?? "") ?? 0;
		problems.push({
			file,
			line: wf.source.lineOf(["steps", first, "dependsOn"]),
			field: `steps.${first}.dependsOn`,
			message: `dependency cycle: ${cycle.join(" -> ")}`,
			hint: "remove one of these dependsOn entries",
		});
	}
	problems.push(...checkLoops(wf));
	return problems;
}

/**
 * A workflow's steps as a graph, by index (the first step of each id; an unknown dependency is left out): each step's
 * dependencies, a topological order (Kahn's algorithm: linear, no recursion, so a deep chain cannot overflow the
 * stack) and the steps on or behind a cycle, which that order never reaches.
 */
interface StepGraph {
	deps: number[][];
	order: number[];
	cyclic: Set<number>;
}

function dependencyGraph(wf: WorkflowDef, byId: Map<string, number>): StepGraph {
	const n = wf.steps.length;
	const deps = wf.steps.map((step, i) =>
		byId.get(step.id) === i ? [...new Set(step.dependsOn ?? [])].flatMap((d) => byId.get(d) ?? []) : [],
	);
	const dependents: number[][] = Array.from({ length: n }, () => []);
	const waiting = deps.map((d) => d.length);
	deps.forEach((list, i) => {
		for (const d of list) dependents[d]?.push(i);
	});
	const order: number[] = [];
	for (let i = 0; i < n; i++) if (waiting[i] === 0) order.push(i);
	for (let k = 0; k < order.length; k++)
		for (const next of dependents[order[k] ?? 0] ?? []) {
			waiting[next] = (waiting[next] ?? 0) - 1;
			if (waiting[next] === 0) order.push(next);
		}
	const done = new Set(order);
	const cyclic = new Set<number>();
	for (let i = 0; i < n; i++) if (!done.has(i)) cyclic.add(i);
	return { deps, order, cyclic };
}

/**
 * Whether a step depends, directly or not, on a step it reads: reachability computed once, in topological order, as
 * one bit per step that some step reads (not per step: a 500-step chain with two reads costs 500 x 1 word, not 500²).
 */
function readReachability(
	wf: WorkflowDef,
	byId: Map<string, number>,
	graph: StepGraph,
): (step: number, read: string) => boolean {
	const bit = new Map<string, number>();
	for (const step of wf.steps) for (const read of step.reads ?? []) if (!bit.has(read)) bit.set(read, bit.size);
	const words = Math.ceil(bit.size / 32);
	const ancestors = new Uint32Array(wf.steps.length * words);
	const set = (at: number, mask: number) => {
		ancestors[at] = (ancestors[at] ?? 0) | mask;
	};
	for (const i of graph.order)
		for (const d of graph.deps[i] ?? []) {
			for (let w = 0; w < words; w++) set(i * words + w, ancestors[d * words + w] ?? 0);
			const b = bit.get(wf.steps[d]?.id ?? "");
			if (b !== undefined) set(i * words + (b >> 5), 1 << (b & 31));
		}
	return (step, read) => {
		const b = bit.get(read);
		return b !== undefined && byId.has(read) && ((ancestors[step * words + (b >> 5)] ?? 0) & (1 << (b & 31))) !== 0;
	};
}

/** One cycle among the steps no topological order reaches, as step ids (the first repeated at the end). */
function findCycle(wf: WorkflowDef, graph: StepGraph): string[] | undefined {
	// Walk back along dependencies that are themselves cyclic: in a finite graph the walk must come back to a step.
	const [start] = graph.cyclic;
	if (start === undefined) return undefined;
	const seenAt = new Map<number, number>();
	const path: number[] = [];
	let at = start;
	while (!seenAt.has(at)) {
		seenAt.set(at, path.length);
		path.push(at);
		at = (graph.deps[at] ?? []).find((d) => graph.cyclic.has(d)) ?? at;
	}
	const loop = path.slice(seenAt.get(at));
	return [...loop, at].map((i) => wf.steps[i]?.id ?? "");
}
