/**
 * `/team-result` and `/team-transcript`: one task's result or transcript as markdown, scrolled with the keys the
 * dashboard uses. A transcript grows while it is shown; a view left at its end stays there as it grows.
 */
import { runStatus, UsageError } from "../api/index.js";
import type { TaskState } from "../store/events.js";
import { RunNotFoundError, type RunView } from "../store/run-store.js";
import { readConfined } from "../util/safe-fs.js";
import { type Block, type Line, moved, type TextKit } from "./text.js";
import { TranscriptTail } from "./transcript.js";

/** Markdown that may grow: a result (read once) or a transcript (followed). */
export interface ViewerSource {
	title: string;
	blocks(): readonly string[];
	/** Reads what is new; whether there was anything. */
	poll(): Promise<boolean>;
}

/**
 * `[runId] [taskId]`: both; or one word, a run of this repository if it names one, else a task of the latest run;
 * or nothing: the latest run. Without a task, `pick` chooses one.
 */
export async function findTask(
	cwd: string,
	args: string,
	pick: (tasks: TaskState[]) => TaskState | undefined,
): Promise<{ view: RunView; task: TaskState }> {
	const { view, taskId } = await findRun(cwd, args);
	const tasks = [...view.state.tasks.values()];
	const task = taskId ? view.state.tasks.get(taskId) : pick(tasks);
	if (!task)
		throw new UsageError(
			taskId
				? `run ${view.state.runId} has no task "${taskId}" (its tasks: ${tasks.map((t) => t.id).join(", ")})`
				: `run ${view.state.runId} has no task to show yet`,
		);
	return { view, task };
}

/** `[runId] [taskId]` as `findTask` reads them; the task only if one is named. */
export async function findRun(cwd: string, args: string): Promise<{ view: RunView; taskId?: string }> {
	const [first, second] = args.split(/\s+/).filter(Boolean);
	if (first && second) return { view: await runStatus(cwd, first), taskId: second };
	if (!first) return { view: await runStatus(cwd) };
	const named = await runStatus(cwd, first).catch((err: Error) => {
		if (err instanceof RunNotFoundError) return undefined;
		throw err;
	});
	return named ? { view: named } : { view: await runStatus(cwd), taskId: first };
}

const byEnd = (a: TaskState, b: TaskState) => (a.endedAt ?? "").localeCompare(b.endedAt ?? "");
const byStart = (a: TaskState, b: TaskState) => (a.startedAt ?? "").localeCompare(b.startedAt ?? "");

/** A task's result; without a task named, the run's last one to succeed. */
export async function resultSource(cwd: string, args: string): Promise<ViewerSource> {
	const { view, task } = await findTask(cwd, args, (tasks) =>
		tasks
			.filter((t) => t.resultPath)
			.sort(byEnd)
			.at(-1),
	);
	if (!task.resultPath)
		throw new UsageError(
			`task ${task.id} of run ${view.state.runId} is ${task.status}${task.reason ? ` (${task.reason.split("\n")[0]})` : ""}: no result; see /team-transcript ${view.state.runId} ${task.id}`,
		);
	const text = await readConfined(view.paths.dir, task.resultPath);
	return {
		title: `result of ${task.id} · run ${view.state.runId} · ${task.status}`,
		blocks: () => [text],
		poll: async () => false,
	};
}

/** A task's latest attempt's transcript; without a task named, the run's last one to start. */
export async function transcriptSource(cwd: string, args: string): Promise<ViewerSource> {
	const { view, task } = await findTask(cwd, args, (tasks) =>
		tasks
			.filter((t) => t.startedAt)
			.sort(byStart)
			.at(-1),
	);
	if (task.attempt === 0) throw new UsageError(`task ${task.id} of run ${view.state.runId} has not started`);
	const tail = new TranscriptTail(view.paths, task.id, task.attempt);
	await tail.poll();
	if (tail.missing)
		throw new UsageError(
			`task ${task.id} of run ${view.state.runId} has no transcript (${view.state.settings.runtime} runtime: in-process and scaffold workers keep none)`,
		);
	return {
		title: `transcript of ${task.id}, attempt ${task.attempt} · run ${view.state.runId}`,
		blocks: () => tail.blocks,
		poll: () => tail.poll(),
	};
}

export class Viewer {
	private top = 0;
	private page = 10;
	private total = 0;
	/** At the end: new content keeps the view there. */
	private following = false;
	private readonly rendered: Block[] = [];
	/** Why the source could not be read at the last refresh (shown at the foot of the view). */
	private problem: string | undefined;

	constructor(
		private readonly source: ViewerSource,
		private readonly kit: TextKit,
	) {}

	/** Reads what the source gained; whether there is anything new to draw. */
	async refresh(): Promise<boolean> {
		const before = this.problem;
		try {
			this.problem = undefined;
			return (await this.source.poll()) || before !== undefined;
		} catch (err) {
			this.problem = `pi-crew: ${(err as Error).message}`;
			return this.problem !== before;
		}
	}

	handleKey(key: string): "close" | undefined {
		if (key === "escape" || key === "q") return "close";
		const top = moved(key, this.top, this.page, Math.max(0, this.total - this.page));
		if (top !== undefined) {
			this.top = top;
			this.following = top >= this.total - this.page;
		}
		return undefined;
	}

	render(width: number, height: number): string[] {
		const blocks = this.source.blocks();
		for (let i = this.rendered.length; i < blocks.length; i++) this.rendered.push(this.kit.markdown(blocks[i] ?? ""));
		const lines = this.rendered.flatMap((b, i) => (i > 0 ? ["", ...b.render(width)] : [...b.render(width)]));
		this.page = Math.max(1, height - 2);
		this.total = lines.length;
		const last = Math.max(0, lines.length - this.page);
		this.top = this.following ? last : Math.min(this.top, last);
		const body: Line[] = lines.slice(this.top, this.top + this.page).map((text) => ({ text }));
		while (body.length < this.page) body.push({ text: "" });
		const position = `lines ${Math.min(lines.length, this.top + 1)}–${Math.min(lines.length, this.top + this.page)} of ${lines.length}`;
		return [
			{ text: this.source.title, tone: "accent" } as Line,
			...body,
			this.problem
				? ({ text: this.problem, tone: "error" } as Line)
				: ({ text: `${position} · ↑↓ jk PgUp PgDn g G scroll · esc close`, tone: "muted" } as Line),
		].map((l) => this.kit.line(l, width));
	}
}
