/**
 * An agent's `extensions:` (pi extensions its workers load) as what a worker is handed: a path resolved from the
 * agent's file and confined to where that scope's files live, or a pi package source (`npm:`, `git:`) as written.
 */
import { realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { crewHome, piAgentDir } from "../config/home.js";
import { isInside } from "../util/safe-fs.js";
import type { Problem } from "../util/yaml-source.js";
import type { Scope } from "./schema.js";

/** pi's package sources (its docs/packages.md), which pi installs itself; anything else is a path. */
const PACKAGE = /^(?:npm|git):\S+$/;

/**
 * Where a scope's extension paths may point: yours under pi's agent dir (`~/.pi/agent`, where pi keeps its own
 * extensions), a repository's inside the repository, a builtin's inside the package's `builtin/`.
 */
function rootOf(file: string, scope: Scope): string {
	const resources = dirname(dirname(file));
	if (scope === "user") return piAgentDir();
	return scope === "project" ? dirname(resources) : resources;
}

function real(path: string): string {
	try {
		return realpathSync(path);
	} catch {
		return path;
	}
}

/** Each entry as a worker takes it (`-e`), and the problems of those that cannot be (file, line, field). */
export function resolveExtensions(
	entries: string[],
	file: string,
	scope: Scope,
	lineOf: (path: (string | number)[]) => number | undefined,
): { extensions: string[]; problems: Problem[] } {
	const extensions: string[] = [];
	const problems: Problem[] = [];
	const root = real(rootOf(file, scope));
	entries.forEach((entry, i) => {
		if (PACKAGE.test(entry)) {
			extensions.push(entry);
			return;
		}
		const at = { file, line: lineOf(["extensions", i]), field: `extensions.${i}` };
		const path = resolve(dirname(file), entry);
		const exists = statSync(path, { throwIfNoEntry: false });
		if (!exists) {
			problems.push({
				...at,
				message: `extension ${entry} not found (${path})`,
				hint: "a path relative to this agent's file, or a pi package as npm:NAME or git:URL",
			});
			return;
		}
		const found = real(path);
		if (!isInside(root, found))
			problems.push({
				...at,
				message: `extension ${entry} is outside ${root} (it resolves to ${found})`,
				hint:
					scope === "user"
						? "keep your extensions under pi's agent dir, e.g. ~/.pi/agent/extensions/"
						: "an extension must be inside the directory the agent comes with",
			});
		else if (scope === "user" && isInside(real(crewHome()), found))
			problems.push({
				...at,
				message: `extension ${entry} is inside pi-crew's home (${crewHome()}), which a sandboxed worker cannot read`,
				hint: "move it to pi's extensions directory, e.g. ~/.pi/agent/extensions/",
			});
		else extensions.push(found);
	});
	return { extensions, problems };
}
