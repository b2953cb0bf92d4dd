/**
 * Loaded into every child worker.
 * - Says which pi it runs on (a line on stderr, kept in the task's stderr.log).
 * - In a repository the run does not trust, fences the repository's context files (context-fence.ts).
 * - The path wall (path-guard.ts): `write` and `edit` only inside the task's directory, no read of pi-crew's home.
 * - Heartbeat: while a tool runs (a long `npm install` may print nothing for minutes), the worker writes a beat line
 *   to stderr every PI_CREW_BEAT_MS, so the coordinator can tell a busy worker from a hung one. A stuck model call
 *   makes no beats: that is the hang the watcher is for.
 * - pi-crew's tools (`ask`, `message`: crew-tools.ts), inactive unless the agent's tools name them; their calls reach
 *   the coordinator over pi's RPC stdio.
 * - Orphan guard: the worker stops its whole process tree when the coordinator that started it is gone (kill -9, OOM;
 *   noticed within 1.5 s),
 *   so a dead run never leaves agents working unobserved. pid + start time, so a reused pid does not keep it alive.
 * - A pooled worker's task (`/pi-crew-task`, sent by the coordinator over stdin before each task's prompt): its id
 *   (PI_CREW_TASK_ID, which the bash tool's commands inherit: the reaper's marker) and its system prompt (appended
 *   before the repository's fenced context). Each task starts from the worker's first environment.
 * pi runs this again on each new session of the worker: what it starts ends with the session (`session_shutdown`).
 */

import { readFileSync } from "node:fs";
import { delimiter } from "node:path";
import type { ExtensionAPI } from "../host.js";
import { processStartTime } from "../store/lease.js";
import { HEARTBEAT_LINE, WORKER_PI_LINE } from "../util/identity.js";
import { fenceRepositoryContext, UNTRUSTED_REPO_ENV } from "./context-fence.js";
import { registerCrewTools, sendOverRpc } from "./crew-tools.js";
import { runningPiVersion } from "./host-pi.js";
import { guardFileTools, guardRoots, REPO_ENV, TASK_DIR_ENV } from "./path-guard.js";
import { reapTask } from "./reaper.js";
import { ASSIGN_COMMAND, type Assignment } from "./rpc-channel.js";

const CHECK_MS = 500;
const MISSES_TO_STOP = 3;

export default function workerGuard(pi: ExtensionAPI): void {
	// Which pi this worker runs on, for the task's stderr.log: evidence that a team ran on its session's own pi.
	process.stderr.write(`${WORKER_PI_LINE} ${runningPiVersion()} (${process.execPath} ${process.argv[1] ?? ""})\n`);
	const baseline = perProcess(FIRST_ENV, () => ({ ...process.env }));
	beatWhileToolsRun(pi, Number(process.env.PI_CREW_BEAT_MS));
	registerCrewTools(pi, sendOverRpc);
	// Without its task's directory (a guard loaded by hand) every write is refused: the wall fails closed.
	const taskDir = process.env[TASK_DIR_ENV];
	// The same for every task of this worker (its shape's): resolved once (git runs for it), not per session.
	const roots = perProcess(ROOTS, () => guardRoots(taskDir, process.env[REPO_ENV]));
	guardFileTools(pi, roots, taskDir ?? process.cwd());
	takeTasks(pi, baseline);
	const untrusted = process.env[UNTRUSTED_REPO_ENV]?.split(delimiter).filter(Boolean);
	if (untrusted?.length)
		pi.on("before_agent_start", (event) => fenceRepositoryContext(event.systemPromptOptions, untrusted));
	const pid = Number(process.env.PI_CREW_COORDINATOR_PID);
	if (!pid) return;
	const start = process.env.PI_CREW_COORDINATOR_START;
	let misses = 0;
	const timer: NodeJS.Timeout = setInterval(() => {
		// Three checks in a row: one failed /proc read (EMFILE in a busy worker) must not kill a healthy task.
		misses = (start ? String(processStartTime(pid)) === start : pidExists(pid)) ? 0 : misses + 1;
		if (misses < MISSES_TO_STOP) return;
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
	pi.on("session_shutdown", () => clearInterval(timer));
}

const FIRST_ENV = Symbol.for("pi-crew.worker.first-env");
const ROOTS = Symbol.for("pi-crew.worker.guard-roots");

/** What `make` gives, made once in this process: kept across the guard's runs (one per session of the worker). */
function perProcess<T>(key: symbol, make: () => T): T {
	const global = globalThis as Record<symbol, unknown>;
	if (!(key in global)) global[key] = make();
	return global[key] as T;
}

/**
 * The `/pi-crew-task` command: taken once per session, before its first run (a task's prompt that reads as this
 * command is refused). A system prompt that cannot be read ends the worker: its task fails, never runs without its role.
 */
function takeTasks(pi: ExtensionAPI, baseline: Readonly<Record<string, string | undefined>>): void {
	let open = true;
	let rolePrompt: string | undefined;
	pi.registerCommand(ASSIGN_COMMAND, {
		description: "pi-crew: the task this worker runs next (sent by its coordinator)",
		handler: async (args) => {
			// A second assignment, or one that does not read, was not the coordinator's (or a task's prompt reads as
			// one): pi reports any command as handled, so the worker ends, and its task fails instead of running astray.
			const refuse = (why: string) => {
				process.stderr.write(`pi-crew: /${ASSIGN_COMMAND} refused: ${why}\n`);
				process.exit(1);
			};
			if (!open) return refuse("this session has its task");
			open = false;
			let taskId: unknown;
			try {
				const assignment = JSON.parse(args) as Partial<Assignment>;
				taskId = assignment.taskId;
				if (typeof taskId !== "string" || typeof assignment.systemPromptPath !== "string")
					return refuse("not an assignment");
				rolePrompt = readFileSync(assignment.systemPromptPath, "utf8");
			} catch (err) {
				return refuse(`cannot read it: ${(err as Error).message}`);
			}
			for (const name of Object.keys(process.env)) if (!(name in baseline)) delete process.env[name];
			Object.assign(process.env, baseline);
			process.env.PI_CREW_TASK_ID = taskId;
		},
	});
	// The role first: the repository's fenced context files (registered after this) go after it.
	pi.on("before_agent_start", (event) => {
		open = false;
		const options = event.systemPromptOptions;
		if (rolePrompt)
			options.appendSystemPrompt = [options.appendSystemPrompt?.trimEnd(), rolePrompt].filter(Boolean).join("\n\n");
	});
}

function beatWhileToolsRun(pi: ExtensionAPI, everyMs: number): void {
	if (!(everyMs > 0)) return;
	let running = 0;
	let timer: NodeJS.Timeout | undefined;
	pi.on("tool_execution_start", () => {
		if (running++ === 0) timer = setInterval(() => process.stderr.write(`${HEARTBEAT_LINE}\n`), everyMs);
	});
	pi.on("tool_execution_end", () => {
		if (--running === 0) clearInterval(timer);
	});
	pi.on("session_shutdown", () => clearInterval(timer));
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
