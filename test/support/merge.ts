/**
 * Two isolated tasks that edit the same line differently, for tests of conflicted merges: task `a` (agent `lefty`)
 * raises `x = 1` to `x = 2` and adds `a.txt`; task `b` (agent `righty`) adds `y = 3` on the same line and adds `b.txt`.
 * Both steps verify each intent once its task's work is there, so each passes alone and a merge must keep both.
 */
import { git, gitBox } from "./git.js";
import type { Sandbox } from "./index.js";

export const BASE = "x = 1";
export const A_SIDE = "x = 2  # A: two";
export const B_SIDE = "x = 1; y = 3  # B: y";
export const BOTH = "x = 2; y = 3  # A: two; B: y";
export const VERIFY =
	"{ test ! -e a.txt || grep -q 'x = 2' config.py; } && { test ! -e b.txt || grep -q 'y = 3' config.py; }";

const agent = (name: string) =>
	`---\nname: ${name}\ndescription: writes config.py\ntools: read, bash, write, edit, ls\n---\nDo the task.\n`;

/** A repository with `config.py` at `x = 1`, the user's team `clash` (a and b in parallel) and its agents. */
export async function clashBox(config = ""): Promise<Sandbox> {
	const box = await gitBox({ "config.py": `${BASE}\n` });
	const home = "../crew-home";
	if (config) await box.write(`${home}/config.yaml`, config);
	await box.write(`${home}/agents/lefty.md`, agent("lefty"));
	await box.write(`${home}/agents/righty.md`, agent("righty"));
	await box.write(
		`${home}/teams/clash.team.md`,
		"---\nname: clash\ndescription: t\nroles:\n  - name: a\n    agent: lefty\n  - name: b\n    agent: righty\ndefaultWorkflow: clash\n---\n",
	);
	const step = (id: string) => `  - id: ${id}\n    role: ${id}\n    task: go\n    verify: ${JSON.stringify(VERIFY)}\n`;
	await box.write(
		`${home}/workflows/clash.workflow.md`,
		`---\nname: clash\ndescription: t\nsteps:\n${step("a")}${step("b")}---\n`,
	);
	return box;
}

/**
 * The scenario: each side's worker writes its line, and `merger` does what `merger` says (YAML steps). `also`: a file
 * each side also writes, with its own name in it (a second conflict).
 */
export function clashScenario(box: Sandbox, merger: string, also?: string): Promise<string> {
	const writes = (side: string, file: string) => {
		const more = also ? ` && echo ${file} > '${also}'` : "";
		return `  - tool: bash\n    args: { command: ${JSON.stringify(`printf '${side}\\n' > config.py && touch ${file}${more}`)} }`;
	};
	return box.write(
		"../scenario.yaml",
		[
			`lefty:\n${writes(A_SIDE, "a.txt")}\n  - say: "a raised x to 2"`,
			`righty:\n${writes(B_SIDE, "b.txt")}\n  - say: "b added y = 3 on the line of x"`,
			`merger:\n${merger}`,
		].join("\n"),
	);
}

/** The merger's steps that write `content` to config.py, after a look at the conflict. */
export function mergerWrites(content: string): string {
	return [
		'  - tool: bash\n    args: { command: "cat config.py" }',
		`  - tool: write\n    args: { path: config.py, content: ${JSON.stringify(`${content}\n`)} }`,
		'  - say: "kept x = 2 from a and y = 3 from b"',
	].join("\n");
}

/** A ref's commit. */
export function tip(box: Sandbox, ref: string): string {
	return git(box.repo, "rev-parse", ref);
}
