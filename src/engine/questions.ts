/**
 * A worker's questions (its `ask` tool) and their answers. A question is checked, logged (`task.asked`), and waits
 * for a `respond` command (`task.answered`), the run's cancel, or the end of the run's wall budget; the waiting counts
 * against neither the task's timeout (the runtimes pause it) nor its heartbeat. With nobody to ask
 * (`settings.unattended`) it takes its default, or fails the task.
 * A question outlives its attempt: a coordinator that dies while a task waits leaves the task `waiting`; the resumed
 * one starts it again only once it is answered, and the new attempt's identical question is answered from the log,
 * without new events, so the log holds each question and its answer once.
 */
import { readEventLog } from "../store/event-log.js";
import type { EventPayloads, RunSettings, Waiting } from "../store/events.js";
import type { WorkerRequest } from "../workers/runtime.js";
import type { RunContext } from "./context.js";
import { PersonWaits } from "./waits.js";

export const MAX_QUESTION_CHARS = 4000;
export const MAX_CHOICES = 20;
export const MAX_CHOICE_CHARS = 200;

type Ask = Extract<WorkerRequest, { type: "ask" }>;
type Respond = { taskId: string; questionId: string; answer: string; from: string };

/** Who answered when nobody could: said in the log. */
const UNATTENDED = "pi-crew (unattended run)";

/** What is wrong with a question, for the worker's model to correct; undefined when it is fine. */
export function questionProblem(q: Ask): string | undefined {
	if (!q.text.trim()) return "the question is empty";
	if (q.text.length > MAX_QUESTION_CHARS) return `a question is at most ${MAX_QUESTION_CHARS} characters`;
	const choices = q.choices ?? [];
	if (choices.length > MAX_CHOICES) return `at most ${MAX_CHOICES} choices`;
	if (choices.some((c) => !c.trim() || c.length > MAX_CHOICE_CHARS))
		return `each choice is 1 to ${MAX_CHOICE_CHARS} characters`;
	if (new Set(choices.map((c) => c.trim().toLowerCase())).size !== choices.length) return "the choices repeat";
	if (q.default !== undefined) {
		if (q.default.length > MAX_CHOICE_CHARS) return `the default is at most ${MAX_CHOICE_CHARS} characters`;
		if (choices.length > 0 && matchAnswer(choices, q.default) === undefined)
			return "the default is not one of the choices";
	}
	return undefined;
}

/** A waiting question as `status --json` shows it. */
export function questionJson(q: Extract<Waiting, { kind: "question" }>) {
	return {
		text: q.text,
		...(q.choices ? { choices: q.choices } : {}),
		...(q.default !== undefined ? { default: q.default } : {}),
		askedAt: q.since,
	};
}

/** The answer as given, or the choice it names (case and spaces aside); undefined when it names none of them. */
export function matchAnswer(choices: readonly string[] | undefined, answer: string): string | undefined {
	if (!choices?.length) return answer;
	const want = answer.trim().toLowerCase();
	return choices.find((c) => c.trim().toLowerCase() === want);
}

export class Questions {
	/** The calls waiting for an answer, by question id (the same question asked twice at once: two calls). */
	private readonly waits: PersonWaits<string>;
	private readonly issued = new Set<string>();
	private wake: { promise: Promise<void>; resolve: () => void } = signal();

	constructor(private readonly ctx: Pick<RunContext, "log" | "state" | "settings" | "paths" | "watcher" | "now">) {
		this.waits = new PersonWaits(ctx.watcher);
	}

	/** Resolves at the next answer: a task that waited for it may start. */
	answered(): Promise<void> {
		return this.wake.promise;
	}

