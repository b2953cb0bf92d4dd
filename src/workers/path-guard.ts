/**
 * The path wall of a worker's file tools, for both runtimes: `write` and `edit` land only inside the task's directory
 * and never in git's or pi-crew's own files there; `read`, `grep`, `find` and `ls` never reach pi-crew's home (its
 * key). Checked on real paths, before pi runs the tool (pi's `tool_call` event). bash cannot be path-checked: the
 * OS sandbox is its wall (docs/security.md).
 */
import { lstat, realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { crewHome } from "../config/home.js";
import type { ExtensionAPI } from "../host.js";
import { gitRun } from "../workspace/git.js";

/** Where the child guard learns its task's directory and repository (set by workerEnv). */
export const TASK_DIR_ENV = "PI_CREW_TASK_DIR";
export const REPO_ENV = "PI_CREW_REPO";

const WRITING = new Set(["write", "edit"]);
const READING = new Set(["read", "grep", "find", "ls"]);
/** Names of directories that are never a task's to change, wherever they sit in its directory. */
const OFF_LIMITS = new Set([".git", ".crew"]);

/** The real paths a task's file tools are checked against, resolved once when its session starts. */
export interface GuardRoots {
	/** The task's directory (its worktree, or the checkout for a shared task); undefined: it could not be resolved. */
	taskDir?: string;
	/** git's directories for the task's directory (its git dir and the common dir), pi-crew's home, the run store. */
	protected: string[];
	crewHome: string;
}

/** Resolves the roots of a task working in `cwd` of repository `repo`. */
export async function guardRoots(cwd: string | undefined, repo: string | undefined): Promise<GuardRoots> {
	const home = await realOrSelf(crewHome());
	const taskDir = cwd ? await realpath(cwd).catch(() => undefined) : undefined;
	const gitDirs = taskDir ? await gitDirsOf(taskDir) : [];
	const store = repo ? [join(await realOrSelf(repo), ".crew")] : [];
	return { taskDir, protected: [...gitDirs, home, ...store], crewHome: home };
}

async function gitDirsOf(dir: string): Promise<string[]> {
	const r = await gitRun(dir, ["rev-parse", "--git-dir", "--git-common-dir"]).catch(() => undefined);
	if (r?.code !== 0) return [];
	const dirs = r.stdout.split("\n").filter(Boolean);
	return Promise.all(dirs.map((d) => realOrSelf(resolve(dir, d))));
}

/**
 * pi's own reading of a tool's path (`resolveToCwd` in pi's tools): unicode spaces as spaces, a leading `@` dropped,
 * `~` for the home directory, `file://` URLs; relative to `cwd`. The checked path is handed to the tool as is, so a
 * difference in spelling cannot make pi act on another file than the one checked.
 */
export function toolPath(input: string, cwd: string): string {
	let p = input.replace(/[\u00A0\u2000-\u200A\u202F\u205F\u3000]/g, " ");
	if (p.startsWith("@")) p = p.slice(1);
	if (p === "~") p = homedir();
	else if (p.startsWith("~/")) p = join(homedir(), p.slice(2));
	else if (/^file:\/\//.test(p)) p = fileURLToPath(p);
	return isAbsolute(p) ? resolve(p) : resolve(cwd, p);
}

function within(parent: string, child: string): boolean {
	const rel = relative(parent, child);
	return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

async function realOrSelf(path: string): Promise<string> {
	return realpath(path).catch(() => path);
}

/** The real path of `path` where it exists; else its deepest existing ancestor's real path plus the rest. */
async function realTarget(path: string): Promise<string> {
	const rest: string[] = [];
	for (let at = path; ; at = dirname(at)) {
		const real = await realpath(at).catch(() => undefined);
		if (real !== undefined) return join(real, ...rest.reverse());
		if (dirname(at) === at) return path;
		rest.push(basename(at));
	}
}

/** Why a write or edit of `path` (absolute, as pi reads it) is refused; undefined: allowed. */
async function refuseWrite(roots: GuardRoots, path: string): Promise<{ reason?: string; real: string }> {
	const real = join(await realTarget(dirname(path)), basename(path));
	const { taskDir } = roots;
	if (!taskDir) return { real, reason: `pi-crew: the task's directory is unknown, so no write is allowed: ${path}` };
	if (!within(taskDir, real))
		return {
			real,
			reason: `pi-crew: write outside the task's directory ${taskDir} refused: ${path}${real === path ? "" : ` (that is ${real})`}`,
		};
	const named = relative(taskDir, real)
		.split(sep)
		.find((part) => OFF_LIMITS.has(part));
	// A protected directory that holds the task's directory (a worktree under git's dir or pi-crew's home) guards the
	// rest of itself through the check above; inside the task's directory it is off limits.
	const guarded = roots.protected.find((dir) => within(dir, real) && !within(dir, taskDir));
	if (named || guarded)
		return {
			real,
			reason: `pi-crew: write to ${path} refused: ${named ? `a ${named} directory` : guarded} holds git's or pi-crew's own files, never a task's work`,
		};
	const stat = await lstat(real).catch(() => undefined);
	if (stat?.isSymbolicLink()) return { real, reason: `pi-crew: write through the link ${path} refused` };
	return { real };
}

/** Why a read (or search, or listing) of `path` is refused: pi-crew's home holds the key that marks runs as yours. */
async function refuseRead(roots: GuardRoots, tool: string, path: string): Promise<{ reason?: string; real: string }> {
	// pi's read tries other spellings of a path that does not exist (an AM/PM one with U+202F, NFD, curly quotes):
	// one of them may be a link out. Its resolver is not exported, so a read is allowed only of a path that exists.
	if (tool === "read" && !(await realpath(path).catch(() => undefined)))
		return { real: path, reason: `pi-crew: read of ${path} refused: no such file (pi would try other spellings)` };
	const real = await realTarget(path);
	const { crewHome: home, taskDir } = roots;
	const inHome = within(home, real) && !(taskDir && within(taskDir, real));
	// grep and find walk directories, hidden ones included: a search from above pi-crew's home would reach into it.
	const above = (tool === "grep" || tool === "find") && within(real, home);
	if (inHome || above) return { real, reason: `pi-crew: ${tool} of pi-crew's home ${home} refused: ${path}` };
	return { real };
}

/**
 * Checks one tool call against the roots: a reason when it is refused; otherwise the call's path is set to the real
 * path that was checked (pi then acts on exactly that file).
 */
export async function checkToolCall(
	roots: GuardRoots,
	tool: string,
	input: Record<string, unknown>,
	cwd: string,
): Promise<string | undefined> {
	if (!WRITING.has(tool) && !READING.has(tool)) return undefined;
	const given = input.path;
	if (given !== undefined && typeof given !== "string") return undefined; // pi's schema refuses it first
	const path = toolPath(given ?? ".", cwd);
	const { reason, real } = WRITING.has(tool) ? await refuseWrite(roots, path) : await refuseRead(roots, tool, path);
	if (reason) return reason;
	if (given !== undefined) input.path = real;
	return undefined;
}

/** Puts the wall in front of a session's file tools (`roots` may still be resolving: calls wait for it). */
export function guardFileTools(pi: ExtensionAPI, roots: Promise<GuardRoots>, cwd: string): void {
	pi.on("tool_call", async (event) => {
		const reason = await checkToolCall(await roots, event.toolName, event.input as Record<string, unknown>, cwd);
		return reason ? { block: true, reason } : undefined;
	});
}
