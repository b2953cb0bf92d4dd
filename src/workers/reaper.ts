/**
 * Finds and kills every process of one task, wherever it went: pi's bash tool starts commands in process groups of
 * their own, and backgrounded jobs are re-parented, so neither the group nor the parent chain reaches them. The marker
 * environment each worker passes down (PI_CREW_RUN_ID + PI_CREW_TASK_ID) does. Linux (/proc) only; elsewhere the
 * worker's own process group is all that is stopped.
 */
import { readdir, readFile, readlink } from "node:fs/promises";

export async function taskProcesses(runId: string, taskId?: string): Promise<number[]> {
	const names = await readdir("/proc").catch(() => [] as string[]);
	const markers = [`PI_CREW_RUN_ID=${runId}`, ...(taskId ? [`PI_CREW_TASK_ID=${taskId}`] : [])];
	const pids: number[] = [];
	for (const name of names) {
		const pid = Number(name);
		if (!Number.isInteger(pid) || pid === process.pid) continue;
		const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "");
		if (!environ) continue;
		const vars = environ.split("\0");
		if (markers.every((m) => vars.includes(m))) pids.push(pid);
	}
	return pids;
}

/** SIGKILL every process of the task (or of the whole run); returns how many were signalled. */
export async function reapTask(runId: string, taskId?: string): Promise<number> {
	let killed = 0;
	for (const pid of await taskProcesses(runId, taskId)) {
		try {
			process.kill(pid, "SIGKILL");
			killed++;
		} catch {
			// already gone
		}
	}
	return killed;
}

/**
 * Kills every process left in the pid namespace of a sandboxed worker (bubblewrap `--unshare-pid`, started as
 * `outerPid`) but bubblewrap's init (pid 1 there) and the worker it runs (pid 2): whatever a finished task left
 * running, whatever its environment says, before the worker serves another task. Returns how many were signalled.
 */
export async function reapSandboxLeftovers(outerPid: number): Promise<number> {
	const statuses = new Map<number, string>();
	for (const name of await readdir("/proc").catch(() => [] as string[])) {
		const pid = Number(name);
		if (!Number.isInteger(pid)) continue;
		const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
		if (status) statuses.set(pid, status);
	}
	const field = (status: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim();
	// bubblewrap's init: its outer process's child, pid 1 in the namespace.
	const init = [...statuses].find(([, s]) => field(s, "PPid") === String(outerPid))?.[0];
	if (init === undefined) return 0;
	const ns = await readlink(`/proc/${init}/ns/pid`).catch(() => undefined);
	if (!ns) return 0;
	let killed = 0;
	for (const [pid, status] of statuses) {
		const inner = Number(field(status, "NSpid")?.split(/\s+/).at(-1));
		if (!(inner > 2)) continue;
		if ((await readlink(`/proc/${pid}/ns/pid`).catch(() => undefined)) !== ns) continue;
		try {
			process.kill(pid, "SIGKILL");
			killed++;
		} catch {
			// already gone
		}
	}
	return killed;
}
