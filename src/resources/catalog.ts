/**
 * Discovery: builtin < user < project. The user may override builtins; a project (a cloned, possibly hostile repo)
 * may only add new names unless the user trusts it: a project file that would shadow a builtin or user resource,
 * or look like one, is ignored and reported.
 */
import { lstat, readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crewHome } from "../config/home.js";
import type { Problem } from "../util/yaml-source.js";
import { fromClaudeAgent } from "./interop.js";
import { looksLike } from "./lookalike.js";
import { KIND_SUFFIX, type Kind, type Parsed, parseResource } from "./parse.js";
import type { AgentDef, Scope, TeamDef, WorkflowDef } from "./schema.js";
import { crossCheck } from "./validate.js";

export const BUILTIN_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "builtin");

export interface Catalog {
	agents: Map<string, AgentDef>;
	teams: Map<string, TeamDef>;
	workflows: Map<string, WorkflowDef>;
	/** Every problem found, errors and warnings, each with file, line, field and a hint. */
	problems: Problem[];
}

export interface CatalogOptions {
	repo: string;
	home?: string;
	/** Whether the user's config trusts this repository to shadow builtin and user resources. */
	trustProject: boolean;
	builtinDir?: string;
	/** Claude Code subagents read as agents (config `claude`): the user's, and a trusted repository's. */
	claude?: ClaudeAgents;
}

export interface ClaudeAgents {
	userAgents: boolean;
	projectAgents: boolean;
	/** `~/.claude` (tests point it elsewhere). */
	userDir?: string;
}

const DIRS: Record<Kind, string> = { agent: "agents", team: "teams", workflow: "workflows" };

export async function loadCatalog(opts: CatalogOptions): Promise<Catalog> {
	const roots: [Scope, string][] = [
		["builtin", opts.builtinDir ?? BUILTIN_DIR],
		["user", opts.home ?? crewHome()],
		["project", join(opts.repo, ".crew")],
	];
	const catalog: Catalog = { agents: new Map(), teams: new Map(), workflows: new Map(), problems: [] };
	const maps = { agent: catalog.agents, team: catalog.teams, workflow: catalog.workflows } as Record<
		Kind,
		Map<string, AgentDef | TeamDef | WorkflowDef>
	>;
	const claude = opts.claude ?? { userAgents: true, projectAgents: true };
	for (const kind of ["agent", "team", "workflow"] as const) {
		// Claude Code's agents sit below pi-crew's of the same layer; a repository's only when the user trusts it.
		const layers: [Scope, string, "claude"?][] =
			kind !== "agent"
				? roots
				: roots.flatMap(([scope, root]): [Scope, string, "claude"?][] => {
						const own: [Scope, string] = [scope, root];
						if (scope === "user" && claude.userAgents)
							return [[scope, join(claude.userDir ?? join(homedir(), ".claude"), ""), "claude"], own];
						if (scope === "project" && claude.projectAgents && opts.trustProject)
							return [[scope, join(opts.repo, ".claude"), "claude"], own];
						return [own];
					});
		for (const [scope, root, format] of layers) {
			const listed = await listKind(join(root, DIRS[kind]), kind, scope === "project");
			catalog.problems.push(...listed.problems);
			for (const file of listed.files) {
				const text = await readResource(file);
				if (typeof text !== "string") {
					catalog.problems.push(text);
					continue;
				}
				const untrusted = scope === "project" && !opts.trustProject;
				const parsed = format
					? claudeAgent(text, file, scope)
					: parseResource(kind as "agent", text, file, scope, { untrusted });
				catalog.problems.push(...parsed.problems);
				if (!parsed.def) continue;
				const map = maps[kind];
				const clash = untrusted ? lookalike(map, parsed.def.name) : undefined;
				if (clash) {
					catalog.problems.push({
						severity: "warning",
						file,
						line: parsed.def.source.lineOf(["name"]),
						field: "name",
						message: `ignored: project ${kind} "${parsed.def.name}" would shadow the ${clash.source.scope} ${kind} "${clash.name}"`,
						hint: "rename it, or trust this repository (/trust in pi, or: pi-crew trust)",
					});
					continue;
				}
				map.set(parsed.def.name, parsed.def);
			}
		}
	}
	catalog.problems.push(...crossCheck(catalog));
	return catalog;
}

