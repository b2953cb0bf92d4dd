/** Engine-level runs whose workers wait for a person: a runtime that only asks, and a run left waiting by a dead coordinator. */
import { writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { ownerMark } from "../../src/config/owner.js";
import { sendControl } from "../../src/engine/control.js";
import { executeRun, resumeRun } from "../../src/engine/coordinator.js";
import { type Plan, plannedPayload, planRun } from "../../src/engine/plan.js";
import { loadCatalog } from "../../src/resources/catalog.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import type { CrewEvent, RunState } from "../../src/store/events.js";
import { createRunDir, type RunPaths, runPaths } from "../../src/store/run-store.js";
import type { RunSettings } from "../../src/store/settings.js";
import type { TaskSpec, WorkerOutcome, WorkerRuntime } from "../../src/workers/runtime.js";
import { deadPid, fixtures, type Sandbox } from "./index.js";
import { askingTeam } from "./questions.js";

/** A worker that asks `questions` in turn and answers with what it was told (each reply pushed to `replies`). */
export function askingRuntime(questions: string[], replies: string[]): WorkerRuntime {
	return {
		name: "fake",
		async run(spec: TaskSpec): Promise<WorkerOutcome> {
			for (const text of questions) replies.push((await spec.crew?.request({ type: "ask", text })) ?? "no crew");
			return { kind: "succeeded", answer: replies.join(", ") };
		},
	};
}

/** Answers every question a run asks, as `respond` does: the answer to the n-th is `answer(n)`. */
export function responder(answer: (n: number) => string) {
	let n = 0;
	return (e: CrewEvent, state: RunState) => {
		if (e.type !== "task.asked" || !e.taskId) return;
		const paths = runPaths(state.cwd, state.runId);
		void sendControl(paths, {
			type: "respond",
			taskId: e.taskId,
			questionId: e.data.id,
			answer: answer(++n),
			from: "t",
		});
	};
}

/** The asking team (`decide`, agent `asker` with the `ask` tool) planned in `box`. */
export async function askingPlan(box: Sandbox): Promise<Plan> {
	await askingTeam(box);
	const catalog = await loadCatalog({ repo: box.repo, home: join(box.dir, "home"), trustProject: true });
	return planRun(catalog, "ask");
}

/** Runs the asking team in this process on `runtime`. */
export async function askingRun(box: Sandbox, runtime: WorkerRuntime, onEvent?: ReturnType<typeof responder>) {
	return executeRun({
		repo: box.repo,
		plan: await askingPlan(box),
		goal: "g",
		runtime,
		settings: fixtures.created.settings,
		...(onEvent ? { onEvent } : {}),
	});
}

/**
 * A run of the asking team as a coordinator killed while `decide` waited for the answer to `question` leaves it
 * (the question logged as the log writer logs it: redacted), with `settings`.
 */
export async function waitingRun(
	box: Sandbox,
	runId: string,
	question: string,
	settings: Partial<RunSettings> = {},
): Promise<{ plan: Plan; paths: RunPaths }> {
	const plan = await askingPlan(box);
	const paths = await createRunDir(box.repo, runId);
	const log = await EventLogWriter.create(paths.events, runId, { home: process.env.PI_CREW_HOME });
	const created = fixtures.created;
	const owner = await ownerMark(runId, process.env.PI_CREW_HOME);
	await log.append("run.created", { ...created, cwd: box.repo, settings: { ...created.settings, ...settings }, owner });
	for (const t of plan.tasks) await log.append("task.planned", plannedPayload(t), t.id);
	await log.append("run.started", { pid: 1 });
	await log.append("task.started", { attempt: 1, promptPath: "p" }, "decide");
	await log.append("task.asked", { id: "decide.q1", text: question }, "decide");
	await log.close();
	await writeFile(
		paths.lease,
		JSON.stringify({ pid: deadPid(), startTime: 1, host: hostname(), token: "t", since: "" }),
	);
	return { plan, paths };
}

/** Resumes `runId` in this process on `runtime`. */
export function resumeWaiting(box: Sandbox, runId: string, plan: Plan, runtime: WorkerRuntime) {
	return resumeRun({ repo: box.repo, runId, plan, requeue: [], runtime });
}
