/** A workflow's loops (`loop: {to, until, max}` of a step): the steps each sends back, and the checks before a run. */
import type { Problem } from "../util/yaml-source.js";
import type { WorkflowDef } from "./schema.js";

interface Node {
	id: string;
	dependsOn?: readonly string[];
}

/**
 * The steps a loop at `at` sends back to `to`: `to`, every step on a path from `to` to `at`, and `at`, in the order of
 * `nodes`; `undefined` when `at` does not depend on `to`, directly or not. Iterative walks, each step visited once.
 */
export function loopRange(nodes: Iterable<Node>, to: string, at: string): string[] | undefined {
	const list = [...nodes];
	const deps = new Map(list.map((n) => [n.id, n.dependsOn ?? []]));
	const ancestors = walk([at], (id) => deps.get(id) ?? []);
	if (to === at || !ancestors.has(to)) return undefined;
	const dependents = new Map<string, string[]>();
	for (const n of list)
		for (const d of n.dependsOn ?? []) {
			const known = dependents.get(d);
			if (known) known.push(n.id);
			else dependents.set(d, [n.id]);
		}
	const descendants = walk([to], (id) => dependents.get(id) ?? []);
	return list.map((n) => n.id).filter((id) => ancestors.has(id) && descendants.has(id));
}

/** Every id reachable from `from` along `next`, `from` included. */
function walk(from: string[], next: (id: string) => readonly string[]): Set<string> {
	const seen = new Set(from);
	const work = [...from];
	for (let id = work.pop(); id !== undefined; id = work.pop())
		for (const n of next(id))
			if (!seen.has(n)) {
				seen.add(n);
				work.push(n);
			}
	return seen;
}

/**
 * A workflow's loops, checked before anything runs: `to` is a step the looping step depends on; `until: verify` has
 * a verify to take the verdict from; ranges do not overlap (a nested loop has no round of its own to run in); no
 * adaptive step is inside one (its plan would be made again each round). Call on a graph without cycles.
 */
export function checkLoops(wf: WorkflowDef): Problem[] {
	const problems: Problem[] = [];
	const file = wf.source.file;
	const taken = new Map<string, string>();
	const adaptive = new Set(wf.steps.filter((s) => s.adaptive).map((s) => s.id));
	wf.steps.forEach((step, i) => {
		const loop = step.loop;
		if (!loop) return;
		const at = (field: string) => ({ file, line: wf.source.lineOf(["steps", i, "loop", field]) });
		const until = loop.until ?? (step.verify ? "verify" : "verdict");
		if (until === "verify" && !step.verify)
			problems.push({
				...at("until"),
				field: `steps.${i}.loop.until`,
				message: `"${step.id}" loops until its verify passes, and it has no verify`,
				hint: `add verify: "<a test command>" to "${step.id}", or use until: verdict (its agent calls the verdict tool)`,
			});
		const range = loopRange(wf.steps, loop.to, step.id);
		if (!range) {
			problems.push({
				...at("to"),
				field: `steps.${i}.loop.to`,
				message: `"${step.id}" loops to "${loop.to}", which it does not depend on`,
				hint: `loop to a step "${step.id}" depends on, directly or not (its dependsOn: ${(step.dependsOn ?? []).join(", ") || "none"})`,
			});
			return;
		}
		const inside = range.find((id) => adaptive.has(id));
		if (inside)
			problems.push({
				...at("to"),
				field: `steps.${i}.loop.to`,
				message: `the loop of "${step.id}" (from "${loop.to}") holds adaptive step "${inside}", whose plan cannot be made again each round`,
				hint: "loop to a step after the adaptive one",
			});
		const shared = range.find((id) => taken.has(id));
		if (shared)
			problems.push({
				...at("to"),
				field: `steps.${i}.loop.to`,
				message: `the loop of "${step.id}" (from "${loop.to}") overlaps the loop of "${taken.get(shared)}" at step "${shared}": loops may not nest or overlap`,
				hint: "make the loops' ranges (from each loop's `to` to its step) disjoint, or keep one loop",
			});
		for (const id of range) if (!taken.has(id)) taken.set(id, step.id);
	});
	return problems;
}
