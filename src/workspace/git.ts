/**
 * git, as pi-crew runs it: no shell, a timeout, a scoped environment, and nothing configured ever runs. A worker (or a
 * repository that arrives with its `.git`) can write `.git/config` and attributes: filter, merge and diff drivers, an
 * fsmonitor, hooks. So every call gets PATH, HOME, the locale and only the `GIT_*` variables set here (never the
 * user's whole environment, its API keys); no system config, hooks, fsmonitor, signing, pager, prompts, transports,
 * submodule recursion or background maintenance; a call that touches working-tree files (`files`) has every filter
 * driver the configuration defines emptied; content is hashed without filters (workspace/snapshot.ts) and merged in a
 * repository of no configuration at all (`sterileGit`). docs/security.md.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OperationError } from "../util/errors.js";

const TIMEOUT_MS = 120_000;
const MAX_OUTPUT = 256 * 1024 * 1024;

/** Variables git may see from pi-crew's environment: where it is, whose config, which locale. No secrets. */
const PASSED = /^(PATH|HOME|XDG_CONFIG_HOME|LANG|LC_[A-Z_]+|TZ)$/;

/** Settings over whatever the configuration says: each would run a program or reach the network. */
const SAFE: [string, string][] = [
	["core.hooksPath", "/dev/null"],
	["core.fsmonitor", "false"],
	["commit.gpgSign", "false"],
	["protocol.allow", "never"],
	["submodule.recurse", "false"],
	["maintenance.auto", "false"],
	["core.pager", "cat"],
	// A change is found by stat data: a ctime cannot be set back, and a configuration must not make git ignore it.
	["core.trustctime", "true"],
	["core.checkStat", "default"],
	["core.ignoreStat", "false"],
];

export interface GitResult {
	code: number;
	stdout: string;
	stderr: string;
}

export interface GitOptions {
	/** Bytes for git's stdin. */
	input?: string | Buffer;
	/** More `GIT_*` variables (an index file, a git dir). */
	env?: Record<string, string>;
	/** The command reads or writes working-tree files (checkout, status, worktree add/remove, merge): defuse filters. */
	files?: boolean;
}

/** The environment of a pi-crew git call: `settings` passed as `GIT_CONFIG_*` (no parsing of `key=value`). */
function scopedEnv(settings: [string, string][], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [k, v] of Object.entries(process.env)) if (PASSED.test(k) && v !== undefined) env[k] = v;
	const all = [...SAFE, ...settings];
	all.forEach(([k, v], i) => {
		env[`GIT_CONFIG_KEY_${i}`] = k;
		env[`GIT_CONFIG_VALUE_${i}`] = v;
	});
	return { ...env, GIT_CONFIG_COUNT: String(all.length), GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0", ...extra };
}

/** Runs git with raw output bytes; resolves with its exit code (callers decide what a non-zero one means). */
export function gitBytes(
	cwd: string,
	args: string[],
	opts: GitOptions = {},
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
	const settings = opts.files ? defusedFilters(cwd) : Promise.resolve([]);
	return settings.then((extra) => spawnGit(cwd, args, scopedEnv(extra, opts.env), opts.input));
}

function spawnGit(cwd: string, args: string[], env: NodeJS.ProcessEnv, input?: string | Buffer) {
	return new Promise<{ code: number; stdout: Buffer; stderr: string }>((resolve, reject) => {
		const child = spawn("git", args, { cwd, env, stdio: ["pipe", "pipe", "pipe"], timeout: TIMEOUT_MS });
		const out: Buffer[] = [];
		let size = 0;
		let stderr = "";
		child.stdout.on("data", (d: Buffer) => {
			size += d.length;
			if (size > MAX_OUTPUT) child.kill("SIGKILL");
			else out.push(d);
		});
		child.stderr.on("data", (d: Buffer) => {
			if (stderr.length < 64 * 1024) stderr += d.toString();
		});
		child.stdin.on("error", () => undefined); // git may exit before reading all of it: its exit code says why
		child.stdin.end(input ?? "");
		child.on("error", (err) => reject(new OperationError(`git ${args[0]} failed: ${err.message}`)));
		child.on("close", (code, signal) => {
			if (code === null)
				return reject(new OperationError(`git ${args[0]} failed: killed by ${signal} (timeout or output too large)`));
			resolve({ code, stdout: Buffer.concat(out), stderr });
		});
	});
}

/**
 * Every filter driver the configuration defines, as git reads it in `cwd` (global, local and worktree config, their
 * includes), emptied: git then writes and reads files as they are. Drivers are looked up by the name an attribute
 * gives, so emptying each defined name leaves none that runs.
 */
