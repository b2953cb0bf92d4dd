/**
 * The scheduler: starts ready tasks (every dependency succeeded) up to the concurrency cap and within the budget,
 * skips the dependents of tasks that did not succeed, and decides how the run ends.
 */
import type { FinalRunStatus, TaskState, Usage } from "../store/events.js";
import { TERMINAL_TASK } from "../store/events.js";
import { NEEDS_ATTENTION } from "../store/fold.js";
import { runTask } from "./attempt.js";
import type { RunContext } from "./context.js";
import { type PlannedTask, plannedTask } from "./plan.js";
import { waitsForAnswer } from "./questions.js";
import { depsMet, TaskIndex } from "./ready.js";
import { formatTokens } from "./summary.js";
import { wallLeft } from "./waits.js";

export interface RunOutcome {
	status: FinalRunStatus;
	reason?: string;
}

export class Scheduler {
	private readonly running = new Map<string, Promise<void>>();
	/** Pending tasks whose dependencies all succeeded, in the order they became ready (plan order within a wake). */
	private readonly ready = new Set<string>();
	private budgetStop: string | undefined;

	constructor(private readonly ctx: RunContext) {}

	async run(): Promise<RunOutcome> {
		const cancelled = aborted(this.ctx.cancel);
		const index = new TaskIndex(this.ctx.state, this.ctx.log, this.ctx.settings);
		try {
			for (;;) {
				if (!this.ctx.cancel.aborted) {
					await this.settle(index);
					this.ctx.kept.prune();
					this.startReady(index);
				}
				// A reopened task whose question is unanswered starts once it is answered (or the run is cancelled, or its
				// wall budget is spent).
				const answering = !this.ctx.cancel.aborted && index.answering;
				if (answering) this.budgetStop ??= this.wallStop();
				const waitsAnswer = answering && !this.budgetStop;
				if (this.running.size === 0 && !waitsAnswer) break;
				const wall = new AbortController();
				const wakes = waitsAnswer ? [this.ctx.questions.answered(), cancelled, wallSpent(this.ctx, wall.signal)] : [];
				await Promise.race([...this.running.values(), ...wakes]).finally(() => wall.abort());
			}
		} catch (err) {
			// Stop every worker before the error leaves the coordinator: nothing runs unobserved.
			this.ctx.abortAll();
			await Promise.allSettled(this.running.values());
			await this.ctx.kept.close();
			throw err;
		} finally {
			index.stop();
		}
		// Every task is done: a worker still kept for a loop's next round ends with the run.
		await this.ctx.kept.close();
		return this.finish();
	}

	private tasks(): TaskState[] {
		return [...this.ctx.state().tasks.values()];
	}

	/**
	 * Looks at the tasks events touched: the dependents of a task that did not succeed are skipped, transitively, with
	 * the reason (each skip touches its own dependents); a pending task whose dependencies all succeeded is ready.
	 */
	private async settle(index: TaskIndex): Promise<void> {
		for (let ids = index.take(); ids.length > 0; ids = index.take()) {
			const tasks = this.ctx.state().tasks;
			for (const id of ids) {
				const t = tasks.get(id);
				if (!t || !this.startable(t)) continue;
				const blocker = t.dependsOn
					.map((d) => tasks.get(d))
					.find((d) => d && TERMINAL_TASK.has(d.status) && d.status !== "succeeded");
				if (blocker)
					await this.ctx.log.append("task.skipped", { reason: `dependency "${blocker.id}" ${blocker.status}` }, t.id);
				else if (depsMet(t, tasks)) this.ready.add(id);
			}
		}
	}

	/** Starts ready tasks, in plan order, up to the concurrency cap and within the budget. */
	private startReady(index: TaskIndex): void {
		const tasks = this.ctx.state().tasks;
		for (const id of this.ready) {
			if (this.running.size >= this.ctx.settings.concurrency) break;
			const t = tasks.get(id);
			// No longer ready (an event since made it so): looked at again once an event touches it.
			if (!t || !this.startable(t) || !depsMet(t, tasks)) {
				this.ready.delete(id);
				continue;
			}
			const budget = this.checkBudget();
			if (budget === "wait") break;
			this.budgetStop ??= budget;
			if (this.budgetStop) break;
			this.ready.delete(id);
			// From the folded log each time: an adaptive step's plan adds tasks while the run goes.
			this.start(plannedTask(this.ctx.state(), this.ctx.plan, id), index);
		}
	}

	private startable(t: TaskState): boolean {
		return t.status === "pending" && !this.running.has(t.id) && !waitsForAnswer(t, this.ctx.settings);
	}

