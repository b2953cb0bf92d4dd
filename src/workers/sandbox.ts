/**
 * The OS sandbox around every child worker: bubblewrap (Linux), driven directly (docs/design.md says why not a
 * library). A worker writes only its task's directory and a temp directory of its own; inside the task's directory the
 * repository's git dir and run store are read-only again; pi-crew's home is absent; pi's agent dir is read-only under
 * a scratch layer (pi takes lock files beside its settings, and they vanish with the worker); the rest of the file
 * system is read-only. A new pid namespace and --die-with-parent end everything inside when the worker's process
 * group is killed (cancel, timeout) or the coordinator dies (kill -9), which replaces the guard's orphan check there.
 */
import { lstat, mkdir, readdir, readFile, realpath } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { crewHome, piAgentDir, type SandboxMode, type SandboxNetwork } from "../config/home.js";
import { UsageError } from "../util/errors.js";
import { which } from "./host-pi.js";
import type { Program, TaskSpec } from "./runtime.js";
import { killGroup, spawnProgram } from "./spawn.js";

/**
 * The seccomp filter every sandboxed program gets: no `socket(AF_UNIX, ...)`. A Unix socket on a read-only mount can
 * still be connected to, and one (tmux's, the systemd user bus, Docker's) or an abstract one runs commands outside the
 * sandbox. `socketpair` (the pipes of a program's children) stays allowed; io_uring (which can open sockets past the
 * filter) and syscalls of another ABI (i386, x32) are refused too. Per architecture: its audit id and `socket` number.
 */
const SOCKET_FILTER_ARCH: Partial<Record<NodeJS.Architecture, { audit: number; socket: number }>> = {
	x64: { audit: 0xc000003e, socket: 41 },
	arm64: { audit: 0xc00000b7, socket: 198 },
};
const IO_URING_SETUP = 425;
const AF_UNIX = 1;
const EACCES = 13;

/** The filter as classic BPF (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k), or undefined on other machines. */
export function socketFilter(arch: NodeJS.Architecture = process.arch): Buffer | undefined {
	const ids = SOCKET_FILTER_ARCH[arch];
	if (!ids) return undefined;
	const [LD_ABS, JEQ, JGE, RET] = [0x20, 0x15, 0x35, 0x06];
	const ALLOW = 0x7fff0000;
	const DENY = 0x00050000 | EACCES; // SECCOMP_RET_ERRNO
	// Jump offsets count from the next instruction: 8 is ALLOW, 9 is DENY.
	const program: [number, number, number, number][] = [
		[LD_ABS, 0, 0, 4], // 0: seccomp_data.arch
		[JEQ, 0, 7, ids.audit], // 1: another ABI: deny
		[LD_ABS, 0, 0, 0], // 2: seccomp_data.nr
		[JGE, 5, 0, 0x40000000], // 3: x32 syscall numbers: deny
		[JEQ, 4, 0, IO_URING_SETUP], // 4: io_uring: deny
		[JEQ, 0, 2, ids.socket], // 5: not socket(): allow
		[LD_ABS, 0, 0, 16], // 6: socket()'s domain (args[0], low half)
		[JEQ, 1, 0, AF_UNIX], // 7: AF_UNIX: deny, else allow
		[RET, 0, 0, ALLOW],
		[RET, 0, 0, DENY],
	];
	const out = Buffer.alloc(program.length * 8);
	program.forEach(([code, jt, jf, k], i) => {
		out.writeUInt16LE(code, i * 8);
		out.writeUInt8(jt, i * 8 + 2);
		out.writeUInt8(jf, i * 8 + 3);
		out.writeUInt32LE(k >>> 0, i * 8 + 4);
	});
	return out;
}

export type SandboxProbe = { ok: true; bwrap: string } | { ok: false; reason: string; hint: string };

/** The namespaces and mounts every sandbox starts from (the probe starts exactly these). */
const BASE = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--ro-bind", "/", "/", "--dev", "/dev"];
const PROBE_TIMEOUT_MS = 15_000;

let probed: Promise<SandboxProbe> | undefined;

/**
 * Whether a sandbox can start here (bubblewrap on PATH, and it can make its namespaces and load its filter). A success
 * is kept for the process; a failure is probed again next time (bubblewrap installed since, a probe timed out once).
 */
export function probeSandbox(): Promise<SandboxProbe> {
	const current = probed ?? probe(process.env);
	probed = current;
	void current.then((found) => {
		if (!found.ok && probed === current) probed = undefined;
	});
	return current;
}

async function probe(env: NodeJS.ProcessEnv): Promise<SandboxProbe> {
	if (process.platform !== "linux")
		return {
			ok: false,
			reason: `no sandbox on ${process.platform}: pi-crew's sandbox is bubblewrap, on Linux`,
			hint: "workers there are confined by their tools' path checks only (docs/security.md#sandbox)",
		};
	if (!socketFilter())
		return {
			ok: false,
			reason: `no sandbox on ${process.arch}: pi-crew's socket filter knows x64 and arm64`,
			hint: "workers there are confined by their tools' path checks only (docs/security.md#sandbox)",
		};
	const bwrap = which("bwrap", env.PATH ?? "");
	if (!bwrap)
		return {
			ok: false,
			reason: "bubblewrap (bwrap) is not on PATH",
			hint: "install it (Debian, Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)",
		};
	const filter = socketFilter() as Buffer;
	const args = [...BASE, "--seccomp", "3", "--proc", "/proc", "--", "/bin/sh", "-c", ":"];
	const child = spawnProgram({ command: bwrap, args, seccomp: filter }, { cwd: "/", env: process.env });
	let stderr = "";
	child.stderr.on("data", (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	child.stdout.resume();
	const timer = setTimeout(() => child.pid && killGroup(child.pid, 0), PROBE_TIMEOUT_MS);
	const [code, failed] = await new Promise<[number | null, Error | undefined]>((done) => {
		child.once("error", (err) => done([null, err]));
		child.once("close", (exit) => done([exit, undefined]));
	});
	clearTimeout(timer);
	if (code === 0) return { ok: true, bwrap };
	const why = (stderr.trim() || failed?.message || `exit ${code ?? "by a signal (timed out?)"}`).split("\n")[0];
	return {
		ok: false,
		reason: `bubblewrap cannot make a sandbox here (${why})`,
		hint: "user namespaces may be off: sysctl kernel.unprivileged_userns_clone=1 (Debian), or kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04)",
	};
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
	): Promise<Program> {
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
			args: [...BASE, ...net, "--seccomp", "3", "--proc", "/proc", ...binds, "--chdir", cwd, "--", command, ...args],
			seccomp: socketFilter(),
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
			// By real path: pi-crew's home (or what holds it) stays absent when a link in the agent dir leads to it.
			const target = await real(path);
			if (name.endsWith(".lock") || !target || (home && (target === home || home.startsWith(`${target}${sep}`))))
				continue;
			read(path);
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
