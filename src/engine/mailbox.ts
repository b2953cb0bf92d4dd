/**
 * The mailbox between tasks: a worker's `message` tool (to a task of the same run, or `lead`). Each message is
 * logged on its recipient first (`task.message`, mode `message`); a running task gets it as a follow-up through its
 * conversation, a task not started yet finds it in its prompt, an ended one is refused; `lead` is a `run.message`.
 */
import type { EventLogWriter } from "../store/event-log.js";
import type { RunState } from "../store/events.js";
import type { WorkerRequest } from "../workers/runtime.js";
import type { Conversation } from "./conversation.js";
import { fencedMessage } from "./prompt.js";

/** A message longer than this is refused: the sender is told to shorten it or to leave it in its answer. */
const MAX_MESSAGE_CHARS = 4000;

/** The recipient that is the person running the team. */
const LEAD = "lead";

/** A message as a task's prompt shows it. */
export interface Mail {
	id: string;
	from: string;
	text: string;
}

export interface MailboxContext {
	state: () => RunState;
	log: EventLogWriter;
	conversation: Conversation;
}

export class Mailbox {
	/** Messages for tasks not started yet, logged or being logged, by recipient. */
	private readonly queued = new Map<string, Mail[]>();
	/** Tasks whose prompt has been made: a message for one of them goes to its worker. */
	private readonly started = new Set<string>();
	/** The attempt each task's messages queued during a back-off were last claimed for. */
	private readonly retried = new Map<string, number>();

	constructor(private readonly mc: MailboxContext) {}

	/**
	 * Task `sender`'s message: the tool's result, saying what happened to it. Rejects (the tool's error, for the
	 * model) with why it was refused.
	 */
	async send(sender: string, request: Extract<WorkerRequest, { type: "message" }>): Promise<string> {
		const { to } = request;
		const text = request.text.trim();
		const from = `task:${sender}`;
		const tasks = this.mc.state().tasks;
		if (!text) throw new Error("the message is empty: say something in `text`");
		if (text.length > MAX_MESSAGE_CHARS)
			throw new Error(
				`the message is ${text.length} characters; the limit is ${MAX_MESSAGE_CHARS}: shorten it, or put the details in your answer`,
			);
		if (to === LEAD) {
			await this.mc.log.append("run.message", { from, text });
			return "sent to the lead (the person running the team); no answer comes back";
		}
		const others = [...tasks.keys()].filter((id) => id !== sender);
		if (to === sender) throw new Error(`task ${to} is you: send to another task (${others.join(", ")}) or to lead`);
		const recipient = tasks.get(to);
		if (!recipient)
			throw new Error(`no task "${to}" in this run: send to one of its tasks (${others.join(", ")}) or to lead`);
		const { conversation } = this.mc;
		const id = conversation.nextId();
		const unstarted = recipient.status === "pending" && !this.started.has(to);
		// Between two attempts (a retry's back-off) no worker takes it: the next attempt's prompt does.
		const between = recipient.awaitingRetry && (this.retried.get(to) ?? 0) <= recipient.attempt;
		if (unstarted || between) {
			// Queued before it is logged: a prompt made meanwhile takes it.
			this.queued.set(to, [...(this.queued.get(to) ?? []), { id, from, text }]);
			await conversation.record(id, to, text, "message", from);
			return unstarted
				? `queued for task ${to}, which has not started: your message will be in its prompt when it starts`
				: `queued for task ${to}, which waits to try again: your message will be in its next attempt's prompt`;
		}
		await conversation.record(id, to, text, "message", from);
		if (recipient.status !== "pending" && recipient.status !== "running") {
			const reason = `task ${to} has ended (${recipient.status}): it takes no messages`;
			await this.mc.log.append("task.steered", { delivered: false, message: id, chars: text.length, from, reason }, to);
			throw new Error(reason);
		}
		const refused = await conversation.hand(id, to, fencedMessage({ from, text }), "message", from);
		if (refused !== undefined) throw new Error(`not delivered to task ${to}: ${refused}`);
		return `delivered to task ${to}, which is running: it reads your message when its current turn ends`;
	}

	/**
	 * The messages task `taskId`'s prompt shows, now that it is made: those sent to it before it started (and, for a
	 * task started again, those of its earlier start); the ones not yet delivered are logged delivered. Any message
	 * after this goes to its worker.
	 */
	async claim(taskId: string): Promise<Mail[]> {
		this.started.add(taskId);
		const queued = this.queued.get(taskId) ?? [];
		this.queued.delete(taskId);
		const logged = (this.mc.state().tasks.get(taskId)?.messages ?? []).filter(
			(m) => m.mode === "message" && m.delivered !== false,
		);
		const inPrompt: (Mail & { delivered?: boolean })[] = [
			...logged,
			...queued.filter((q) => !logged.some((m) => m.id === q.id)),
		];
		await this.delivered(
			taskId,
			inPrompt.filter((m) => m.delivered === undefined),
		);
		return inPrompt.map(({ id, from, text }) => ({ id, from, text }));
	}

	/**
	 * The messages sent to task `taskId` while it waited to try again, for the prompt of its attempt `attempt` (logged
	 * delivered). Any message after this goes to that attempt's worker.
	 */
	async claimRetry(taskId: string, attempt: number): Promise<Mail[]> {
		this.retried.set(taskId, attempt);
		const queued = this.queued.get(taskId) ?? [];
		this.queued.delete(taskId);
		await this.delivered(taskId, queued);
		return queued;
	}

	private async delivered(taskId: string, mails: Mail[]): Promise<void> {
		for (const m of mails)
			await this.mc.log.append(
				"task.steered",
				{ delivered: true, message: m.id, chars: m.text.length, from: m.from },
				taskId,
			);
	}
}
