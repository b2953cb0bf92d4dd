/**
 * What is said to running workers: each message is logged first (`task.message`: who sent what), then delivered
 * through the worker's channel, whichever runtime it has, and its delivery logged (`task.steered`).
 */
import type { EventLogWriter } from "../store/event-log.js";
import type { MessageMode, RunState } from "../store/events.js";
import type { WorkerChannel } from "../workers/runtime.js";
import type { ControlCommand } from "./control.js";

/** How long a message waits for its task to take messages (its worker is starting) before it is refused. */
const DELIVERY_WAIT_MS = 5000;

export interface ConversationContext {
	state: () => RunState;
	log: EventLogWriter;
	channels: Map<string, WorkerChannel>;
	now: () => number;
}

export class Conversation {
	/** Messages logged in the run so far: the next one's id is `m<said + 1>` (a resumed run goes on counting). */
	private said: number;

	constructor(private readonly cc: ConversationContext) {
		this.said = [...cc.state().tasks.values()].reduce((n, t) => n + (t.messages?.length ?? 0), 0);
	}

	/**
	 * A steer (or follow-up) for the running task the command names (or the only running one). A command that names
	 * no running task is refused and logged without its text: no worker was told anything. It is logged on the task it
	 * named if the run has one, else on none (a task id typed by anyone is not a task).
	 */
	async steer(command: Extract<ControlCommand, { type: "steer" }>): Promise<void> {
		const { tasks } = this.cc.state();
		const running = [...tasks.values()].filter((t) => t.status === "running").map((t) => t.id);
		const taskId = command.taskId ?? (running.length === 1 ? running[0] : undefined);
		if (!taskId || !running.includes(taskId)) {
			const why = running.length === 0 ? "no task is running" : `say which task: ${running.join(", ")}`;
			const refused = { delivered: false, chars: command.message.length, from: command.from, reason: why };
			await this.cc.log.append(
				"task.steered",
				{ ...refused, ...(command.followUp && { followUp: true }) },
				taskId && tasks.has(taskId) ? taskId : undefined,
			);
			return;
		}
		await this.deliver(taskId, command.message, command.followUp ? "follow-up" : "steer", command.from);
	}

	/**
	 * Logs `text` for `taskId` (the log redacts its secrets), then hands it to the task's worker once it takes
	 * messages, and logs whether it was delivered: why not, or undefined once it was.
	 */
	async deliver(taskId: string, text: string, mode: MessageMode, from: string): Promise<string | undefined> {
		const id = this.nextId();
		await this.record(id, taskId, text, mode, from);
		return this.hand(id, taskId, text, mode, from);
	}

	/** The id of the next message said in the run. */
	nextId(): string {
		return `m${++this.said}`;
	}

	/** Logs message `id` said to `taskId` (`task.message`), before anything is done with it. */
	async record(id: string, taskId: string, text: string, mode: MessageMode, from: string): Promise<void> {
		await this.cc.log.append("task.message", { id, from, text, mode }, taskId);
	}

	/**
	 * Hands logged message `id` (as `text`: what the worker reads) to the task's worker once it takes messages (a
	 * `message` as a follow-up), and logs whether it was delivered: why not, or undefined once it was.
	 */
	async hand(id: string, taskId: string, text: string, mode: MessageMode, from: string): Promise<string | undefined> {
		const { log, channels, now } = this.cc;
		for (const deadline = now() + DELIVERY_WAIT_MS; !channels.has(taskId) && now() < deadline; )
			await new Promise((resolve) => setTimeout(resolve, 100));
		const channel = channels.get(taskId);
		const refused = channel
			? await (mode === "steer" ? channel.steer(text) : channel.followUp(text)).then(
					() => undefined,
					(err: Error) => err.message,
				)
			: "its worker takes no messages now (it is starting or ending)";
		const sent = { message: id, chars: text.length, from, ...(mode === "follow-up" && { followUp: true }) };
		await log.append(
			"task.steered",
			refused === undefined ? { delivered: true, ...sent } : { delivered: false, ...sent, reason: refused },
			taskId,
		);
		return refused;
	}
}
