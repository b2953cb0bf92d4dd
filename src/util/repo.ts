/** The repository a command acts on. */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The nearest ancestor holding `.git` or `.crew`, else the directory itself. */
export function findRepo(cwd = process.cwd()): string {
	const start = resolve(cwd);
	for (let dir = start; ; dir = dirname(dir)) {
		if (existsSync(join(dir, ".git")) || existsSync(join(dir, ".crew"))) return dir;
		if (dirname(dir) === dir) return start;
	}
}