async function defusedFilters(cwd: string): Promise<[string, string][]> {
	const r = await spawnGit(cwd, ["config", "-z", "--get-regexp", "^filter\\."], scopedEnv([]));
	if (r.code !== 0) return []; // 1: none defined
	const names = new Set<string>();
	for (const entry of r.stdout.toString().split("\0")) {
		const key = entry.split("\n", 1)[0] ?? "";
		if (key.startsWith("filter.") && key.lastIndexOf(".") > 6) names.add(key.slice(7, key.lastIndexOf(".")));
	}
	return [...names].flatMap((n): [string, string][] => [
		[`filter.${n}.clean`, ""],
		[`filter.${n}.smudge`, ""],
		[`filter.${n}.process`, ""],
		[`filter.${n}.required`, "false"],
	]);
}

/** Runs git in `cwd`; resolves with its exit code (callers decide what a non-zero one means). */
export async function gitRun(cwd: string, args: string[], opts: GitOptions = {}): Promise<GitResult> {
	const r = await gitBytes(cwd, args, opts);
	return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr };
}

/** Runs git and returns its output, or fails with git's own message. */
export async function git(cwd: string, args: string[], opts: GitOptions = {}): Promise<string> {
	const r = await gitRun(cwd, args, opts);
	if (r.code !== 0)
		throw new OperationError(`git ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim().split("\n")[0]}`);
	return r.stdout.trim();
}

/**
 * Runs git on `repo`'s objects in an empty repository of its own: no config (system, global or the repository's), no
 * attributes, so no merge driver, filter or textconv can run, whatever the repository's `.git` says. For commands
 * that only read and write objects (`merge-tree --write-tree`, `diff` of two trees). Output as raw bytes.
 */
export function sterileGit(repo: string, args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
	return inEmptyRepository(repo, args, { global: false });
}

/** The transports a push may use: git's own. Never `ext::` (a command line as a URL) or any other. */
const PUSH_PROTOCOLS = ["file", "ssh", "https", "http", "git"];

/**
 * Pushes `commit` to `url` as `refs/heads/<branch>` from an empty repository that shares `repo`'s objects: nothing
 * the repository configures is read (its hooks, `core.sshCommand`, `remote.*.receivepack`, `credential.*`, `url.*`),
 * only your own global config (your credential helper, your `insteadOf`), over git's own transports. To a repository
 * on this machine, its receive-pack runs with its hooks, automatic gc and alternate-refs command off: a worker could
 * have made that repository, and named it as a remote. Never forced: a branch that moved elsewhere is refused by git.
 */
export function sterilePush(repo: string, url: string, commit: string, branch: string): Promise<GitResult> {
	const local = url.startsWith("file://") || !/^[^/]*:/.test(url);
	const receive =
		"git -c core.hooksPath=/dev/null -c receive.autogc=false -c core.alternateRefsCommand=true -c receive.denyCurrentBranch=refuse receive-pack";
	const args = ["push", "--quiet", "--no-verify", ...(local ? [`--receive-pack=${receive}`] : [])];
	const settings = PUSH_PROTOCOLS.map((p): [string, string] => [`protocol.${p}.allow`, "always"]);
	return inEmptyRepository(repo, [...args, "--end-of-options", url, `${commit}:refs/heads/${branch}`], {
		global: true,
		settings,
	}).then((r) => ({ code: r.code, stdout: r.stdout.toString(), stderr: r.stderr }));
}

/** `args` in a fresh empty repository on `repo`'s objects; `global`: your global config is read (else none is). */
async function inEmptyRepository(
	repo: string,
	args: string[],
	opts: { global: boolean; settings?: [string, string][] },
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
	const objects = resolve(repo, await git(repo, ["rev-parse", "--git-path", "objects"]));
	const format = await git(repo, ["rev-parse", "--show-object-format"]);
	const dir = await mkdtemp(join(tmpdir(), "pi-crew-git-"));
	try {
		const empty = { GIT_CONFIG_GLOBAL: "/dev/null" };
		await spawnGit(
			dir,
			["init", "--quiet", "--bare", "--template=", `--object-format=${format}`, "."],
			scopedEnv([], empty),
		);
		const scope = opts.global ? {} : empty;
		const env = scopedEnv(opts.settings ?? [], { ...scope, GIT_DIR: dir, GIT_OBJECT_DIRECTORY: objects });
		return await spawnGit(dir, args, env);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}