	/**
	 * Before a start: would it break the budget (the reason), or is it too early to tell ("wait")? Tokens and cost are
	 * reserved with an estimate, the mean of the run's finished tasks, for every running task and the one about to
	 * start; a task's reservation settles to what it really used. Until a task has finished there is no estimate, so
	 * tasks start one at a time.
	 */
	private checkBudget(): string | undefined {
		const budget = this.ctx.settings.budget;
		if (!budget) return undefined;
		const tasks = this.tasks();
		if (budget.maxTasks !== undefined) {
			const started = tasks.filter((t) => t.attempts.length > 0 || this.running.has(t.id)).length;
			if (started >= budget.maxTasks) return `budget-exceeded: ${started} of ${budget.maxTasks} tasks started`;
		}
		const wall = this.wallStop();
		if (wall) return wall;
		const tokens = this.reserve(
			budget.maxTokens,
			(u) => u.total,
			(n) => formatTokens(Math.round(n)),
			" tokens",
		);
		return (
			tokens ??
			this.reserve(
				budget.maxCost,
				(u) => u.cost ?? 0,
				(n) => `$${n.toFixed(4)}`,
				"",
			)
		);
	}

	/** Why the run stops for its wall budget once it is spent. */
	private wallStop(): string | undefined {
		const max = this.ctx.settings.budget?.maxWallMs;
		if (max === undefined || wallLeft(this.ctx) !== 0) return undefined;
		const state = this.ctx.state();
		const elapsed = this.ctx.now() - Date.parse(state.activeSince ?? state.createdAt);
		return `budget-exceeded: ${Math.round(elapsed / 1000)}s of ${Math.round(max / 1000)}s wall time`;
	}

	/** One budget on usage (`of`): spent, plus an estimate reserved for each running task and the next, within `max`. */
	private reserve(
		max: number | undefined,
		of: (u: Usage) => number,
		show: (n: number) => string,
		unit: string,
	): string | undefined {
		if (max === undefined) return undefined;
		const tasks = this.tasks();
		const done = tasks.filter((t) => t.status === "succeeded" || t.status === "failed");
		const running = tasks.filter((t) => this.running.has(t.id));
		if (done.length === 0) return running.length > 0 ? "wait" : undefined;
		const estimate = done.reduce((n, t) => n + of(t.usage), 0) / done.length;
		const reserved = running.reduce((n, t) => n + Math.max(0, estimate - of(t.usage)), 0);
		const spent = of(this.ctx.state().usage);
		if (spent + reserved + estimate > max)
			return `budget-exceeded: ${show(spent)} of ${show(max)}${unit} spent, next task estimated at ${show(estimate)}`;
		return undefined;
	}

	private start(task: PlannedTask, index: TaskIndex): void {
		const done = runTask(this.ctx, task).finally(() => {
			this.running.delete(task.id);
			// A task its worker left pending (stopped before it started) is looked at again.
			index.touch(task.id);
		});
		this.running.set(task.id, done);
	}

	private async finish(): Promise<RunOutcome> {
		const pending = this.tasks().filter((t) => t.status === "pending");
		if (this.ctx.cancel.aborted) {
			for (const t of pending) await this.ctx.log.append("task.cancelled", { reason: "run cancelled" }, t.id);
			return { status: "cancelled", reason: "cancelled by the user" };
		}
		if (this.budgetStop) {
			for (const t of pending) await this.ctx.log.append("task.skipped", { reason: this.budgetStop }, t.id);
			return { status: "failed", reason: this.budgetStop };
		}
		const failed = this.tasks().filter((t) => t.status !== "succeeded");
		if (failed.length === 0) return { status: "succeeded" };
		// A loop out of rounds or a reviewer's refusal, never an earlier round's verdict: what the person must look at.
		const unresolved = failed.find((t) => t.status === "failed" && t.reason?.startsWith(NEEDS_ATTENTION));
		if (unresolved?.reason) return { status: "failed", reason: unresolved.reason };
		const first = failed.find((t) => t.status === "failed") ?? failed[0];
		return {
			status: "failed",
			reason: `${failed.length} of ${this.tasks().length} tasks did not succeed; first: ${first?.id} ${first?.status}${first?.reason ? ` (${first.reason})` : ""}`,
		};
	}
}

/** Resolves once the run's wall budget is spent (never without one), or `stop` aborts. */
function wallSpent(ctx: RunContext, stop: AbortSignal): Promise<void> {
	const left = wallLeft(ctx);
	if (left === undefined) return aborted(stop);
	return new Promise((resolve) => {
		// A setTimeout waits at most 2^31-1 ms.
		const timer = setTimeout(resolve, Math.min(left, 2 ** 31 - 1));
		stop.addEventListener(
			"abort",
			() => {
				clearTimeout(timer);
				resolve();
			},
			{ once: true },
		);
	});
}

/** Resolves once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (signal.aborted) resolve();
		else signal.addEventListener("abort", () => resolve(), { once: true });
	});
}