	/**
	 * The answer to a worker's question. `signal`: its attempt is stopped (the call ends with an error); `end`: ends
	 * its attempt as a failure of the task, with the reason (nobody can answer).
	 */
	async ask(taskId: string, q: Ask, signal: AbortSignal, end: (reason: string) => void): Promise<string> {
		const problem = questionProblem(q);
		if (problem) throw new Error(`${problem}; ask again`);
		const past = await this.history(taskId);
		const same = past.find((p) => p.asked.text === q.text && p.answer !== undefined);
		if (same?.answer !== undefined) return same.answer;
		// The question an earlier attempt asked and the task still waits on (a resume nobody answers): the same one.
		const waiting = this.ctx.state().tasks.get(taskId)?.waiting;
		const open = past.find((p) => p.asked.id === waiting?.id && p.asked.text === q.text);
		const id = open?.asked.id ?? this.nextId(taskId, past.length);
		if (!open) {
			const asked: EventPayloads["task.asked"] = {
				id,
				text: q.text,
				...(q.choices?.length ? { choices: q.choices } : {}),
				...(q.default !== undefined ? { default: q.default } : {}),
			};
			await this.ctx.log.append("task.asked", asked, taskId);
		}
		const unattended = this.ctx.settings.unattended;
		if (unattended === "default" && q.default !== undefined) {
			const text = matchAnswer(q.choices, q.default) ?? q.default;
			await this.ctx.log.append("task.answered", { id, text, from: UNATTENDED, defaulted: true }, taskId);
			return text;
		}
		if (unattended) {
			const why = unattended === "default" ? "it has no default" : "the run takes no input";
			end(`asked "${q.text}", which nobody can answer (${why})`);
			throw new Error("nobody can answer in this run");
		}
		return this.wait(taskId, id, signal, end);
	}

	/** A person's answer (the `respond` command): one for a question that is not waiting any more is dropped. */
	async respond(command: Respond): Promise<void> {
		const waiting = this.ctx.state().tasks.get(command.taskId)?.waiting;
		if (waiting?.kind !== "question" || waiting.id !== command.questionId) return;
		const text = matchAnswer(waiting.choices, command.answer);
		if (text === undefined) return; // the CLI lists the choices before it sends
		await this.ctx.log.append("task.answered", { id: waiting.id, text, from: command.from }, command.taskId);
		this.waits.give(command.taskId, waiting.id, text);
		const woken = this.wake;
		this.wake = signal();
		woken.resolve();
	}

	private async wait(taskId: string, id: string, signal: AbortSignal, end: (reason: string) => void) {
		const timer = this.wallTimer(end);
		try {
			const answer = await this.waits.wait(taskId, id, signal);
			if (answer === undefined) throw new Error("the task was stopped while it waited for an answer");
			return answer;
		} finally {
			clearTimeout(timer);
		}
	}

	/** The run's wall budget still applies to a wait: once it is spent, `end` ends the attempt. */
	private wallTimer(end: (reason: string) => void): NodeJS.Timeout | undefined {
		const { maxWallMs } = this.ctx.settings.budget ?? {};
		if (maxWallMs === undefined) return undefined;
		const state = this.ctx.state();
		const left = Date.parse(state.activeSince ?? state.createdAt) + maxWallMs - this.ctx.now();
		return setTimeout(
			() => end(`budget-exceeded: no answer to its question within the run's ${Math.round(maxWallMs / 1000)}s`),
			Math.min(Math.max(0, left), 2 ** 31 - 1), // a setTimeout waits at most 2^31-1 ms
		);
	}

	/** A question id, unique in the run: the task's id and its question's number. */
	private nextId(taskId: string, asked: number): string {
		let n = asked + 1;
		while (this.issued.has(`${taskId}.q${n}`)) n++;
		const id = `${taskId}.q${n}`;
		this.issued.add(id);
		return id;
	}

	/** The task's questions so far, from the log (an earlier coordinator's included), with their answers. */
	private async history(taskId: string): Promise<{ asked: EventPayloads["task.asked"]; answer?: string }[]> {
		const { events } = await readEventLog(this.ctx.paths.events, { runId: this.ctx.log.runId });
		const past = new Map<string, { asked: EventPayloads["task.asked"]; answer?: string }>();
		for (const e of events) {
			if (e.taskId !== taskId) continue;
			if (e.type === "task.asked") past.set(e.data.id, { asked: e.data });
			else if (e.type === "task.answered") {
				const q = past.get(e.data.id);
				if (q) q.answer = e.data.text;
			}
		}
		return [...past.values()];
	}
}

/**
 * Whether a task waits for the answer to a question (it does not start until it has one). In a run nobody answers
 * (resumed with `--no-input`) it starts, and its worker's question gets what unattended questions get.
 */
export function waitsForAnswer(task: { waiting?: Waiting }, settings: Pick<RunSettings, "unattended">): boolean {
	return task.waiting?.kind === "question" && !settings.unattended;
}

function signal(): { promise: Promise<void>; resolve: () => void } {
	let resolve: () => void = () => {};
	const promise = new Promise<void>((r) => {
		resolve = r;
	});
	return { promise, resolve };
}
