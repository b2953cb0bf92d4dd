/**
 * A run's tasks counted by the status people are shown, and the ones a person looks at first (waiting, running,
 * failed), kept up to date event by event: a board or a footer of a 10 000-task run reads them without visiting
 * every task.
 */
import type { CrewEvent, RunState, ShownTaskStatus, TaskState } from "../store/events.js";
import { shownStatus } from "../store/events.js";

/** The statuses whose tasks a compact board lists, most pressing first. */
export const NOTABLE = ["waiting", "running", "failed"] as const;
type Notable = (typeof NOTABLE)[number];

/** The most frequent events, which never change a task's status nor what it waits for (store/fold.ts). */
const PROGRESS: ReadonlySet<string> = new Set([
	"task.tool",
	"task.usage",
	"task.heartbeat",
	"task.model_retry",
	"task.message",
	"task.steered",
]);

export class TaskTally {
	/** Tasks in the run. */
	total = 0;
	private readonly counts = new Map<ShownTaskStatus, number>();
	/** What each task was counted as, and its place in the plan. */
	private readonly tasks = new Map<string, { status: ShownTaskStatus; order: number }>();
	/** The tasks of each notable status, in the order they came to it (the newest last). */
	private readonly notable: Record<Notable, Set<string>> = {
		waiting: new Set(),
		running: new Set(),
		failed: new Set(),
	};
	private readonly conflicted = new Set<string>();

	/** A tally of `state` as it is (one pass over its tasks: for a one-time view; a live one observes the fold). */
	static of(state: RunState): TaskTally {
		const tally = new TaskTally();
		for (const task of state.tasks.values()) tally.note(task);
		return tally;
	}

	/**
	 * The fold's observer (RunTail.poll): rechecks the tasks the event may have changed, its own and those a resume or
	 * a loop reopens (the only events that change other tasks).
	 */
	observe(e: CrewEvent, state: RunState): void {
		if (PROGRESS.has(e.type)) return;
		if (e.taskId) this.recheck(state, e.taskId);
		if (e.type === "run.resumed" || e.type === "task.looped") for (const id of e.data.reopened) this.recheck(state, id);
	}

	count(status: ShownTaskStatus): number {
		return this.counts.get(status) ?? 0;
	}

	/** The ids of the tasks now `status`, the newest last. */
	ids(status: Notable): ReadonlySet<string> {
		return this.notable[status];
	}

	/** The ids of the tasks whose merge conflicted and waits for a person, whatever their status now. */
	conflicts(): ReadonlySet<string> {
		return this.conflicted;
	}

	/** A task's place in the plan (to list tasks in plan order). */
	order(id: string): number {
		return this.tasks.get(id)?.order ?? Number.MAX_SAFE_INTEGER;
	}

	private recheck(state: RunState, id: string): void {
		const task = state.tasks.get(id);
		if (task) this.note(task);
	}

	private note(task: TaskState): void {
		if (task.conflict) this.conflicted.add(task.id);
		else this.conflicted.delete(task.id);
		const status = shownStatus(task);
		const known = this.tasks.get(task.id);
		if (known?.status === status) return;
		if (known) {
			this.counts.set(known.status, this.count(known.status) - 1);
			this.setOf(known.status)?.delete(task.id);
			known.status = status;
		} else this.tasks.set(task.id, { status, order: this.total++ });
		this.counts.set(status, this.count(status) + 1);
		this.setOf(status)?.add(task.id);
	}

	private setOf(status: ShownTaskStatus): Set<string> | undefined {
		return (NOTABLE as readonly string[]).includes(status) ? this.notable[status as Notable] : undefined;
	}
}
