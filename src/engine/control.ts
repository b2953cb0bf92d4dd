/**
 * The control channel of a run: how other processes (`pi-crew cancel`, a pi session) reach the coordinator without
 * ever writing its log. A command is a file dropped atomically into `<run>/control/`; the coordinator polls the
 * directory, turns each command into events, and deletes it.
 */
import { randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RunPaths } from "../store/run-store.js";
import { UsageError } from "../util/errors.js";
import { assertNoSymlinks, readConfined, removeFile, writeFileAtomic } from "../util/safe-fs.js";

export type ControlCommand =
	| { type: "cancel"; from: string }
	/** A message for a running task (the only one, or `taskId`): a steer, or a follow-up after its current turn. */
	| { type: "steer"; message: string; taskId?: string; followUp?: boolean; from: string }
	/** The answer to a task's question (`questionId`: the `task.asked` it answers). */
	| { type: "respond"; taskId: string; questionId: string; answer: string; from: string }
	/** Approves a task's answer that waits for approval (`drop`: adaptive tasks not to run), or rejects it (`reject`). */
	| { type: "approve"; taskId: string; approvalId: string; drop?: string[]; reject?: string; from: string };

export function controlDir(runDir: string): string {
	return join(runDir, "control");
}

let sent = 0;

/**
 * The most characters a person's text in a command may have (a steer, an answer, a rejection's feedback): it waits on
 * disk, unredacted, until the coordinator logs it, and a worker reads it all as its next prompt.
 */
export const MAX_COMMAND_TEXT = 16_000;

/** A command's text that a person wrote, by the name the user knows it by. */
function saidText(command: ControlCommand): [string, string] | undefined {
	if (command.type === "steer") return ["the message", command.message];
	if (command.type === "respond") return ["the answer", command.answer];
	if (command.type === "approve" && command.reject !== undefined) return ["the feedback", command.reject];
	return undefined;
}

/** Drops `command` into the run's inbox; `now` (ms) stamps it, so an inbox can tell whose coordinator it was sent to. */
export async function sendControl(
	paths: RunPaths,
	command: ControlCommand,
	now: () => number = Date.now,
): Promise<void> {
	const [what, text] = saidText(command) ?? ["", ""];
	if (text.length > MAX_COMMAND_TEXT)
		throw new UsageError(
			`${what} is ${text.length} characters; the most is ${MAX_COMMAND_TEXT}: shorten it (put the details in a file of the repository and name it)`,
		);
	// Sorted by name when read: time, then this process's count (two commands in one millisecond keep their order).
	const name = `${now()}-${String(sent++).padStart(8, "0")}-${randomUUID()}.json`;
	// Atomic (written aside, then renamed): the coordinator never reads a half-written command, nor the draft, whose
	// name is not a command's.
	await writeFileAtomic(paths.repo, join(controlDir(paths.dir), name), JSON.stringify(command));
}

export class ControlInbox {
	private timer: NodeJS.Timeout | undefined;
	private polling = false;

	constructor(
		private readonly paths: RunPaths,
		private readonly onCommand: (command: ControlCommand) => Promise<void>,
		private readonly pollMs = 200,
	) {}

	/**
	 * Drops commands sent before `since` (ms): they were addressed to an earlier coordinator of this run and arrived as
	 * it ended. Commands sent since this coordinator took the run are kept, however early they came; so are answers,
	 * whenever sent: a question outlives its attempt, so what a person answered while no coordinator ran is for the one
	 * that resumes the run. An approval is not: it was for a draft of an attempt that ended with that coordinator.
	 */
	async clearBefore(since: number): Promise<void> {
		const dir = controlDir(this.paths.dir);
		for (const name of await commandFiles(this.paths.repo, dir)) {
			const sent = Number(name.split("-")[0]);
			if (sent >= since) continue;
			const text = await readConfined(dir, name).catch(() => undefined);
			const type = text ? parseCommand(text)?.type : undefined;
			if (type === "respond") continue;
			await removeFile(this.paths.repo, join(dir, name)).catch(() => undefined);
		}
	}

	start(): void {
		// A command that arrives as the run ends finds the log closed: there is nothing left to cancel.
		this.timer = setInterval(() => void this.poll().catch(() => undefined), this.pollMs);
	}

	stop(): void {
		clearInterval(this.timer);
	}

	/**
	 * Reads and handles every waiting command, oldest first. Errors reading one command skip only that command. A
	 * person's answer or verdict is deleted once handled (handling one twice changes nothing): a coordinator killed
	 * meanwhile leaves it for the next. Others go first: a cancel or a steer is not repeated.
	 */
	async poll(): Promise<void> {
		if (this.polling) return;
		this.polling = true;
		try {
			const dir = controlDir(this.paths.dir);
			for (const name of await commandFiles(this.paths.repo, dir)) {
				const text = await readConfined(dir, name).catch(() => undefined);
				const command = text ? parseCommand(text) : undefined;
				const remove = () => removeFile(this.paths.repo, join(dir, name)).catch(() => undefined);
				if (command?.type === "respond" || command?.type === "approve") {
					await this.onCommand(command);
					await remove();
				} else {
					await remove();
					if (command) await this.onCommand(command);
				}
			}
		} finally {
			this.polling = false;
		}
	}
}

/** Names of command files as sendControl writes them (time, count, uuid). */
const COMMAND_FILE = /^\d{1,16}-\d{8}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

/**
 * The command files waiting in `dir`, oldest first: only regular files with the names sendControl gives them, in a
 * control directory that is a real directory. A link (the directory itself, or an entry in it) is never read or
 * deleted: the inbox must not become a way to delete a file elsewhere.
 */
async function commandFiles(repo: string, dir: string): Promise<string[]> {
	if (
		!(await assertNoSymlinks(repo, dir).then(
			() => true,
			() => false,
		))
	)
		return [];
	const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
	return entries
		.filter((e) => e.isFile() && COMMAND_FILE.test(e.name))
		.map((e) => e.name)
		.sort();
}

/** A command as sendControl writes it, or undefined; one with more text than it sends came from elsewhere: dropped. */
function parseCommand(text: string): ControlCommand | undefined {
	const command = commandShape(text);
	return command && (saidText(command)?.[1].length ?? 0) <= MAX_COMMAND_TEXT ? command : undefined;
}

function commandShape(text: string): ControlCommand | undefined {
	try {
		const c = JSON.parse(text) as ControlCommand;
		if (c.type === "cancel" && typeof c.from === "string") return c;
		if (c.type === "steer" && typeof c.message === "string" && typeof c.from === "string") return c;
		if (
			c.type === "respond" &&
			typeof c.taskId === "string" &&
			typeof c.questionId === "string" &&
			typeof c.answer === "string" &&
			typeof c.from === "string"
		)
			return c;
		if (
			c.type === "approve" &&
			typeof c.taskId === "string" &&
			typeof c.approvalId === "string" &&
			typeof c.from === "string" &&
			(c.drop === undefined || (Array.isArray(c.drop) && c.drop.every((d) => typeof d === "string"))) &&
			(c.reject === undefined || typeof c.reject === "string")
		)
			return c;
	} catch {
		// not a command: dropped
	}
	return undefined;
}
