/** Teams whose workflow loops: a user's team `loopy` (a fixer, then a check that sends the work back), and its log. */
import { loadRun } from "../../src/store/run-store.js";
import type { Sandbox } from "./index.js";

/**
 * The user's team `loopy`: step `fix` (agent `fixer`, bash) then step `check` (agent `judge`, which may call
 * `verdict`), whose `loop` sends the work back to `fix`; `verify`: check's verify command, if any, or its reviewer
 * agent (`{ agent }`); `isolated`: each task works in a worktree of its own.
 */
export async function loopTeam(
	box: Sandbox,
	loop: string,
	verify?: string | { agent: string },
	isolated = false,
): Promise<void> {
	const home = "../crew-home";
	await box.write(`${home}/agents/fixer.md`, "---\nname: fixer\ndescription: fixes\ntools: read, bash\n---\nFix it.\n");
	await box.write(
		`${home}/agents/judge.md`,
		"---\nname: judge\ndescription: judges\ntools: read, bash, verdict\n---\nJudge it.\n",
	);
	await box.write(
		`${home}/teams/loopy.team.md`,
		`---\nname: loopy\ndescription: t\nroles:\n  - name: fixer\n    agent: fixer\n  - name: judge\n    agent: judge\ndefaultWorkflow: loopy\n${isolated ? "isolation: worktree\n" : ""}---\n`,
	);
	const check = [
		"  - id: check",
		"    role: judge",
		"    dependsOn: [fix]",
		"    task: check {goal}",
		`    loop: ${loop}`,
		...(typeof verify === "string" ? [`    verify: ${JSON.stringify(verify)}`] : []),
		...(typeof verify === "object" ? [`    verify: { agent: ${verify.agent} }`] : []),
	];
	await box.write(
		`${home}/workflows/loopy.workflow.md`,
		[
			"---",
			"name: loopy",
			"description: t",
			"steps:",
			"  - id: fix",
			"    role: fixer",
			"    task: fix {goal}",
			...check,
			"---",
			"",
		].join("\n"),
	);
}

/** A verify command that fails (saying so) until its `n`-th run, counting its runs in `.count` of its directory. */
export function failsUntil(n: number): string {
	return `c=$(( $(cat .count 2>/dev/null || echo 0) + 1 )); echo $c > .count; if [ $c -lt ${n} ]; then echo "tests fail (run $c)"; exit 1; fi`;
}

/** The run's state, as its log folds. */
export async function foldedRun(box: Sandbox, runId: string) {
	return (await loadRun(box.repo, runId)).state;
}
