/** Cross-reference checks that need more than one file: team -> agents/workflow, workflow -> roles, the DAG itself. */
import type { Problem } from "../util/yaml-source.js";
import type { AgentDef, TeamDef, WorkflowDef } from "./schema.js";

export const PLACEHOLDER = /\{([A-Za-z0-9_-]+)\}/g;

interface Resources {
	agents: Map<string, AgentDef>;
	teams: Map<string, TeamDef>;
	workflows: Map<string, WorkflowDef>;
}

export function crossCheck(r: Resources): Problem[] {
	const problems: Problem[] = [];
	for (const wf of r.workflows.values()) problems.push(...checkWorkflowGraph(wf), ...checkVerifyTrust(wf, "warning"));
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
	return problems;
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
	return wf.steps.flatMap((step, i) =>
		step.verify === undefined
			? []
			: [
					{
						severity,
						file: wf.source.file,
						line: wf.source.lineOf(["steps", i, "verify"]),
						field: `steps.${i}.verify`,
						message: `a verify command of a repository the user has not trusted never runs: workflow "${wf.name}" cannot run here`,
						hint: "if you trust this repository: /trust in pi, or: pi-crew trust",
					},
				],
	);
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

/** Duplicate ids, unknown dependencies, cycles and template placeholders: all before anything runs. */
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
	const ancestors = ancestorsOf(wf);
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
			if (ancestors.get(step.id)?.has(read)) return;
			problems.push({
				file,
				line: wf.source.lineOf(["steps", i, "reads", j]),
				field: `steps.${i}.reads`,
				message: byId.has(read)
					? `"${step.id}" reads "${read}", which it does not depend on: its result may not exist yet`
					: `"${step.id}" reads unknown step "${read}"`,
				hint: byId.has(read)
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
	const cycle = findCycle(wf);
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
	return problems;
}

/** Each step's ancestors: the steps it depends on, directly or through others (a cycle is reported elsewhere). */
function ancestorsOf(wf: WorkflowDef): Map<string, Set<string>> {
	const deps = new Map(wf.steps.map((s) => [s.id, s.dependsOn ?? []]));
	const memo = new Map<string, Set<string>>();
	const visit = (id: string, path: Set<string>): Set<string> => {
		const known = memo.get(id);
		if (known) return known;
		const all = new Set<string>();
		for (const d of deps.get(id) ?? []) {
			all.add(d);
			if (path.has(d)) continue;
			for (const a of visit(d, new Set([...path, d]))) all.add(a);
		}
		memo.set(id, all);
		return all;
	};
	for (const s of wf.steps) visit(s.id, new Set([s.id]));
	return memo;
}

function findCycle(wf: WorkflowDef): string[] | undefined {
	const deps = new Map(wf.steps.map((s) => [s.id, s.dependsOn ?? []]));
	const state = new Map<string, "visiting" | "done">();
	const stack: string[] = [];
	const visit = (id: string): string[] | undefined => {
		if (state.get(id) === "done" || !deps.has(id)) return undefined;
		if (state.get(id) === "visiting") return [...stack.slice(stack.indexOf(id)), id];
		state.set(id, "visiting");
		stack.push(id);
		for (const d of deps.get(id) ?? []) {
			const found = visit(d);
			if (found) return found;
		}
		stack.pop();
		state.set(id, "done");
		return undefined;
	};
	for (const s of wf.steps) {
		const found = visit(s.id);
		if (found) return found;
	}
	return undefined;
}
