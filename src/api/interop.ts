/**
 * Bringing agents in and out: `pi-crew import --from pi-crew|claude DIR` converts another format's files into this
 * project's `.crew/` (or the user's resources), and `pi-crew export-agents --format claude|codex|cursor` writes our
 * agents in other tools' formats. Every file is validated as pi-crew would load it before anything is written.
 */
import { type Dirent, existsSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { crewHome } from "../config/home.js";
import {
	type Conversion,
	fromClaudeAgent,
	fromEarlierAgent,
	fromEarlierTeam,
	fromEarlierWorkflow,
	toTool,
} from "../resources/interop.js";
import { KIND_SUFFIX, parseResource } from "../resources/parse.js";
import { UsageError } from "../util/errors.js";
import { openExclusive, writeFileAtomic } from "../util/safe-fs.js";
import { formatProblem } from "../util/yaml-source.js";
import { findRepo, resources } from "./index.js";
import { writeCrewGitignore } from "./init.js";

export interface ImportRequest {
	cwd?: string;
	from: "pi-crew" | "claude";
	dir: string;
	/** Into the user's resources instead of this repository's `.crew/`. */
	user?: boolean;
	dryRun?: boolean;
	/** Replace files that exist (otherwise they are kept and reported). */
	force?: boolean;
}

export interface ImportedFile extends Omit<Conversion, "text" | "problems"> {
	source: string;
	target?: string;
	/** `skipped`: not a resource of its kind (a dynamic chain, documentation); `skip` says why. */
	outcome: "written" | "would write" | "kept (exists)" | "invalid" | "skipped";
	problems: string[];
}

const KIND_DIR = { agent: "agents", team: "teams", workflow: "workflows" } as const;

async function markdownFiles(dir: string): Promise<string[]> {
	const entries = (await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
		if (err.code === "ENOENT" || err.code === "ENOTDIR") return [];
		throw err;
	})) as Dirent[];
	return entries
		.filter((e) => e.isFile() && e.name.endsWith(".md"))
		.map((e) => join(dir, e.name))
		.sort();
}

/** The files to convert: Claude agents in DIR (or DIR/.claude/agents); earlier pi-crew's agents/, teams/, workflows/. */
async function sources(
	req: ImportRequest,
	dir: string,
): Promise<[string, (text: string, file: string) => Conversion][]> {
	if (req.from === "claude") {
		const nested = await markdownFiles(join(dir, ".claude", "agents"));
		const files = nested.length > 0 ? nested : await markdownFiles(dir);
		return files.map((f) => [f, (text, file) => fromClaudeAgent(text, file)]);
	}
	const agents = (await markdownFiles(join(dir, "agents"))).filter((f) => !/\.(team|workflow)\.md$/.test(f));
	return [
		...agents.map((f): [string, typeof fromEarlierAgent] => [f, fromEarlierAgent]),
		...(await markdownFiles(join(dir, "teams"))).map((f): [string, typeof fromEarlierTeam] => [f, fromEarlierTeam]),
		...(await markdownFiles(join(dir, "workflows"))).map((f): [string, typeof fromEarlierWorkflow] => [
			f,
			fromEarlierWorkflow,
		]),
	];
}

export async function importResources(req: ImportRequest): Promise<ImportedFile[]> {
	const repo = findRepo(req.cwd);
	const dir = resolve(req.cwd ?? process.cwd(), req.dir);
	const base = req.user ? crewHome() : repo;
	const root = req.user ? base : join(repo, ".crew");
	const found = await sources(req, dir);
	if (found.length === 0)
		throw new UsageError(
			req.from === "claude"
				? `no Claude Code agents in ${dir} (looked for *.md there and in .claude/agents/)`
				: `no earlier pi-crew resources in ${dir} (looked in agents/, teams/ and workflows/)`,
		);
	const report: ImportedFile[] = [];
	for (const [file, convert] of found) {
		const conversion = convert(await readFile(file, "utf8"), file);
		const { text, problems, ...rest } = conversion;
		const entry: ImportedFile = { ...rest, source: file, outcome: "invalid", problems: problems.map(formatProblem) };
		report.push(entry);
		if (conversion.skip) entry.outcome = "skipped";
		if (!text || !conversion.name) continue;
		const target = join(root, KIND_DIR[conversion.kind], `${conversion.name}${KIND_SUFFIX[conversion.kind]}`);
		entry.target = relative(process.cwd(), target) || target;
		// Validated as pi-crew will load it; an invalid conversion is reported, never written.
		const parsed = parseResource(conversion.kind as "agent", text, target, req.user ? "user" : "project");
		entry.problems.push(...parsed.problems.map(formatProblem));
		if (!parsed.def) continue;
		if (req.dryRun) {
			entry.outcome = "would write";
			continue;
		}
		// A repository's first pi-crew files: its runs stay out of git, as after `init`.
		if (!req.user) await writeCrewGitignore(repo);
		if (req.force) {
			await writeFileAtomic(base, target, text);
			entry.outcome = "written";
			continue;
		}
		entry.outcome = await openExclusive(base, target).then(
			async (handle) => {
				await handle.writeFile(text).finally(() => handle.close());
				return "written" as const;
			},
			(err: NodeJS.ErrnoException) => {
				if (err.code === "EEXIST") return "kept (exists)" as const;
				throw err;
			},
		);
	}
	return report;
}

/** The directories other tools read their agent files from, inside a project or a home directory. */
const FORMAT_DIRS = [".claude/agents", ".cursor/rules"];

/**
 * Our agents (those this repository can use) in another tool's format, under `out` (default: the repository) as that
 * tool lays them out, or in `out` itself when it is such a tool's directory; the files written.
 */
export async function exportAgents(
	cwd: string | undefined,
	format: "claude" | "codex" | "cursor",
	out: string | undefined,
	options: { names?: string[]; force?: boolean } = {},
): Promise<string[]> {
	const { names } = options;
	const catalog = await resources(cwd);
	const agents = [...catalog.agents.values()].filter((a) => !names || names.includes(a.name));
	if (names) {
		const missing = names.filter((n) => !catalog.agents.has(n));
		if (missing.length > 0) throw new UsageError(`unknown agent(s): ${missing.join(", ")}`);
	}
	const target = resolve(cwd ?? process.cwd(), out ?? findRepo(cwd));
	await mkdir(target, { recursive: true });
	const files = new Map<string, string>();
	for (const agent of agents) {
		const { path, text } = toTool(agent, format);
		// `--out ~/.claude/agents` is the agents directory itself, not a project holding one.
		const into = FORMAT_DIRS.find((dir) => path.startsWith(`${dir}/`) && target.endsWith(join("/", dir)));
		const rel = into ? path.slice(into.length + 1) : path;
		files.set(rel, files.has(rel) ? `${files.get(rel)}\n${text}` : text);
	}
	// Nothing is replaced unless asked (`--force`): the default target is the repository, where an AGENTS.md or a
	// .claude/agents file of the same name is the user's own.
	const clashes = [...files.keys()].filter((path) => existsSync(join(target, path)));
	if (clashes.length > 0 && !options.force)
		throw new UsageError(
			`${clashes.map((p) => join(target, p)).join(", ")} exist(s): pass --force to replace, or --out DIR`,
		);
	const written: string[] = [];
	for (const [path, text] of files) {
		const body = format === "codex" ? `# Agents\n\nRoles this project's pi-crew defines.\n\n${text}` : text;
		written.push(await writeFileAtomic(target, join(target, path), body));
	}
	return written;
}
