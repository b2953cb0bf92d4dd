/**
 * Finds and kills every process of one task, wherever it went: pi's bash tool starts commands in process groups of
 * their own, and backgrounded jobs are re-parented, so neither the group nor the parent chain reaches them. The marker
 * environment each worker passes down (PI_CREW_RUN_ID + PI_CREW_TASK_ID) does. Linux (/proc) only; elsewhere the
 * worker's own process group is all that is stopped.
 */
import { readdir, readFile } from "node:fs/promises";

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
