/** Helpers of the plan-approval tests: a team whose workflow steps may carry `approval` and `adaptive`. */
import type { Sandbox } from "./index.js";

export interface ApprovalStep {
	id: string;
	role: string;
	dependsOn?: string[];
	approval?: boolean;
	adaptive?: boolean;
}

/**
 * A project team `name` (each role run by the builtin agent of that name) whose workflow has `steps`; `extraRoles`:
 * roles no step uses (what an adaptive plan may add).
 */
export async function approvalTeam(
	box: Sandbox,
	name: string,
	steps: ApprovalStep[],
	extraRoles: string[] = [],
): Promise<void> {
	const roles = [...new Set([...steps.map((s) => s.role), ...extraRoles])];
	await box.write(
		`.crew/teams/${name}.team.md`,
		`---\nname: ${name}\ndescription: test team\nroles:\n${roles.map((r) => `  - name: ${r}\n    agent: ${r}`).join("\n")}\ndefaultWorkflow: ${name}\n---\n`,
	);
	const yamlSteps = steps.map((s) =>
		[
			`  - id: ${s.id}`,
			`    role: ${s.role}`,
			...(s.dependsOn ? [`    dependsOn: [${s.dependsOn.join(", ")}]`] : []),
			...(s.approval ? ["    approval: true"] : []),
			...(s.adaptive ? ["    adaptive: true"] : []),
			`    task: "do ${s.id} for {goal}"`,
		].join("\n"),
	);
	await box.write(
		`.crew/workflows/${name}.workflow.md`,
		`---\nname: ${name}\ndescription: test workflow\nsteps:\n${yamlSteps.join("\n")}\n---\n`,
	);
}

/** An adaptive plan of three explorer tasks: `keep` and `skip` look, `sum` sums up after both (one may be dropped). */
const THREE_TASK_PLAN = {
	phases: [
		{
			name: "look",
			tasks: [
				{ id: "keep", role: "explorer", task: "look here" },
				{ id: "skip", role: "explorer", task: "look there" },
			],
		},
		{ name: "sum", tasks: [{ id: "sum", role: "explorer", task: "sum up", dependsOn: ["keep", "skip"] }] },
	],
};

/** A planner's answer: `head`, then THREE_TASK_PLAN as its plan block. */
export function plannerSays(head = ""): string {
	return `${head}${head ? "\n" : ""}Plan:\n\`\`\`json\n${JSON.stringify(THREE_TASK_PLAN)}\n\`\`\`\n`;
}
