/**
 * Creating, updating and deleting user or project resources (the `team` tool's create/update/delete). Content is
 * validated before anything is written, the write is atomic, and a change that would break another resource is
 * rolled back. Builtins are never edited; a project file may not shadow a builtin or user resource.
 */
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { crewHome } from "../config/config.js";
import { projectTrust } from "../config/trust.js";
import { loadCatalog } from "../resources/catalog.js";
import { KIND_SUFFIX, type Kind, parseResource } from "../resources/parse.js";
import { assertNoSymlinks, removeFile, writeFileAtomic } from "../util/safe-fs.js";
import { formatProblem } from "../util/yaml-source.js";
import { findRepo, UsageError } from "./index.js";

export type EditScope = "project" | "user";
const DIRS: Record<Kind, string> = { agent: "agents", team: "teams", workflow: "workflows" };
const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The file of a resource; no symlink on the way from the repository (or the crew home) to it. */
async function resourcePath(
	repo: string,
	kind: Kind,
	name: string,
	scope: EditScope,
): Promise<{ base: string; file: string }> {
	if (!NAME.test(name)) throw new UsageError(`invalid ${kind} name "${name}": lower-case letters, digits and '-'`);
	const base = scope === "project" ? repo : crewHome();
	const file = join(scope === "project" ? join(repo, ".crew") : base, DIRS[kind], `${name}${KIND_SUFFIX[kind]}`);
	await assertNoSymlinks(base, file);
	return { base, file };
}

async function catalogFor(repo: string) {
	return loadCatalog({ repo, trustProject: projectTrust(repo).trusted });
}

export interface WriteRequest {
	cwd?: string;
	kind: Kind;
	name: string;
	content: string;
	scope: EditScope;
	/** create: the file must not exist; update: it must. */
	mode: "create" | "update";
}

export async function writeResource(req: WriteRequest): Promise<string> {
	const repo = findRepo(req.cwd);
	const { base, file } = await resourcePath(repo, req.kind, req.name, req.scope);
	const parsed = parseResource(req.kind as "agent", req.content, file, req.scope);
	if (!parsed.def)
		throw new UsageError(
			`${req.kind} "${req.name}" is invalid:\n${parsed.problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`,
		);
	const previous = await readFile(file, "utf8").catch(() => undefined);
	if (req.mode === "create" && previous !== undefined) throw new UsageError(`${file} exists: use update`);
	if (req.mode === "update" && previous === undefined) throw new UsageError(`${file} does not exist: use create`);
	await writeFileAtomic(base, file, req.content);
	// Cross-references (a team's agents, a workflow's roles and DAG) are reported at the file that makes them, and a
	// shadowing project file is reported at itself: any problem there and the old state comes back.
	const own = (await catalogFor(repo)).problems.filter((p) => p.file === file);
	if (own.length > 0) {
		if (previous === undefined) await removeFile(base, file);
		else await writeFileAtomic(base, file, previous);
		throw new UsageError(
			`${req.kind} "${req.name}" was not saved:\n${own.map((p) => `  ${formatProblem(p)}`).join("\n")}`,
		);
	}
	return file;
}

export async function deleteResource(
	cwd: string | undefined,
	kind: Kind,
	name: string,
	scope: EditScope,
): Promise<string> {
	const repo = findRepo(cwd);
	const { base, file } = await resourcePath(repo, kind, name, scope);
	const catalog = await catalogFor(repo);
	const users =
		kind === "agent"
			? [...catalog.teams.values()].filter((t) => t.roles.some((r) => r.agent === name)).map((t) => `team ${t.name}`)
			: kind === "workflow"
				? [...catalog.teams.values()].filter((t) => t.defaultWorkflow === name).map((t) => `team ${t.name}`)
				: [];
	const def = { agent: catalog.agents, team: catalog.teams, workflow: catalog.workflows }[kind].get(name);
	if (def?.source.file === file && users.length > 0)
		throw new UsageError(`${kind} "${name}" is used by ${users.join(", ")}: change those first`);
	if (!(await lstat(file).catch(() => undefined))) throw new UsageError(`${file} does not exist`);
	await removeFile(base, file);
	return file;
}
