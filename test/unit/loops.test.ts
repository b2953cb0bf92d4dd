/** A workflow's loops: the range each sends back, and the checks planning makes before a run. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLoops, loopRange } from "../../src/resources/loops.js";
import type { WorkflowDef } from "../../src/resources/schema.js";
import { checkWorkflowGraph } from "../../src/resources/validate.js";

type Step = WorkflowDef["steps"][number];

function workflow(steps: Step[]): WorkflowDef {
	return {
		name: "w",
		description: "d",
		steps,
		body: "",
		source: { file: "w.workflow.md", scope: "user", lineOf: (path) => (path.includes("loop") ? 7 : undefined) },
	};
}

const step = (id: string, dependsOn: string[] = [], extra: Partial<Step> = {}): Step => ({
	id,
	role: "r",
	task: "t",
	...(dependsOn.length ? { dependsOn } : {}),
	...extra,
});

test("a loop's range: `to`, every step on a path from it to the loop step, and the loop step, in file order", () => {
	// a -> b -> d, a -> c -> d, c -> e (off the path to d), x alone.
	const steps = [step("a"), step("b", ["a"]), step("c", ["a"]), step("d", ["b", "c"]), step("e", ["c"]), step("x")];
	assert.deepEqual(loopRange(steps, "a", "d"), ["a", "b", "c", "d"]);
	assert.deepEqual(loopRange(steps, "c", "d"), ["c", "d"]);
	assert.equal(loopRange(steps, "x", "d"), undefined, "d does not depend on x");
	assert.equal(loopRange(steps, "d", "d"), undefined, "a step does not depend on itself");
	assert.equal(loopRange(steps, "e", "d"), undefined);
});

test("a loop's range over a 12 000-step chain is walked without recursion", () => {
	const steps = Array.from({ length: 12_000 }, (_, i) => step(`s${i}`, i > 0 ? [`s${i - 1}`] : []));
	assert.equal(loopRange(steps, "s0", "s11999")?.length, 12_000);
});

test("planning refuses loops to a step not depended on, until verify without a verify, overlaps and adaptive steps inside", () => {
	const problems = (steps: Step[]) => checkWorkflowGraph(workflow(steps)).map((p) => `${p.field}: ${p.message}`);
	assert.deepEqual(problems([step("a"), step("b", ["a"], { loop: { to: "a", max: 3 }, verify: "npm test" })]), []);
	assert.deepEqual(problems([step("a"), step("b", [], { loop: { to: "a", max: 3 } })]), [
		'steps.1.loop.to: "b" loops to "a", which it does not depend on',
	]);
	assert.deepEqual(problems([step("a"), step("b", ["a"], { loop: { to: "a", until: "verify", max: 2 } })]), [
		'steps.1.loop.until: "b" loops until its verify passes, and it has no verify',
	]);
	assert.deepEqual(
		problems([step("a"), step("b", ["a"], { loop: { to: "a", max: 2 }, verify: { agent: "reviewer" } })]),
		[],
	);
	assert.deepEqual(
		problems([
			step("a"),
			step("b", ["a"]),
			step("c", ["b"], { loop: { to: "b", until: "verdict", max: 2 } }),
			step("d", ["c"], { loop: { to: "a", until: "verdict", max: 2 } }),
		]),
		['steps.3.loop.to: the loop of "d" (from "a") overlaps the loop of "c" at step "b": loops may not nest or overlap'],
	);
	assert.deepEqual(
		problems([step("a", [], { adaptive: true }), step("b", ["a"], { loop: { to: "a", until: "verdict", max: 2 } })]),
		['steps.1.loop.to: the loop of "b" (from "a") holds adaptive step "a", whose plan cannot be made again each round'],
	);
	// Two loops one after the other share no step.
	const sequential = [
		step("a"),
		step("b", ["a"], { loop: { to: "a", until: "verdict", max: 2 } }),
		step("c", ["b"]),
		step("d", ["c"], { loop: { to: "c", until: "verdict", max: 2 } }),
	];
	assert.deepEqual(problems(sequential), []);
	const [problem] = checkLoops(workflow([step("a"), step("b", [], { loop: { to: "a", max: 3 } })]));
	assert.equal(problem?.line, 7, "the problem names the line of the loop");
	assert.match(problem?.hint ?? "", /loop to a step "b" depends on/);
});
