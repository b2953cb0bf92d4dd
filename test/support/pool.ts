/** A run's live child workers, told apart by their own temp directory (a sandboxed worker is bwrap and its pi). */
import { readFile } from "node:fs/promises";
import { processesOfRun } from "./index.js";

export interface RunWorker {
	/** The worker's TMPDIR: one per worker process, the same for every task it serves. */
	tmp: string;
	pids: number[];
	/** When its first process started (clock ticks since boot). */
	start: number;
}

/** The run's live workers, oldest first. A pooled worker carries the run's marker only, not its task's. */
export async function runWorkers(runId: string): Promise<RunWorker[]> {
	const workers = new Map<string, RunWorker>();
	for (const pid of await processesOfRun(runId)) {
		const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "");
		const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
		const tmp = environ.split("\0").find((v) => v.startsWith("TMPDIR=") && v.includes("pi-crew-worker-"));
		if (!tmp || !stat) continue;
		const start = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
		const worker = workers.get(tmp) ?? { tmp, pids: [], start };
		worker.pids.push(pid);
		worker.start = Math.min(worker.start, start);
		workers.set(tmp, worker);
	}
	return [...workers.values()].sort((a, b) => a.start - b.start);
}
