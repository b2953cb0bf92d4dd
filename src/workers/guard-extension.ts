/**
 * Loaded into every child worker: the worker stops its whole process group when the coordinator that started it is
 * gone (kill -9, OOM), so a dead run never leaves agents working unobserved. pid + start time, so a reused pid of an
 * unrelated process does not keep a worker alive.
 */
import { processStartTime } from "../store/lease.js";
import { reapTask } from "./reaper.js";

const CHECK_MS = 1000;

export default function workerGuard(): void {
	const pid = Number(process.env.PI_CREW_COORDINATOR_PID);
	if (!pid) return;
	const start = process.env.PI_CREW_COORDINATOR_START;
	const timer = setInterval(() => {
		if (start ? String(processStartTime(pid)) === start : pidExists(pid)) return;
		clearInterval(timer);
		// Everything this task started (bash runs commands in groups of their own), then the worker's own group.
		const { PI_CREW_RUN_ID: run, PI_CREW_TASK_ID: task } = process.env;
		void (run && task ? reapTask(run, task) : Promise.resolve(0)).finally(() => {
			try {
				process.kill(-process.pid, "SIGKILL"); // the worker leads its own process group
			} catch {
				process.exit(1);
			}
		});
	}, CHECK_MS);
	timer.unref();
}

/** Without /proc (macOS) only the pid can be checked. */
function pidExists(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "EPERM";
	}
}
