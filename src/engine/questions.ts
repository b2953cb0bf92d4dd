/**
 * A worker's questions (its `ask` tool) and their answers. A question is checked, logged (`task.asked`), and waits
 * for a `respond` command (`task.answered`), the run's cancel, or the end of the run's wall budget (waits.ts); the waiting counts
 * against neither the task's timeout (the runtimes pause it) nor its heartbeat. With nobody to ask
 * (`settings.unattended`) it takes its default, or fails the task.
 * A question outlives its attempt: a coordinator that dies while a task waits leaves the task `waiting`; the resumed
 * one starts it again only once it is answered, and the new attempt's identical question is answered from the log,
 * without new events, so the log holds each question and its answer once. Only such an answer is reused, once: one
 * given while its question's attempt still ran was for that attempt ("Ready to proceed?" is asked anew).
 */
import { readEventLog } from "../store/event-log.js";
import type { EventPayloads, Waiting } from "../store/events.js";
import type { RunSettings } from "../store/settings.js";
import { redact } from "../util/redact.js";
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

/** A question of the task in the log, with its answer, and whether the answer came after its attempt ended. */
interface Asked {
	asked: EventPayloads["task.asked"];
	answer?: string;
	/** A resume reopened the task between the question and its answer: the answer is for the attempt to come. */
	forNext: boolean;
}

export class Questions {
	/** The calls waiting for an answer, by question id (the same question asked twice at once: two calls). */
	private readonly waits: PersonWaits<string>;
	private readonly issued = new Set<string>();
	/** Answers reused from the log by this coordinator: each is reused once. */
	private readonly reused = new Set<string>();
	private wake: { promise: Promise<void>; resolve: () => void } = signal();

	constructor(private readonly ctx: Pick<RunContext, "log" | "state" | "settings" | "paths" | "watcher" | "now">) {
		this.waits = new PersonWaits(ctx, "answer to its question");
	}

	/** Resolves at the next answer: a task that waited for it may start. */
	answered(): Promise<void> {
		return this.wake.promise;
	}

	/**
	 * The answer to a worker's question. `signal`: its attempt is stopped (the call ends with an error); `end`: ends
	 * its attempt as a failure of the task, with the reason (nobody can answer, the wall budget is spent).
	 */
	async ask(taskId: string, q: Ask, signal: AbortSignal, end: (reason: string) => void): Promise<string> {
		const problem = questionProblem(q);
		if (problem) throw new Error(`${problem}; ask again`);
		const past = await this.history(taskId);
		// The log holds the question redacted: compared as it was logged.
		const text = redact(q.text);
		const same = past.find((p) => p.asked.text === text && p.forNext && !this.reused.has(p.asked.id));
		if (same?.answer !== undefined) {
			this.reused.add(same.asked.id);
			return same.answer;
		}
		// The question an earlier attempt asked and the task still waits on (a resume nobody answers): the same one.
		const waiting = this.ctx.state().tasks.get(taskId)?.waiting;
		const open = past.find((p) => p.asked.id === waiting?.id && p.asked.text === text);
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
		const answer = await this.waits.wait(taskId, id, signal);
		if ("word" in answer) return answer.word;
		if ("budget" in answer) end(answer.budget);
		throw new Error("the task was stopped while it waited for an answer");
	}

	/** A person's answer (the `respond` command): one for a question that is not waiting any more is dropped. */
	async respond(command: Respond): Promise<void> {
		// The command may have been sent from the question as written, before it was durable and folded here.
		await this.ctx.log.drain();
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

	/** A question id, unique in the run: the task's id and its question's number. */
	private nextId(taskId: string, asked: number): string {
		let n = asked + 1;
		while (this.issued.has(`${taskId}.q${n}`)) n++;
		const id = `${taskId}.q${n}`;
		this.issued.add(id);
		return id;
	}

	/** The task's questions so far, from the log (an earlier coordinator's included), with their answers. */
	private async history(taskId: string): Promise<Asked[]> {
		const { events } = await readEventLog(this.ctx.paths.events, { runId: this.ctx.log.runId });
		const past = new Map<string, Asked>();
		for (const e of events) {
			if (e.type === "run.resumed" && e.data.reopened.includes(taskId))
				for (const q of past.values()) if (q.answer === undefined) q.forNext = true;
			if (e.taskId !== taskId) continue;
			if (e.type === "task.asked") past.set(e.data.id, { asked: e.data, forNext: false });
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
