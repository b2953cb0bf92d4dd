/**
 * Adaptive planning: a workflow step marked `adaptive: true` answers with a plan, a fenced JSON block of phases of
 * tasks, and the engine adds those tasks to the run. The plan is validated like a workflow (known roles, unique ids,
 * known dependencies, no cycle, at most MAX_PLAN_TASKS); an invalid plan gets one re-plan with the errors.
 */
import type { AgentDef } from "../resources/schema.js";

export const MAX_PLAN_TASKS = 12;
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface PlannedStep {
	id: string;
	role: string;
	task: string;
	dependsOn: string[];
}

/** What the adaptive step is told, after its task: the format and the roles it may use. */
export function planFormat(roles: Map<string, AgentDef>, usedByWorkflow: Set<string>): string {
	// Roles the workflow's own steps do not use come first: they are what the plan is for.
	const ordered = [...roles].sort(([a], [b]) => Number(usedByWorkflow.has(a)) - Number(usedByWorkflow.has(b)));
	const usable = ordered.map(([name, agent]) => `${name} (${agent.name}: ${agent.description})`);
	return [
		"## Plan format",
		"",
		`End your answer with the plan as a fenced \`\`\`json block: {"phases": [{"name": "...", "tasks": [{"id": "...", "role": "...", "task": "...", "dependsOn": []}]}]}.`,
		`Tasks of a phase run in parallel once the previous phase is done; "dependsOn" may name tasks of earlier phases. At most ${MAX_PLAN_TASKS} tasks; ids use letters, digits, '-' and '_'.`,
		`Roles you may use: ${usable.join("; ")}`,
		"",
	].join("\n");
}

/** The last fenced json block of an answer. */
function lastJsonBlock(answer: string): string | undefined {
	const blocks = [...answer.matchAll(/```json[ \t]*\n([\s\S]*?)```/g)];
	return blocks.at(-1)?.[1];
}

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The tasks of the plan in `answer`, each depending on the whole previous phase (the first phase on nothing: the
 * caller adds the planning task), or every reason the plan cannot be used.
 */
export function parsePlan(
	answer: string,
	roles: Map<string, AgentDef>,
	taken: Set<string>,
): { steps: PlannedStep[] } | { errors: string[] } {
	const block = lastJsonBlock(answer);
	if (!block) return { errors: ["no ```json block with the plan at the end of the answer"] };
	let raw: unknown;
	try {
		raw = JSON.parse(block);
	} catch (err) {
		return { errors: [`the plan is not valid JSON: ${(err as Error).message}`] };
	}
	if (!isRecord(raw) || !Array.isArray(raw.phases) || raw.phases.length === 0)
		return { errors: ['the plan must be {"phases": [{"tasks": [...]}, ...]} with at least one phase'] };
	const errors: string[] = [];
	const steps: PlannedStep[] = [];
	const ids = new Set<string>();
	let previous: string[] = [];
	for (const [p, phase] of raw.phases.entries()) {
		const tasks = isRecord(phase) && Array.isArray(phase.tasks) ? phase.tasks : undefined;
		if (!tasks || tasks.length === 0) {
			errors.push(`phase ${p + 1}: needs a non-empty "tasks" list`);
			continue;
		}
		const current: string[] = [];
		for (const [i, t] of tasks.entries()) {
			const where = `phase ${p + 1} task ${i + 1}`;
			if (!isRecord(t)) {
				errors.push(`${where}: must be an object`);
				continue;
			}
			const { id, role, task, dependsOn = [] } = t;
			if (typeof id !== "string" || !ID.test(id)) {
				errors.push(`${where}: invalid id ${JSON.stringify(id)}`);
				continue;
			}
			if (ids.has(id) || taken.has(id)) errors.push(`${where}: id "${id}" is already used`);
			if (typeof role !== "string" || !roles.has(role))
				errors.push(
					`${where} (${id}): unknown role ${JSON.stringify(role)}; use one of ${[...roles.keys()].join(", ")}`,
				);
			if (typeof task !== "string" || !task.trim()) errors.push(`${where} (${id}): "task" must say what to do`);
			const deps = Array.isArray(dependsOn) ? dependsOn.filter((d): d is string => typeof d === "string") : [];
			// Only tasks declared before this one: the plan is acyclic by construction.
			for (const d of deps)
				if (!ids.has(d)) errors.push(`${where} (${id}): depends on "${d}", which is not declared before it`);
			ids.add(id);
			current.push(id);
			steps.push({ id, role: String(role), task: String(task ?? ""), dependsOn: [...new Set([...previous, ...deps])] });
		}
		previous = current;
	}
	if (steps.length > MAX_PLAN_TASKS) errors.push(`the plan has ${steps.length} tasks; at most ${MAX_PLAN_TASKS}`);
	return errors.length > 0 ? { errors } : { steps };
}
