/**
 * The OS sandbox around every child worker: bubblewrap (Linux), driven directly (docs/design.md says why not a
 * library). A worker writes only its task's directory and a temp directory of its own; inside the task's directory the
 * repository's git dir and run store are read-only again; pi-crew's home is absent; pi's agent dir is read-only under
 * a scratch layer (pi takes lock files beside its settings, and they vanish with the worker); the rest of the file
 * system is read-only. A new pid namespace and --die-with-parent end everything inside when the worker's process
 * group is killed (cancel, timeout) or the coordinator dies (kill -9), which replaces the guard's orphan check there.
 */
import { execFile } from "node:child_process";
import { lstat, mkdir, readdir, readFile, realpath } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { crewHome, piAgentDir, type SandboxMode, type SandboxNetwork } from "../config/home.js";
import { UsageError } from "../util/errors.js";
import { which } from "./host-pi.js";
import type { TaskSpec } from "./runtime.js";

export type SandboxProbe = { ok: true; bwrap: string } | { ok: false; reason: string; hint: string };

/** The namespaces and mounts every sandbox starts from (the probe starts exactly these). */
const BASE = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--ro-bind", "/", "/", "--dev", "/dev"];
const PROBE_TIMEOUT_MS = 15_000;

let probed: Promise<SandboxProbe> | undefined;

/** Whether a sandbox can start here (bubblewrap on PATH, and it can make its namespaces): probed once per process. */
export function probeSandbox(): Promise<SandboxProbe> {
	probed ??= probe(process.env);
	return probed;
}

async function probe(env: NodeJS.ProcessEnv): Promise<SandboxProbe> {
	if (process.platform !== "linux")
		return {
			ok: false,
			reason: `no sandbox on ${process.platform}: pi-crew's sandbox is bubblewrap, on Linux`,
			hint: "workers there are confined by their tools' path checks only (docs/security.md#sandbox)",
		};
	const bwrap = which("bwrap", env.PATH ?? "");
	if (!bwrap)
		return {
			ok: false,
			reason: "bubblewrap (bwrap) is not on PATH",
			hint: "install it (Debian, Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)",
		};
	try {
		await promisify(execFile)(bwrap, [...BASE, "--proc", "/proc", "--", "/bin/sh", "-c", ":"], {
			timeout: PROBE_TIMEOUT_MS,
		});
		return { ok: true, bwrap };
	} catch (err) {
		const why = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split("\n")[0];
		return {
			ok: false,
			reason: `bubblewrap cannot make a sandbox here (${why})`,
			hint: "user namespaces may be off: sysctl kernel.unprivileged_userns_clone=1 (Debian), or kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04)",
		};
	}
}

export interface SandboxChoice {
	sandbox?: Sandbox;
	/** Why workers run without the sandbox the config asked for (`auto` where none can start): said once per run. */
	unavailable?: string;
}

/**
 * The sandbox of a run's child workers for the config's `mode`: none when `off`; when none can start, none and why
 * (`auto`), or a UsageError that refuses the run (`required`, set at `source`).
 */
export async function chooseSandbox(
	mode: SandboxMode,
	network: SandboxNetwork,
	source: string,
): Promise<SandboxChoice> {
	if (mode === "off") return {};
	const found = await probeSandbox();
	if (found.ok) return { sandbox: new Sandbox(found.bwrap, network) };
	if (mode === "required")
		throw new UsageError(
			`cannot start the run: sandbox is required (${source}) but ${found.reason}; ${found.hint}, or set sandbox: auto in your config to run workers unsandboxed`,
		);
	return { unavailable: `workers run without a sandbox: ${found.reason}; ${found.hint}` };
}

interface Mount {
	how: "write" | "read" | "absent";
	path: string;
}
const STRICTNESS: Record<Mount["how"], number> = { write: 0, read: 1, absent: 2 };

export class Sandbox {
	constructor(
		readonly bwrap: string,
		readonly network: SandboxNetwork,
	) {}

