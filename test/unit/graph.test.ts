/** Graph walks over a workflow's or a run's tasks: iterative and linear, so a hostile 12 000-step file costs nothing. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { reopenForResume } from "../../src/engine/plan.js";
import type { WorkflowDef } from "../../src/resources/schema.js";
import { checkWorkflowGraph } from "../../src/resources/validate.js";
import { foldEvents } from "../../src/store/fold.js";
import { taskTree } from "../../src/view/render.js";
import { eventBuilder, fixtures } from "../support/index.js";

const N = 12_000;

function workflow(steps: WorkflowDef["steps"]): WorkflowDef {
	return {
		name: "w",
		description: "d",
		steps,
		body: "",
		source: { file: "w.workflow.md", scope: "project", lineOf: () => undefined },
	};
}

/** s0 <- s1 <- ... <- s(n-1), each step reading s0; `cycle`: s0 depends on the last. */
function chain(n: number, options: { cycle?: boolean; reads?: string[] } = {}): WorkflowDef {
	return workflow(
		Array.from({ length: n }, (_, i) => ({
			id: `s${i}`,
			role: "r",
			task: "t",
			...(i > 0 ? { dependsOn: [`s${i - 1}`] } : options.cycle ? { dependsOn: [`s${n - 1}`] } : {}),
			...(i > 0 && options.reads ? { reads: options.reads } : {}),
		})),
	);
}

test("a 12 000-step cycle is reported as one cycle, without recursion", () => {
	const problems = checkWorkflowGraph(chain(N, { cycle: true }));
	assert.equal(problems.length, 1, JSON.stringify(problems.slice(0, 3)));
	assert.equal(problems[0]?.field, "steps.0.dependsOn");
	assert.match(problems[0]?.message ?? "", /^dependency cycle: s0 -> s11999 -> s11998 -> .* -> s1 -> s0$/);
});

test("a 12 000-step chain whose every step reads the first is checked in one pass; a read of a later step is not", () => {
	// Listed last step first: a walk from each step in file order goes 12 000 deep at once.
	const reversed = chain(N, { reads: ["s0"] });
	reversed.steps.reverse();
	assert.deepEqual(checkWorkflowGraph(reversed), []);
	const wf = chain(N);
	wf.steps[5] = { ...wf.steps[5], id: "s5", role: "r", task: "t", dependsOn: ["s4"], reads: ["s9", "s3", "ghost"] };
	const problems = checkWorkflowGraph(wf).map((p) => `${p.field}: ${p.message}`);
	assert.deepEqual(problems, [
		'steps.5.reads: "s5" reads "s9", which it does not depend on: its result may not exist yet',
		'steps.5.reads: "s5" reads unknown step "ghost"',
	]);
});

test("a diamond and a cycle behind a valid start: reads follow every path; the cycle found is the real loop", () => {
	const wf = workflow([
		{ id: "a", role: "r", task: "t" },
		{ id: "b", role: "r", task: "t", dependsOn: ["a"] },
		{ id: "c", role: "r", task: "t", dependsOn: ["a", "e"] },
		{ id: "d", role: "r", task: "t", dependsOn: ["b", "c"], reads: ["a"] },
		{ id: "e", role: "r", task: "t", dependsOn: ["f"] },
		{ id: "f", role: "r", task: "t", dependsOn: ["e"] },
	]);
	const problems = checkWorkflowGraph(wf).map((p) => p.message);
	assert.deepEqual(problems, ["dependency cycle: e -> f -> e"]);
});

test("a run's log of 12 000 chained tasks: the task tree and a resume's reopening are iterative", () => {
	const ev = eventBuilder();
	const events = [ev("run.created", fixtures.created)];
	for (let i = 0; i < N; i++) events.push(ev("task.planned", fixtures.planned(i > 0 ? [`t${i - 1}`] : []), `t${i}`));
	events.push(ev("run.started", { pid: 1 }));
	events.push(ev("task.started", { attempt: 1, promptPath: "p" }, "t0"));
	events.push(ev("task.failed", { reason: "boom" }, "t0"));
	for (let i = 1; i < N; i++) events.push(ev("task.skipped", { reason: "t0 failed" }, `t${i}`));
	events.push(ev("run.finished", { status: "failed", reason: "t0 failed", summaryPath: "s" }));
	const state = foldEvents(events);
	assert.ok(state);
	const tree = taskTree(state);
	assert.equal(tree.length, N);
	assert.deepEqual(
		tree.slice(0, 2).map((t) => [t.task.id, t.depth]),
		[
			["t0", 0],
			["t1", 1],
		],
	);
	assert.equal(tree.at(-1)?.depth, N - 1);
	assert.equal(reopenForResume(state, ["t0"]).length, N);
});
