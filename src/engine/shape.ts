/** What a task's worker process is started with (its WorkerShape, the warm pool's key), and the early start of it. */
import { resolveSkills } from "../config/skills.js";
import type { RunSettings } from "../store/settings.js";
import { CREW_TOOLS, failure, type WorkerFailure, type WorkerRuntime, type WorkerShape } from "../workers/runtime.js";
import { type Plan, type PlannedTask, taskModels, taskSkills, taskTools } from "./plan.js";

/** What of a run a task's shape depends on. */
export interface ShapeRun {
	runId: string;
	repo: string;
	projectTrusted: boolean;
	settings: RunSettings;
}

/**
 * The worker `task` is started with in `cwd` on `model`, or why it cannot start (a skill not found, extensions of an
 * untrusted repository). The attempt starts its worker from this shape; the coordinator warms one with it.
 */
export function workerShape(
	run: ShapeRun,
	task: PlannedTask,
	cwd: string,
	model: string | undefined,
): WorkerShape | WorkerFailure {
	const loads = workerResources(run, task);
	if ("kind" in loads) return loads;
	const tools = taskTools(run.settings, task.agent);
	const crewTools = CREW_TOOLS.filter((t) => tools?.includes(t));
	return {
		runId: run.runId,
		cwd,
		repo: run.repo,
		projectTrusted: run.projectTrusted,
		model,
		tools,
		thinking: task.agent.thinking,
		...loads,
		scenario: run.settings.scenario,
		beatMs: Math.max(100, Math.min(5000, Math.floor(run.settings.heartbeat.warnMs / 2))),
		...(crewTools.length > 0 ? { crewTools } : {}),
	};
}

/** The skills and extensions a task's worker loads, or why it cannot start. */
function workerResources(
	run: ShapeRun,
	task: PlannedTask,
): { skills?: string[]; extensions?: string[] } | WorkerFailure {
	const names = taskSkills(task);
	const found = names ? resolveSkills(names, run.repo, run.projectTrusted) : undefined;
	if (found && found.missing.length > 0)
		return failure(
			"spawn_failed",
			`skill(s) ${found.missing.join(", ")} not found in ${found.dirs.join(", ")}${run.projectTrusted ? "" : " (the repository's skills are not looked at: it is not trusted)"}`,
		);
	const { extensions } = task.agent;
	// Checked again here, not only when planned: a resumed run's agent counts as the repository's unless today's
	// agent of that name is yours (see plan.ts retrusted), and the trust may have been taken back since.
	if (extensions?.length && task.agent.source.scope === "project" && !run.projectTrusted)
		return failure(
			"spawn_failed",
			`agent "${task.agent.name}" names extensions, and extensions of a repository the user has not trusted never load`,
		);
	return { ...(found ? { skills: found.paths } : {}), ...(extensions?.length ? { extensions } : {}) };
}

/**
 * Asks `runtime` to start the workers of a new run's first ready tasks (up to its concurrency) now, so that their
 * start-up overlaps the coordinator's own (the log, the prompts). Only tasks that work in the repository itself: a
 * worktree's directory does not exist yet. A runtime without a pool ignores it.
 */
export function warmFirstTasks(runtime: WorkerRuntime, run: ShapeRun, plan: Plan): void {
	if (!runtime.warm) return;
	const ready = plan.tasks.filter(
		(t) => t.dependsOn.length === 0 && (run.settings.isolation !== "worktree" || t.isolation === "shared"),
	);
	for (const task of ready.slice(0, run.settings.concurrency)) {
		const shape = workerShape(run, task, run.repo, taskModels(run.settings, task)[0]);
		if (!("kind" in shape)) runtime.warm(shape);
	}
}
