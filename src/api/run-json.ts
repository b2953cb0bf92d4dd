/**
 * The `--json` shape of a run (`run`, `status`, the team tool): its tasks, their questions, approvals and messages, and
 * its loop rounds.
 */
import { join } from "node:path";
import { questionJson } from "../engine/questions.js";
import { loopRounds } from "../engine/rounds.js";
import { shownStatus as shownTaskStatus, shownUsage, type TaskState } from "../store/events.js";
import type { RunView } from "../store/run-store.js";
import { integrationBranch } from "../workspace/worktrees.js";

/** The `--json` shape of a run, shared by `run` and `status`. */
export function runJson(view: RunView) {
	const rounds = loopRounds(view.state);
	return {
		runId: view.state.runId,
		status: view.status,
		team: view.state.team,
		workflow: view.state.workflow,
		goal: view.state.goal,
		reason: view.state.reason,
		createdAt: view.state.createdAt,
		coordinatorPid: view.status === "running" ? view.coordinator?.pid : undefined,
		resumes: view.state.resumes,
		endedAt: view.state.endedAt,
		...(view.imported
			? {
					imported: {
						bundle: view.imported.bundle,
						importedAt: view.imported.importedAt,
						exportedAt: view.imported.exportedAt,
						piCrew: view.imported.piCrew,
					},
				}
			: {}),
		integrity: view.integrity,
		...(view.integrityProblem ? { integrityProblem: view.integrityProblem } : {}),
		runDir: view.paths.dir,
		summary: view.state.summaryPath ? join(view.paths.dir, view.state.summaryPath) : undefined,
		usage: shownUsage(view.state.usage),
		...(view.state.settings.isolation === "worktree"
			? { integrationBranch: integrationBranch(view.state.runId), baseCommit: view.state.settings.baseCommit }
			: {}),
		tasks: [...view.state.tasks.values()].map((t) => ({
			id: t.id,
			role: t.role,
			agent: t.agent,
			status: shownTaskStatus(t),
			...(t.waiting?.kind === "question" ? { question: questionJson(t.waiting) } : {}),
			dependsOn: t.dependsOn,
			...(view.status === "running" ? approvalJson(t, view.paths.dir) : {}),
			attempt: t.attempt,
			attempts: t.attempts,
			...(t.heartbeat && t.heartbeat !== "healthy" ? { heartbeat: t.heartbeat } : {}),
			...(t.status === "running" && t.activity?.retrying ? { retrying: t.activity.retrying } : {}),
			...(t.status === "running" && t.resolving ? { resolving: t.resolving } : {}),
			...(t.deadLetter ? { deadLetter: t.deadLetter } : {}),
			...(t.round ? { round: t.round } : {}),
			...(t.finding ? { finding: t.finding } : {}),
			...(t.verdict ? { verdict: t.verdict } : {}),
			startedAt: t.startedAt,
			endedAt: t.endedAt,
			...(t.reason ? { reason: t.reason } : {}),
			...(t.resultPath ? { result: join(view.paths.dir, t.resultPath) } : {}),
			...(t.merged ? { merged: t.merged } : {}),
			...(t.conflict ? { needsAttention: true, conflict: t.conflict } : {}),
			usage: shownUsage(t.usage),
			toolCalls: t.toolCalls,
			...(t.messages?.length ? { messages: t.messages } : {}),
		})),
		...(rounds.length ? { rounds } : {}),
		...(view.state.messages.length ? { messages: view.state.messages } : {}),
		problems: view.problems,
	};
}

/** What a task waiting for approval shows: its round, its draft answer, and an adaptive planner's plan. */
function approvalJson(t: TaskState, runDir: string) {
	const w = t.waiting?.kind === "approval" && shownTaskStatus(t) === "waiting" ? t.waiting : undefined;
	if (!w) return {};
	return {
		approval: {
			round: w.round,
			resultPath: join(runDir, w.resultPath),
			since: w.since,
			...(w.plan ? { plan: w.plan } : {}),
		},
	};
}
