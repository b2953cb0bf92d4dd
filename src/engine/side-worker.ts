/**
 * A side worker of a task: another agent run for the task's id (its reviewer, its merge resolver), through the same
 * attempt machinery as the task's own worker (attempt.ts runAttempt), its files in a directory of the task's.
 */
import { join } from "node:path";
import { attemptDir, writeArtifact } from "../store/run-store.js";
import { makeDirs } from "../util/safe-fs.js";
import type { WorkerOutcome } from "../workers/runtime.js";
import type { RunContext } from "./context.js";
import type { PlannedTask } from "./plan.js";

/** What one worker is started with: its prompt, and where its prompt, system prompt and transcript are kept. */
export interface AttemptFiles {
	prompt: string;
	promptPath: string;
	systemPromptPath: string;
	taskDir: string;
	/**
	 * The task's own worker, kept open between rounds when a loop sends work back to the task (kept.ts); `followUp`:
	 * a loop's next round, what its kept worker gets instead of `prompt` if one waits.
	 */
	keep?: { followUp?: string };
}

/**
 * How a side worker differs from the task's own: it stops with the task's worker (`stop`), is neither watched for
 * heartbeats nor messaged as the task (the task's own worker still is), and its `verdict` call is handed to `verdict`
 * rather than logged as the task's own.
 */
export interface SideWorker {
	/**
	 * What its worker is marked with (its processes' PI_CREW_TASK_ID), not the task's id: ending it reaps its processes
	 * alone, never the task's worker that waits on it.
	 */
	id: string;
	stop: AbortSignal;
	verdict(verdict: { clean: boolean; findings: string }): void;
}

/** Runs a worker for `task`'s id (attempt.ts runAttempt), as a side worker. */
export type RunSide = (
	task: PlannedTask,
	files: AttemptFiles,
	cwd: string,
	model: string | undefined,
	side: SideWorker,
) => Promise<WorkerOutcome>;

/** Writes a side worker's prompt and system prompt into `<the task's attempt dir>/<name>/`, where its transcript goes. */
export async function sideFiles(
	ctx: RunContext,
	taskId: string,
	attempt: number,
	name: string,
	prompt: string,
	system: string,
): Promise<AttemptFiles> {
	const rel = `${attemptDir(taskId, attempt)}/${name}`;
	const taskDir = join(ctx.paths.artifacts, rel);
	await makeDirs(ctx.paths.repo, taskDir);
	const promptPath = await writeArtifact(ctx.paths, `${rel}/prompt.md`, prompt);
	const systemPromptPath = await writeArtifact(ctx.paths, `${rel}/system.md`, system);
	return { prompt, promptPath, systemPromptPath, taskDir };
}
