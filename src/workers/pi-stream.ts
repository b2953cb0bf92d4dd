/** Reading pi's session events (a worker's stdout, a session's events): LF framing (no readline) and translation into worker events and an outcome. */
import type { Usage } from "../store/events.js";
import { failure, type WorkerEvent, type WorkerOutcome } from "./runtime.js";

/** Splits a byte stream on LF. Partial lines are kept as a chunk list, so a long line costs linear time. */
export class JsonlFramer {
	private partial: Buffer[] = [];

	constructor(private readonly onLine: (line: string) => void) {}

	push(chunk: Buffer): void {
		let start = 0;
		for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
			this.partial.push(chunk.subarray(start, nl));
			const line = Buffer.concat(this.partial).toString("utf8");
			this.partial = [];
			start = nl + 1;
			if (line.trim()) this.onLine(line);
		}
		if (start < chunk.length) this.partial.push(chunk.subarray(start));
	}

	end(): void {
		const rest = Buffer.concat(this.partial).toString("utf8");
		this.partial = [];
		if (rest.trim()) this.onLine(rest);
	}
}

interface AssistantSummary {
	text: string;
	stopReason: string;
	errorMessage?: string;
}

interface ToolResult {
	content?: { type: string; text?: string }[];
	/** bash's: `exit_code`, the command's exit status. */
	structuredContent?: { exit_code?: unknown };
}

interface PiUsage {
	input?: number;
	output?: number;
	cacheRead?: number;
	cacheWrite?: number;
	totalTokens?: number;
	cost?: { total?: number };
}

type PiEvent =
	| { type: "turn_start" }
	| { type: "tool_execution_start"; toolCallId?: string; toolName: string; args?: Record<string, unknown> }
	| { type: "tool_execution_end"; toolCallId?: string; toolName: string; isError?: boolean; result?: ToolResult }
	| { type: "auto_retry_start"; attempt?: number; maxAttempts?: number; delayMs?: number; errorMessage?: string }
	| { type: "auto_retry_end"; success?: boolean; attempt?: number }
	| {
			type: "message_end";
			message: {
				role: string;
				content?: { type: string; text?: string }[];
				stopReason?: string;
				errorMessage?: string;
				usage?: PiUsage;
			};
	  }
	| { type: string };

/** Stateful reader of one pi process's events. */
export class PiStreamReader {
	turns = 0;
	private last: AssistantSummary | undefined;
	/** The summary of each tool call in progress, by id: its end repeats it (a failed call is shown with its command). */
	private readonly calls = new Map<string, string | undefined>();

	/** Its events; `turn` (a model turn began) and `settled` (pi will not go on by itself) are for the runtime. */
	push(line: string): (WorkerEvent | { type: "turn" } | { type: "settled" })[] {
		let event: PiEvent;
		try {
			event = JSON.parse(line) as PiEvent;
		} catch {
			return []; // pi prints only JSON here; anything else is noise from a tool, kept in the transcript
		}
		if (typeof event !== "object" || event === null || typeof event.type !== "string") return [];
		if (event.type === "agent_settled") return [{ type: "settled" }];
		if (event.type === "turn_start") {
			this.turns++;
			return [{ type: "turn" }];
		}
		if (event.type === "tool_execution_start" && "toolName" in event) {
			const summary = summarizeArgs("args" in event ? event.args : undefined);
			if (typeof event.toolCallId === "string") this.calls.set(event.toolCallId, summary);
			return [{ type: "tool", tool: event.toolName, phase: "start", summary }];
		}
		if (event.type === "tool_execution_end" && "toolName" in event) {
			const summary = typeof event.toolCallId === "string" ? this.calls.get(event.toolCallId) : undefined;
			if (typeof event.toolCallId === "string") this.calls.delete(event.toolCallId);
			const end = { type: "tool" as const, tool: event.toolName, phase: "end" as const, ...(summary && { summary }) };
			return [
				event.isError === true ? { ...end, isError: true, ...failureOf(event.result) } : { ...end, isError: false },
			];
		}
		if (event.type === "auto_retry_start" && "attempt" in event && typeof event.attempt === "number") {
			const { attempt, maxAttempts, delayMs, errorMessage } = event;
			return [
				{
					type: "model-retry",
					phase: "start",
					attempt,
					...(typeof maxAttempts === "number" && { maxAttempts }),
					...(typeof delayMs === "number" && { delayMs }),
					...(typeof errorMessage === "string" && { error: errorMessage.split("\n")[0]?.slice(0, 200) }),
				},
			];
		}
		if (event.type === "auto_retry_end" && "success" in event)
			return [{ type: "model-retry", phase: "end", success: event.success === true }];
		if (event.type === "message_end" && "message" in event && event.message?.role === "assistant") {
			const m = event.message;
			this.last = {
				text: (m.content ?? []).map((c) => (c.type === "text" ? (c.text ?? "") : "")).join(""),
				stopReason: m.stopReason ?? "stop",
				errorMessage: m.errorMessage,
			};
			return m.usage ? [{ type: "usage", usage: toUsage(m.usage) }] : [];
		}
		return [];
	}

