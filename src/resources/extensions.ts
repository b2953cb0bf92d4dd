/**
 * An agent's `extensions:` (pi extensions its workers load) as what a worker is handed: a path resolved from the
 * agent's file and confined to where that scope's files live. pi package sources are refused: pi would install them
 * in every (read-only, maybe offline) sandboxed worker, running their npm scripts.
 */
import { realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { crewHome, piAgentDir } from "../config/home.js";
import { isInside } from "../util/safe-fs.js";
import type { Problem } from "../util/yaml-source.js";
import type { Scope } from "./schema.js";

/** What pi takes for a package source, not a path (its docs/packages.md: `npm:`, `git:`, a git URL). */
const PACKAGE = /^(?:npm:|git:|(?:https?|ssh|git):\/\/)/i;

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

/** Where a path entry resolves, or why a worker cannot load it. */
function resolvePath(entry: string, file: string, scope: Scope): string | { message: string; hint: string } {
	const path = resolve(dirname(file), entry);
	if (!statSync(path, { throwIfNoEntry: false }))
		return {
			message: `extension ${entry} not found (${path})`,
			hint: "a path relative to this agent's file",
		};
	const root = real(rootOf(file, scope));
	const found = real(path);
	if (!isInside(root, found))
		return {
			message: `extension ${entry} is outside ${root} (it resolves to ${found})`,
			hint:
				scope === "user"
					? "keep your extensions under pi's agent dir, e.g. ~/.pi/agent/extensions/"
					: "an extension must be inside the directory the agent comes with",
		};
	if (scope === "user" && isInside(real(crewHome()), found))
		return {
			message: `extension ${entry} is inside pi-crew's home (${crewHome()}), which a sandboxed worker cannot read`,
			hint: "move it to pi's extensions directory, e.g. ~/.pi/agent/extensions/",
		};
	return found;
}

/**
 * Each entry as a worker takes it (`-e`), and the problems of those that cannot be (file, line, field). An untrusted
 * repository's entries are kept as written, never looked up on disk: they never load (resources/validate.ts
 * checkExtensionTrust), and where its paths lead on this machine is none of the repository's business.
 */
export function resolveExtensions(
	entries: string[],
	file: string,
	scope: Scope,
	untrusted: boolean,
	lineOf: (path: (string | number)[]) => number | undefined,
): { extensions: string[]; problems: Problem[] } {
	const extensions: string[] = [];
	const problems: Problem[] = [];
	entries.forEach((entry, i) => {
		const at = { file, line: lineOf(["extensions", i]), field: `extensions.${i}` };
		if (PACKAGE.test(entry))
			problems.push({
				...at,
				message: `extension ${entry} is a pi package: workers load extensions from paths only`,
				hint: `install it once with \`pi install ${entry}\` (pi puts it under ~/.pi/agent/npm/ or ~/.pi/agent/git/) and name that path`,
			});
		else if (untrusted) extensions.push(entry);
		else {
			const found = resolvePath(entry, file, scope);
			if (typeof found === "string") extensions.push(found);
			else problems.push({ ...at, ...found });
		}
	});
	return { extensions, problems };
}
