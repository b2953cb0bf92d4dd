/**
 * Where a skill an agent or step names is found. A name, never a path: it is looked up in the user's skill
 * directories (pi's `<agent dir>/skills`, then `~/.agents/skills`), and in the repository's (`.pi/skills`,
 * `.agents/skills`) only when the repository is trusted, after the user's, so a cloned repository can neither load a
 * skill into a worker nor shadow one of the user's.
 */
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { piAgentDir } from "./home.js";

/** The directories a skill name is looked up in, in order. */
export function skillDirs(repo: string, trusted: boolean, env: NodeJS.ProcessEnv = process.env): string[] {
	const user = [join(piAgentDir(env), "skills"), join(env.HOME ?? homedir(), ".agents", "skills")];
	return trusted ? [...user, join(repo, ".pi", "skills"), join(repo, ".agents", "skills")] : user;
}

const kind = (path: string) => {
	try {
		const st = statSync(path);
		return st.isDirectory() ? "dir" : st.isFile() ? "file" : undefined;
	} catch {
		return undefined;
	}
};

/** A skill's path as pi's `--skill` takes it: `<dir>/<name>` holding a SKILL.md, or `<dir>/<name>.md`. */
export function findSkill(name: string, dirs: string[]): string | undefined {
	for (const dir of dirs) {
		const folder = join(dir, name);
		if (kind(folder) === "dir" && kind(join(folder, "SKILL.md")) === "file") return folder;
		if (kind(`${folder}.md`) === "file") return `${folder}.md`;
	}
	return undefined;
}

/** Every name's path, or the names found nowhere. */
export function resolveSkills(
	names: string[],
	repo: string,
	trusted: boolean,
	env: NodeJS.ProcessEnv = process.env,
): { paths: string[]; missing: string[]; dirs: string[] } {
	const dirs = skillDirs(repo, trusted, env);
	const paths: string[] = [];
	const missing: string[] = [];
	for (const name of names) {
		const path = findSkill(name, dirs);
		if (path) paths.push(path);
		else missing.push(name);
	}
	return { paths, missing, dirs };
}
