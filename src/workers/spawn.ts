/**
 * How pi-crew starts a program a task runs (its worker, its verify command): detached in a process group of its own
 * (a cancel or timeout kills the group), stdin closed (or piped: a worker's conversation), stdout and stderr piped; a
 * sandboxed program's seccomp filter handed to bubblewrap on fd 3.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { Program } from "./runtime.js";

const KILL_GRACE_MS = 2000;

export function spawnProgram(
	program: Program,
	{ input, ...options }: { cwd: string; env: NodeJS.ProcessEnv; input?: boolean },
): ChildProcessByStdio<Writable | null, Readable, Readable> {
	const child = spawn(program.command, program.args, {
		...options,
		stdio: [input ? "pipe" : "ignore", "pipe", "pipe", ...(program.seccomp ? (["pipe"] as const) : [])],
		detached: true,
	});
	// bwrap reads the filter to its end before it starts anything; a process that failed to start has no pipe.
	if (program.seccomp) (child.stdio[3] as Writable | null)?.on("error", () => undefined).end(program.seccomp);
	return child as unknown as ChildProcessByStdio<Writable | null, Readable, Readable>;
}

/** Kill a process group: SIGTERM, then SIGKILL after a grace period if anything is left. */
export function killGroup(pid: number, graceMs = KILL_GRACE_MS): void {
	const signal = (sig: NodeJS.Signals) => {
		try {
			process.kill(-pid, sig);
			return true;
		} catch {
			return false; // ESRCH: the group is gone
		}
	};
	if (signal("SIGTERM")) setTimeout(() => signal("SIGKILL"), graceMs).unref();
}

/**
 * Runs `work` with a temp directory of its own (a sandboxed program's only writable place besides its task's
 * directory), removed afterwards. What the program left there must not change its outcome: a tree it made read-only
 * (Go's module cache) is made writable to be removed, and a removal that still fails is only warned about.
 */
export async function withScratch<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
	const dir = await mkdtemp(join(tmpdir(), prefix));
	try {
		return await work(dir);
	} finally {
		await removeTree(dir);
	}
}

/**
 * Removes a tree a program left (`dir` itself unless `keep`): a tree it made read-only (Go's module cache) is made
 * writable to be removed, and a removal that still fails is only warned about.
 */
export async function removeTree(dir: string, keep = false): Promise<void> {
	const remove = async () => {
		if (!keep) return rm(dir, { recursive: true, force: true });
		const names = await readdir(dir);
		await Promise.all(names.map((n) => rm(join(dir, n), { recursive: true, force: true })));
	};
	await remove().catch(async () => {
		await writable(dir);
		await remove().catch((err: Error) =>
			process.emitWarning(`pi-crew: cannot remove the temp directory ${dir}: ${err.message}`),
		);
	});
}

/** Makes every directory of a tree writable (and searchable) by its owner, without following links. */
async function writable(dir: string): Promise<void> {
	await chmod(dir, 0o700).catch(() => undefined);
	const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
	for (const entry of entries) if (entry.isDirectory()) await writable(join(dir, entry.name));
}
