/** `pi-crew init` / `/team-init`: scaffold `.crew/` in a repository with a working example, never overwriting. */
import { join, relative } from "node:path";
import { openExclusive } from "../util/safe-fs.js";
import { findRepo } from "./index.js";

const GITIGNORE =
	"# pi-crew state: runs, metrics, bundles and work files are per machine\nruns/\nmetrics/\nexports/\ntmp/\nremoved-runs.jsonl\n";

const FILES: Record<string, string> = {
	".gitignore": GITIGNORE,
	"agents/doc-checker.md": `---
name: doc-checker
description: "Checks that the README and docs match what the code does."
tools: read, ls, grep, find
triggers: ["docs", "readme", "documentation"]
useWhen: ["documentation may be out of date"]
cost: cheap
---

Compare the documentation with the code for the goal. List every statement in the docs that the code contradicts,
with file:line on both sides, and say what the docs should say instead. You are read-only.
`,
	"teams/docs.team.md": `---
name: docs
description: "Find where the docs and the code disagree, then write the fixes up."
roles:
  - name: checker
    agent: doc-checker
  - name: writer
    agent: writer
defaultWorkflow: docs
---

An example project team: a project agent (doc-checker) next to a builtin one (writer).
`,
	"workflows/docs.workflow.md": `---
name: docs
description: "Check the docs against the code, then propose the changes."
steps:
  - id: check
    role: checker
    output: findings
    task: |
      Check the documentation against the code for: {goal}
  - id: write
    role: writer
    dependsOn: [check]
    task: |
      Write the documentation changes for: {goal}

      Findings:
      {findings}
---

Run it with: pi-crew run docs "the README's install section"
`,
};

/** Writes `file` (under `repo`) unless it exists: false when it is kept. A link where it would go is refused. */
async function writeNew(repo: string, file: string, text: string): Promise<boolean> {
	return openExclusive(repo, file).then(
		async (handle) => {
			await handle.writeFile(text).finally(() => handle.close());
			return true;
		},
		(err: NodeJS.ErrnoException) => {
			if (err.code === "EEXIST") return false;
			throw err;
		},
	);
}

/**
 * `.crew/.gitignore`, so that a repository's first pi-crew files (from `init` or `import`) never bring its runs into
 * git; kept when it exists. Whether it was written.
 */
export function writeCrewGitignore(repo: string): Promise<boolean> {
	return writeNew(repo, join(repo, ".crew", ".gitignore"), GITIGNORE);
}

export async function initProject(cwd: string | undefined): Promise<{ created: string[]; kept: string[] }> {
	const repo = findRepo(cwd);
	const dir = join(repo, ".crew");
	const created: string[] = [];
	const kept: string[] = [];
	for (const [rel, text] of Object.entries(FILES)) {
		const file = join(dir, rel);
		const wrote = await writeNew(repo, file, text);
		(wrote ? created : kept).push(relative(process.cwd(), file) || file);
	}
	return { created, kept };
}
