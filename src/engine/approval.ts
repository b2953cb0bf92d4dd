/**
 * Plan approval: the answer of a step with `approval: true` waits for a person (`pi-crew approve`) while its worker
 * stays open. Approved, the run goes on (an adaptive plan without the tasks dropped); rejected, the same worker session
 * gets the feedback and answers again, at most `approvalRounds` times.
 */
import { relative } from "node:path";
import type { PlanStepView } from "../store/events.js";
import { attemptDir, writeArtifact } from "../store/run-store.js";
import type { Review } from "../workers/runtime.js";
import { type PlannedStep, parsePlan } from "./adaptive.js";
import type { RunContext } from "./context.js";
import type { ControlCommand } from "./control.js";
import type { PlannedTask } from "./plan.js";

export type ApproveCommand = Extract<ControlCommand, { type: "approve" }>;

export const DEFAULT_APPROVAL_ROUNDS = 3;

/** Why a task with nobody to approve it fails (settings.unattended `fail`). */
export const NOBODY_APPROVES = "needs approval; nobody can give it";

/** The approval rounds of one attempt of a task: its runtime's `review`, and what was dropped once approved. */
export class ApprovalRounds {
	private round = 0;
	/** The adaptive plan's tasks the approval dropped. */
	dropped: string[] = [];

	constructor(
		private readonly ctx: RunContext,
		private readonly task: PlannedTask,
		private readonly attempt: number,
	) {}

	/** Shows `answer` for approval and waits for the verdict (or for `stop`: the worker is being stopped). */
	async review(answer: string, stop: AbortSignal): Promise<Review> {
		const { ctx, task } = this;
		const plan = task.adaptive ? parsePlan(answer, ctx.plan.roles, new Set(ctx.state().tasks.keys())) : undefined;
		// An invalid plan is not shown: the attempt's re-plan tells the planner what was wrong first.
		if (plan && "errors" in plan) return { approved: true };
		const round = ++this.round;
		const id = `${task.id}-${this.attempt}-${round}`;
		const draft = await writeArtifact(ctx.paths, `${attemptDir(task.id, this.attempt)}/draft-${round}.md`, answer);
		const shown = plan ? { plan: plan.steps.map(planStepView) } : {};
		const resultPath = relative(ctx.paths.dir, draft);
		const unattended = ctx.settings.unattended;
		// Waiting before it is shown: `approve` may send its verdict as soon as the event is written, before it is durable.
		const verdict = unattended ? undefined : ctx.approvals.wait(task.id, id, stop);
		await ctx.log.append("task.awaiting_approval", { id, round, resultPath, ...shown }, task.id);
		if (unattended === "fail") return { refused: NOBODY_APPROVES };
		if (unattended === "default") {
			await ctx.log.append("task.approved", { id, from: "nobody (unattended: approved by default)" }, task.id);
			return { approved: true };
		}
		const end = await verdict;
		if (!end || "stopped" in end) return { refused: "stopped while waiting for approval" };
		if ("budget" in end) return { refused: end.budget };
		return this.decided(id, round, plan, end.word);
	}

	/** Logs the person's verdict on round `round`: approved (the plan's tasks it drops), or feedback for another round. */
	private async decided(
		id: string,
		round: number,
		plan: { steps: PlannedStep[] } | undefined,
		verdict: ApproveCommand,
	): Promise<Review> {
		const { ctx, task } = this;
		if (verdict.reject === undefined) {
			const ids = new Set(plan?.steps.map((s) => s.id));
			this.dropped = (verdict.drop ?? []).filter((d) => ids.has(d));
			const drop = this.dropped.length > 0 ? { drop: this.dropped } : {};
			await ctx.log.append("task.approved", { id, from: verdict.from, ...drop }, task.id);
			return { approved: true };
		}
		await ctx.log.append("task.rejected", { id, from: verdict.from, feedback: verdict.reject }, task.id);
		const rounds = ctx.settings.approvalRounds ?? DEFAULT_APPROVAL_ROUNDS;
		if (round >= rounds) return { refused: `not approved after ${rounds} round(s): ${verdict.reject}` };
		return { feedback: `Your answer was not approved. Feedback:\n\n${verdict.reject}\n\nAnswer again.` };
	}
}

function planStepView(step: PlannedStep): PlanStepView {
	return { id: step.id, role: step.role, task: step.task, dependsOn: step.dependsOn };
}

/**
 * A plan's steps without those dropped at its approval: they are never added. A task that depended on a dropped one
 * runs without it (its other dependencies kept): dropping a task says it is not needed, not that its dependents are.
 */
export function withoutDropped(steps: PlannedStep[], dropped: string[]): PlannedStep[] {
	const gone = new Set(dropped);
	return steps
		.filter((s) => !gone.has(s.id))
		.map((s) => ({ ...s, dependsOn: s.dependsOn.filter((d) => !gone.has(d)) }));
}