	/** `command args` run for `spec` inside the sandbox, writing only its directory and `tmp` (`env`: the worker's). */
	async wrap(
		command: string,
		args: string[],
		spec: Pick<TaskSpec, "cwd" | "repo">,
		tmp: string,
		env: NodeJS.ProcessEnv,
	): Promise<{ command: string; args: string[] }> {
		const mounts = await layout(spec, tmp, env);
		const binds = mounts.flatMap((m) =>
			m.how === "write"
				? ["--bind", m.path, m.path]
				: m.how === "read"
					? ["--ro-bind", m.path, m.path]
					: ["--tmpfs", m.path],
		);
		const net = this.network === "none" ? ["--unshare-net"] : [];
		const cwd = await realpath(spec.cwd);
		return {
			command: this.bwrap,
			args: [...BASE, ...net, "--proc", "/proc", ...binds, "--chdir", cwd, "--", command, ...args],
		};
	}
}

/**
 * The mounts over the read-only root, parents before children (a later mount covers an earlier one): crew home
 * absent, then a task directory inside it writable, then the git dir inside that read-only again.
 */
export async function layout(
	spec: Pick<TaskSpec, "cwd" | "repo">,
	tmp: string,
	env: NodeJS.ProcessEnv,
): Promise<Mount[]> {
	const real = (path: string) => realpath(path).catch(() => undefined);
	const cwd = await realpath(spec.cwd);
	const repo = await realpath(spec.repo);
	const mounts: Mount[] = [
		{ how: "write", path: cwd },
		{ how: "write", path: await realpath(tmp) },
	];
	const read = (path: string | undefined) => path && mounts.push({ how: "read", path });
	read(await real(join(repo, ".crew")));
	for (const dir of new Set([cwd, repo])) for (const path of await gitPaths(dir)) read(path);
	const home = await real(crewHome(env));
	if (home) mounts.push({ how: "absent", path: home });
	// pi writes lock files (and an empty auth.json) beside its settings: they land in a scratch layer over the agent
	// dir, while its own files are bound read-only (a worker must never change pi's settings: they run code).
	// pi makes its agent dir when it is missing: made here, since nothing can be made in the sandbox's read-only root.
	await mkdir(piAgentDir(env), { recursive: true, mode: 0o700 });
	const agent = await real(piAgentDir(env));
	if (agent) {
		mounts.push({ how: "absent", path: agent });
		for (const name of await readdir(agent).catch(() => [] as string[])) {
			const path = join(agent, name);
			if (!name.endsWith(".lock") && path !== home) read(path);
		}
	}
	const strictest = new Map<string, Mount>();
	for (const m of mounts) {
		const had = strictest.get(m.path);
		if (!had || STRICTNESS[m.how] > STRICTNESS[had.how]) strictest.set(m.path, m);
	}
	const depth = (path: string) => path.split(sep).length;
	return [...strictest.values()].sort((a, b) => depth(a.path) - depth(b.path));
}

/**
 * The git paths of the checkout or worktree at `dir`, real: its `.git` (directory, or a worktree's file), the git dir
 * that file names, and the common git dir of both. Read from the files, as git does: no git runs here.
 */
async function gitPaths(dir: string): Promise<string[]> {
	const dotGit = join(dir, ".git");
	const info = await lstat(dotGit).catch(() => undefined);
	if (!info) return [];
	let gitDir = dotGit;
	if (info.isFile()) {
		const named = /^gitdir:\s*(.+?)\s*$/m.exec(await readFile(dotGit, "utf8").catch(() => ""))?.[1];
		if (!named) return [dotGit];
		gitDir = resolve(dir, named);
	}
	const common = (await readFile(join(gitDir, "commondir"), "utf8").catch(() => "")).trim();
	const paths = [dotGit, gitDir, ...(common ? [resolve(gitDir, common)] : [])];
	const real = await Promise.all(paths.map((p) => realpath(p).catch(() => undefined)));
	return [...new Set(real.filter((p): p is string => p !== undefined))];
}
