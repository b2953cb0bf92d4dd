/** Adaptive plans: parsing, phase dependencies, and every reason a plan is refused. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_PLAN_TASKS, parsePlan, planFormat } from "../../src/engine/adaptive.js";
import type { AgentDef } from "../../src/resources/schema.js";

const agent = (name: string) => ({ name, description: `${name} agent` }) as AgentDef;
const roles = new Map([
	["executor", agent("executor")],
	["tester", agent("test-engineer")],
]);
const fenced = (plan: unknown) => `Here is the plan.\n\n\`\`\`json\n${JSON.stringify(plan)}\n\`\`\`\n`;

test("phases become tasks; each waits for the whole previous phase plus what it names", () => {
	const plan = parsePlan(
		fenced({
			phases: [
				{
					name: "build",
					tasks: [
						{ id: "api", role: "executor", task: "build the api" },
						{ id: "ui", role: "executor", task: "build the ui" },
					],
				},
				{ name: "check", tasks: [{ id: "tests", role: "tester", task: "test both", dependsOn: ["api"] }] },
			],
		}),
		roles,
		new Set(["explore", "plan"]),
	);
	assert.ok("steps" in plan, JSON.stringify(plan));
	assert.deepEqual(
		plan.steps.map((s) => [s.id, s.role, s.dependsOn]),
		[
			["api", "executor", []],
			["ui", "executor", []],
			["tests", "tester", ["api", "ui"]],
		],
	);
});

test("every problem of a plan is reported at once", () => {
	const tooMany = Array.from({ length: MAX_PLAN_TASKS + 1 }, (_, i) => ({ id: `t${i}`, role: "executor", task: "x" }));
	const cases: [string, RegExp[]][] = [
		["no plan here", [/no ```json block/]],
		["```json\n{not json\n```", [/not valid JSON/]],
		[fenced({ tasks: [] }), [/must be \{"phases"/]],
		[
			fenced({
				phases: [
					{
						tasks: [
							{ id: "a", role: "wizard", task: "x" },
							{ id: "plan", role: "executor", task: "x" },
							{ id: "b", role: "executor", task: "", dependsOn: ["later"] },
						],
					},
					{
						tasks: [
							{ id: "later", role: "executor", task: "x" },
							{ id: "a", role: "tester", task: "y" },
						],
					},
				],
			}),
			[
				/unknown role "wizard"; use one of executor, tester/,
				/id "plan" is already used/,
				/"task" must say what to do/,
				/depends on "later", which is not declared before it/,
				/phase 2 task 2: id "a" is already used/,
			],
		],
		[
			fenced({ phases: [{ tasks: tooMany }] }),
			[new RegExp(`has ${MAX_PLAN_TASKS + 1} tasks; at most ${MAX_PLAN_TASKS}`)],
		],
	];
	for (const [answer, expected] of cases) {
		const plan = parsePlan(answer, roles, new Set(["plan"]));
		assert.ok("errors" in plan, answer);
		for (const e of expected)
			assert.ok(
				plan.errors.some((x) => e.test(x)),
				`${e} in ${JSON.stringify(plan.errors)}`,
			);
	}
});

test("the format section lists the roles the workflow does not use first", () => {
	const text = planFormat(roles, new Set(["executor"]));
	assert.match(text, /Roles you may use: tester \(test-engineer: test-engineer agent\); executor/);
});
