/** Helpers of the reviewer-agent tests: a team whose steps or team name a reviewer (`verify: {agent}`). */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Sandbox } from "./index.js";

export interface ReviewStep {
	id: string;
	role: string;
	dependsOn?: string[];
	/** The step's `verify`, as inline YAML (`{ agent: reviewer }`). */
	verify?: string;
}

/**
 * A project team `name` (each role run by the builtin agent of that name), its workflow of `steps`; `teamVerify`: the
 * team's `verify`, as inline YAML.
 */
export async function reviewTeam(box: Sandbox, name: string, steps: ReviewStep[], teamVerify?: string): Promise<void> {
	const roles = [...new Set(steps.map((s) => s.role))];
	await box.write(
		`.crew/teams/${name}.team.md`,
		`---\nname: ${name}\ndescription: test team\nroles:\n${roles.map((r) => `  - name: ${r}\n    agent: ${r}`).join("\n")}\ndefaultWorkflow: ${name}\n${teamVerify ? `verify: ${teamVerify}\n` : ""}---\n`,
	);
	const yamlSteps = steps.map((s) =>
		[
			`  - id: ${s.id}`,
			`    role: ${s.role}`,
			...(s.dependsOn ? [`    dependsOn: [${s.dependsOn.join(", ")}]`] : []),
			...(s.verify ? [`    verify: ${s.verify}`] : []),
			`    task: "do ${s.id} for {goal}"`,
		].join("\n"),
	);
	await box.write(
		`.crew/workflows/${name}.workflow.md`,
		`---\nname: ${name}\ndescription: test workflow\nsteps:\n${yamlSteps.join("\n")}\n---\n`,
	);
}

/** The `task.verdict` events of a run, in order, with their task. */
export async function verdicts(runDir: string) {
	const log = await readFile(join(runDir, "events.jsonl"), "utf8");
	return log
		.split("\n")
		.filter(Boolean)
		.map((l) => JSON.parse(l) as { type: string; taskId?: string; data: Record<string, unknown> })
		.filter((e) => e.type === "task.verdict")
		.map((e) => ({
			taskId: e.taskId,
			...(e.data as { clean: boolean; findings: string; by: string; source?: string }),
		}));
}
