/** Hostile repositories for the resource-loading tests: planted files committed to a real git repository. */
import { execFileSync } from "node:child_process";
import type { Sandbox } from "./index.js";

/** Writes `files` (path under the repository -> text) and commits them, as a cloned repository would hold them. */
export async function plantedRepo(box: Sandbox, files: Record<string, string>): Promise<void> {
	for (const [rel, text] of Object.entries(files)) await box.write(rel, text);
	execFileSync("git", ["init", "-q", box.repo]);
	execFileSync("git", ["-C", box.repo, "add", "-A"]);
	execFileSync("git", ["-C", box.repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "clone"]);
}

/** A 400-byte YAML "billion laughs": 101 aliases of one anchor, one more than the yaml library expands. */
export function aliasBomb(): string {
	return `x: &a lol\nlots: [${Array(101).fill("*a").join(", ")}]\n`;
}

/** An agent file whose frontmatter is an alias bomb. */
export function aliasBombAgent(name: string): string {
	return `---\nname: ${name}\ndescription: d\n${aliasBomb()}---\nBody.\n`;
}

/** A workflow of `count` steps in one chain (each depends on the one before), `cycle`: the first on the last. */
export function chainWorkflow(name: string, count: number, options: { cycle?: boolean } = {}): string {
	const steps = Array.from({ length: count }, (_, i) => {
		const dep = i > 0 ? `s${i - 1}` : options.cycle ? `s${count - 1}` : undefined;
		return `  - {id: s${i}, role: r, task: t${dep ? `, dependsOn: [${dep}]` : ""}}`;
	});
	return `---\nname: ${name}\ndescription: d\nsteps:\n${steps.join("\n")}\n---\n`;
}

/** A team of one role `r` (agent `executor`) over workflow `name`. */
export function chainTeam(name: string): string {
	return `---\nname: ${name}\ndescription: d\nroles:\n  - {name: r, agent: executor}\ndefaultWorkflow: ${name}\n---\n`;
}