/** The largest resource file read: a prompt and its fields fit in far less; a larger file is reported and skipped. */
export const MAX_RESOURCE_BYTES = 256 * 1024;
/** The most resource files of one kind read from one directory (in name order); the rest are reported. */
export const MAX_RESOURCE_FILES = 500;

/** A resource file's text, or the problem that it cannot be read or is too large to be. */
async function readResource(file: string): Promise<string | Problem> {
	const info = await stat(file).catch((err: Error) => err);
	if (info instanceof Error)
		return { file, message: `cannot read: ${info.message}`, hint: "fix its permissions or remove it" };
	if (info.size > MAX_RESOURCE_BYTES)
		return {
			file,
			message: `not read: ${info.size} bytes, more than ${MAX_RESOURCE_BYTES / 1024} KiB`,
			hint: "a resource is a prompt and a few fields: shorten it, or split it into several",
		};
	const text = await readFile(file, "utf8").catch((err: Error) => err);
	return text instanceof Error
		? { file, message: `cannot read: ${text.message}`, hint: "fix its permissions or remove it" }
		: text;
}

/**
 * The resource files of one kind in `dir`. Anything that is not a plain file is reported, not read: a directory named
 * `x.md`, and in a repository (untrusted) a symlink, which could point at any file on the machine.
 */
async function listKind(
	dir: string,
	kind: Kind,
	untrusted: boolean,
): Promise<{ files: string[]; problems: Problem[] }> {
	const problems: Problem[] = [];
	if (
		untrusted &&
		(await lstat(dir).then(
			(i) => i.isSymbolicLink(),
			() => false,
		))
	) {
		problems.push({
			severity: "warning",
			file: dir,
			message: "ignored: a repository's resource directory may not be a symlink",
		});
		return { files: [], problems };
	}
	const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
		if (err.code === "ENOENT" || err.code === "ENOTDIR") return [];
		throw err;
	});
	const suffix = KIND_SUFFIX[kind];
	// An agent is any .md that is not a team or workflow file, so agents/ may hold notes named *.team.md by mistake.
	const other = Object.entries(KIND_SUFFIX)
		.filter(([k, s]) => k !== kind && s.length > suffix.length)
		.map(([, s]) => s);
	const files: string[] = [];
	for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
		if (!entry.name.endsWith(suffix) || other.some((s) => entry.name.endsWith(s))) continue;
		const file = join(dir, entry.name);
		if (entry.isFile()) files.push(file);
		else if (entry.isSymbolicLink() && !untrusted) files.push(file);
		else
			problems.push({
				severity: "warning",
				file,
				message: entry.isSymbolicLink()
					? "ignored: a repository's resource may not be a symlink"
					: "ignored: not a file",
			});
	}
	if (files.length > MAX_RESOURCE_FILES)
		problems.push({
			severity: "warning",
			file: dir,
			message: `ignored: ${files.length - MAX_RESOURCE_FILES} of its ${files.length} ${kind} files: at most ${MAX_RESOURCE_FILES} are read, in name order`,
			hint: `keep at most ${MAX_RESOURCE_FILES} ${kind} files in ${dir}`,
		});
	return { files: files.slice(0, MAX_RESOURCE_FILES), problems };
}

/** The builtin or user resource `name` imitates (the same name, or a look-alike: see lookalike.ts). */
function lookalike<T extends { name: string; source: { scope: Scope } }>(
	map: Map<string, T>,
	name: string,
): T | undefined {
	const exact = map.get(name);
	if (exact && exact.source.scope !== "project") return exact;
	for (const def of map.values()) if (def.source.scope !== "project" && looksLike(name, def.name)) return def;
	return undefined;
}

/** A Claude Code subagent, converted and then parsed as any agent (its file name need not be its name). */
function claudeAgent(text: string, file: string, scope: Scope): Parsed<AgentDef> {
	const converted = fromClaudeAgent(text, file);
	if (!converted.text) return { problems: converted.problems };
	const parsed = parseResource("agent", converted.text, file, scope, { nameFromFile: false });
	return { ...parsed, problems: [...converted.problems, ...parsed.problems] };
}