	/** A task succeeds only with a non-empty final answer from a model turn that ended normally. */
	outcome(): WorkerOutcome {
		const last = this.last;
		if (!last) return failure("no_answer", "worker ended without any model response");
		if (last.stopReason === "error") {
			const error = last.errorMessage ?? "unknown error";
			const kind = isRateLimitError(error)
				? "rate_limited"
				: isProviderOutage(error)
					? "provider_unavailable"
					: "model_error";
			return failure(kind, `model error: ${error}`);
		}
		if (last.stopReason === "aborted") return failure("model_error", "model call was aborted");
		if (last.stopReason !== "stop" && last.stopReason !== "length")
			return failure("no_answer", `worker ended without a final answer (last stop reason: ${last.stopReason})`);
		if (!last.text.trim()) return failure("empty_answer", "empty final answer");
		return { kind: "succeeded", answer: last.text };
	}
}

/**
 * Whether the error a model call ended with (pi's `errorMessage` of a turn with stop reason `error`) is the
 * provider's rate limit: HTTP 429 as a status, or the providers' wording. Only a model's error is asked, so a crash
 * whose stack names line 429 of some file is a crash.
 */
export function isRateLimitError(errorMessage: string): boolean {
	return /^\W*429\b|\b(?:status|code|http)\W{0,3}429\b|\b429 too many requests|rate[ _-]?limit|too many requests/i.test(
		errorMessage,
	);
}

/**
 * Whether the error a model call ended with says its provider is down, narrowly: an HTTP 5xx status that means the
 * service (500, 502, 503, 504, 529) as a leading status or after "status"/"code"/"http", the providers' words for
 * those ("internal server error", "bad gateway", "service unavailable", "gateway timeout", "overloaded"), or no
 * connection to it (refused, reset, DNS failure, "fetch failed", "socket hang up"). A timeout of some tool, an
 * invalid request or a refused key is not an outage; only a model's error is asked, as for rate limits.
 */
export function isProviderOutage(errorMessage: string): boolean {
	return /^\W*5(?:0[0234]|29)\b|\b(?:status|code|http)\W{0,3}5(?:0[0234]|29)\b|\binternal server error|\bbad gateway|\bservice (?:is )?(?:temporarily )?unavailable|\bgateway time-?out|\boverloaded|\bconnection (?:error|refused|reset)|\bfetch failed|\bsocket hang up|\b(?:ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN)\b/i.test(
		errorMessage,
	);
}

function toUsage(u: PiUsage): Usage {
	return {
		input: u.input ?? 0,
		output: u.output ?? 0,
		cacheRead: u.cacheRead ?? 0,
		cacheWrite: u.cacheWrite ?? 0,
		total: u.totalTokens ?? 0,
		...(typeof u.cost?.total === "number" && u.cost.total > 0 ? { cost: u.cost.total } : {}),
	};
}

/** How a tool call failed, in a few words: bash's exit status, else the first line of the error it returned. */
function failureOf(result: ToolResult | undefined): { exitCode: number } | { error: string } | Record<string, never> {
	const code = result?.structuredContent?.exit_code;
	if (typeof code === "number" && Number.isInteger(code)) return { exitCode: code };
	const text = (result?.content ?? []).map((c) => (c.type === "text" ? (c.text ?? "") : "")).join("");
	const line = text.trim().split("\n")[0]?.trim() ?? "";
	if (!line) return {};
	return { error: line.length > 120 ? `${line.slice(0, 117)}...` : line };
}

/** One short line for progress output: the command or path a tool was called with. */
function summarizeArgs(args: Record<string, unknown> | undefined): string | undefined {
	if (!args) return undefined;
	const main = args.command ?? args.path ?? args.pattern ?? Object.values(args)[0];
	if (main === undefined) return undefined;
	const text = (typeof main === "string" ? main : JSON.stringify(main)).replace(/\s+/g, " ").trim();
	return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
