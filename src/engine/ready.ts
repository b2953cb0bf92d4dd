/**
 * Which tasks the scheduler must look at after an event: the tasks it touched and their dependents, never every task
 * of the run (a scan of all per event made a 10 000-task run quadratic). Follows the run's log once it is folded.
 */
import type { EventLogWriter } from "../store/event-log.js";
import type { CrewEvent, RunState, TaskState } from "../store/events.js";
import type { RunSettings } from "../store/settings.js";
import { waitsForAnswer } from "./questions.js";

export class TaskIndex {
	/** Task id -> the tasks that depend on it. */
	private readonly dependents = new Map<string, Set<string>>();
	/** Plan order, so that ready tasks start in the order the plan names them. */
	private readonly order = new Map<string, number>();
	/** Tasks to look at again: touched by an event (or by a worker ending) since the scheduler last looked. */
	private touched = new Set<string>();
	/** Pending tasks that wait on an answer to their question. */
	private readonly asking = new Set<string>();
	private readonly unsubscribe: () => void;

	constructor(
		private readonly state: () => RunState,
		log: EventLogWriter,
		private readonly settings: RunSettings,
	) {
		for (const t of state().tasks.values()) {
			this.add(t.id, t.dependsOn);
			this.touch(t.id);
		}
		// Subscribed after the coordinator's fold: the state already holds each event it sees.
		this.unsubscribe = log.subscribe((event) => this.follow(event));
	}

	/** Whether a pending task waits on an answer (it starts once it has one). */
	get answering(): boolean {
		return this.asking.size > 0;
	}

	/** The tasks touched since the last call, in plan order; the next call starts afresh. */
	take(): string[] {
		const ids = [...this.touched].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
		this.touched = new Set();
		return ids;
	}

	/** Looks at `id` again next time, and at the tasks that depend on it. */
	touch(id: string): void {
		this.touched.add(id);
		for (const d of this.dependents.get(id) ?? []) this.touched.add(d);
		const task = this.state().tasks.get(id);
		if (task && task.status === "pending" && waitsForAnswer(task, this.settings)) this.asking.add(id);
		else this.asking.delete(id);
	}

	stop(): void {
		this.unsubscribe();
	}

	private add(id: string, dependsOn: readonly string[]): void {
		if (!this.order.has(id)) this.order.set(id, this.order.size);
		for (const dep of dependsOn) {
			let set = this.dependents.get(dep);
			if (!set) {
				set = new Set();
				this.dependents.set(dep, set);
			}
			set.add(id);
		}
	}

	private follow(e: CrewEvent): void {
		if (e.type === "task.planned" && e.taskId) this.add(e.taskId, e.data.dependsOn);
		if (e.type === "task.depends" && e.taskId) this.add(e.taskId, e.data.add);
		if (e.taskId) this.touch(e.taskId);
		// A resume or a loop's next round reopens tasks other than the one it names.
		if (e.type === "run.resumed" || e.type === "task.looped") for (const id of e.data.reopened) this.touch(id);
	}
}

/** Whether every dependency of `task` succeeded. */
export function depsMet(task: TaskState, tasks: ReadonlyMap<string, TaskState>): boolean {
	return task.dependsOn.every((d) => tasks.get(d)?.status === "succeeded");
}
