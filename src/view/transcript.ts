/**
 * A worker's transcript (pi's `--mode json` events, written by the child runtime) as readable markdown: the prompt
 * it was given, the model's text, each tool call with its arguments and each tool result, followed as the file grows.
 * Long tool output is cut for display only, pointing at the file, which keeps all of it.
 */
import { join } from "node:path";
import { attemptDir, type RunPaths } from "../store/run-store.js";
import { LineTail } from "../util/line-tail.js";
import { assertNoSymlinks, confined } from "../util/safe-fs.js";
import { TRANSCRIPT_FILE } from "../workers/runtime.js";

/** Lines of a tool result shown; the rest is in the transcript file. */
const RESULT_LINES = 20;

interface Content {
	type?: string;
	text?: string;
	thinking?: string;
	name?: string;
	arguments?: Record<string, unknown>;
}

interface Message {
	role?: string;
	content?: string | Content[];
	toolName?: string;
	isError?: boolean;
	stopReason?: string;
	errorMessage?: string;
}

/** A fence longer than any run of backticks in `text`, so the text cannot close it. */
function fenced(text: string): string {
	const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
	const fence = "`".repeat(longest + 1);
	return `${fence}\n${text}\n${fence}`;
}

function textOf(content: Message["content"]): string {
	if (typeof content === "string") return content;
	return (content ?? []).map((c) => (c.type === "text" ? (c.text ?? "") : "")).join("");
}

/** A tool call: its main argument inline when it is one short line, else all arguments as JSON. */
function toolCall(name: string, args: Record<string, unknown> = {}): string {
	const main = args.command ?? args.path ?? args.pattern;
	const keys = Object.keys(args);
	if (typeof main === "string" && keys.length === 1 && !/[`\n]/.test(main)) return `**→ ${name}** \`${main}\``;
	return `**→ ${name}**\n\n${fenced(JSON.stringify(args, null, 2))}`;
}

function toolResult(m: Message): string {
	const lines = textOf(m.content).split("\n");
	const cut = lines.length > RESULT_LINES;
	const shown = cut ? lines.slice(0, RESULT_LINES) : lines;
	const more = cut ? `\n\n_… ${lines.length - RESULT_LINES} more lines in ${TRANSCRIPT_FILE}_` : "";
	return `**← ${m.toolName ?? "tool"}${m.isError ? " (error)" : ""}**\n\n${fenced(shown.join("\n"))}${more}`;
}

/** The markdown blocks one transcript event adds: completed messages only (their partial updates are skipped). */
export function transcriptBlocks(event: unknown): string[] {
	const e = event as { type?: string; message?: Message };
	if (e?.type !== "message_end" || typeof e.message !== "object" || e.message === null) return [];
	const m = e.message;
	if (m.role === "user") return [`**prompt**\n\n${textOf(m.content)}`];
	if (m.role === "toolResult") return [toolResult(m)];
	if (m.role !== "assistant") return []; // the system prompt is in the attempt's system.md
	const blocks: string[] = [];
	for (const c of Array.isArray(m.content) ? m.content : []) {
		if (c.type === "text" && c.text?.trim()) blocks.push(c.text);
		else if (c.type === "thinking" && c.thinking?.trim()) blocks.push(`> _thinking:_ ${c.thinking.trim()}`);
		else if (c.type === "toolCall") blocks.push(toolCall(c.name ?? "tool", c.arguments));
	}
	if (m.stopReason === "error") blocks.push(`**model error:** ${m.errorMessage ?? "unknown"}`);
	return blocks;
}

/** The transcript of one attempt of a task, read as it grows (see LineTail): its blocks so far. */
export class TranscriptTail {
	readonly file: string;
	readonly blocks: string[] = [];
	/** No transcript yet, or none at all: the in-process and scaffold runtimes keep none. */
	missing = true;
	private readonly lines: LineTail;

	constructor(
		private readonly paths: RunPaths,
		readonly taskId: string,
		readonly attempt: number,
	) {
		this.file = confined(paths.artifacts, join(attemptDir(taskId, attempt), TRANSCRIPT_FILE));
		this.lines = new LineTail(this.file);
	}

	/** Reads what was appended since the last poll; whether blocks were added. */
	async poll(): Promise<boolean> {
		// A run directory may have arrived with the repository: its transcript is read only if no link leads there
		// (checked until the file is there; the reads themselves never follow a link at the file).
		if (this.missing) await assertNoSymlinks(this.paths.dir, this.file);
		let lines: string[];
		try {
			lines = await this.lines.read();
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
			throw err;
		}
		this.missing = false;
		const before = this.blocks.length;
		for (const line of lines) {
			let event: unknown;
			try {
				event = JSON.parse(line);
			} catch {
				continue; // a tool's stray output between pi's JSON lines (see pi-stream.ts): not an event
			}
			this.blocks.push(...transcriptBlocks(event));
		}
		return this.blocks.length > before;
	}
}
