/** Pure parts of the child runtime: JSONL framing, pi's event stream to an outcome, argv (environment: worker-env). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { piArgs } from "../../src/workers/pi-process.js";
import { JsonlFramer, PiStreamReader } from "../../src/workers/pi-stream.js";
import type { TaskSpec } from "../../src/workers/runtime.js";
import { meaningfulLine } from "../../src/workers/task-session.js";

test("the framer splits on LF across chunks and keeps a long line whole", () => {
	const lines: string[] = [];
	const f = new JsonlFramer((l) => lines.push(l));
	const long = "x".repeat(200_000);
	f.push(Buffer.from('{"a":1}\n{"b"'));
	f.push(Buffer.from(`:2}\n${long.slice(0, 100_000)}`));
	f.push(Buffer.from(`${long.slice(100_000)}\n\ntail`));
	f.end();
	assert.deepEqual(lines, ['{"a":1}', '{"b":2}', long, "tail"]);
});

const assistant = (text: string, stopReason = "stop", errorMessage?: string) =>
	JSON.stringify({
		type: "message_end",
		message: {
			role: "assistant",
			content: [{ type: "text", text }],
			stopReason,
			errorMessage,
			usage: { input: 3, output: 2, totalTokens: 5 },
		},
	});

test("a non-empty final answer succeeds; empty, errors and missing answers fail with the reason", () => {
	const outcome = (...lines: string[]) => {
		const r = new PiStreamReader();
		for (const l of lines) r.push(l);
		return r.outcome();
	};
	const failed = (kind: string, detail: string, retryable = true) => ({ kind, detail, retryable });
	assert.deepEqual(outcome(assistant("done")), { kind: "succeeded", answer: "done" });
	assert.deepEqual(outcome(assistant("  \n")), failed("empty_answer", "empty final answer"));
	assert.deepEqual(
		outcome(assistant("", "error", "429 rate limit")),
		failed("rate_limited", "model error: 429 rate limit"),
	);
	assert.deepEqual(
		outcome(assistant("", "error", "invalid x-api-key")),
		failed("model_error", "model error: invalid x-api-key"),
	);
	assert.deepEqual(
		outcome(assistant("", "toolUse")),
		failed("no_answer", "worker ended without a final answer (last stop reason: toolUse)"),
	);
	assert.deepEqual(
		outcome("not json", '{"type":"agent_start"}'),
		failed("no_answer", "worker ended without any model response"),
	);
	assert.deepEqual(
		outcome("null", "42", '"text"', '{"type":"message_end"}', assistant("ok")),
		{ kind: "succeeded", answer: "ok" },
		"stray JSON lines are ignored",
	);
});

test("tool calls and usage become worker events", () => {
	const r = new PiStreamReader();
	assert.deepEqual(
		r.push(JSON.stringify({ type: "tool_execution_start", toolName: "bash", args: { command: "npm   test\n" } })),
		[{ type: "tool", tool: "bash", phase: "start", summary: "npm test" }],
	);
	assert.deepEqual(r.push(JSON.stringify({ type: "tool_execution_end", toolName: "bash", isError: true })), [
		{ type: "tool", tool: "bash", phase: "end", isError: true },
	]);
	assert.deepEqual(r.push(assistant("x")), [
		{ type: "usage", usage: { input: 3, output: 2, cacheRead: 0, cacheWrite: 0, total: 5 } },
	]);
	r.push('{"type":"turn_start"}');
	assert.equal(r.turns, 1);
});

const spec: TaskSpec = {
	runId: "r1",
	taskId: "t1",
	agent: "explorer",
	cwd: "/repo",
	repo: "/repo",
	projectTrusted: false,
	systemPromptPath: "/run/system.md",
	prompt: "## Goal\n\ng",
	promptPath: "/run/prompt.md",
	taskDir: "/run",
	model: "crew-scripted/scripted",
	tools: ["read", "ls"],
	timeoutMs: 1000,
};

test("workers run in RPC mode without project extensions, with the agent's tools and model; the prompt goes on stdin", () => {
	const args = piArgs(spec);
	assert.deepEqual(args.slice(0, 2), ["--mode", "rpc"]);
	assert.ok(args.includes("--no-extensions"));
	assert.deepEqual(args.slice(args.indexOf("--tools"), args.indexOf("--tools") + 2), ["--tools", "read,ls"]);
	assert.equal(args[args.indexOf("--model") + 1], "crew-scripted/scripted");
	assert.ok(!args.includes("## Goal\n\ng"), "the prompt is the conversation's first command, not an argument");
	assert.ok(!args.includes("/run/system.md"), "a pooled worker gets its task's system prompt with the task");
	assert.ok(piArgs({ ...spec, tools: [] }).includes("--no-tools"));
});

test("a dead worker's reason quotes the line of its stderr that says what failed, not the docs that follow", () => {
	const noKey = [
		"Warning: No models available. Use /login to log into a provider via OAuth or API key. See:",
		"  /pi/docs/providers.md",
		"No API key found for the selected model.",
		"",
		"Use /login to log into a provider via OAuth or API key. See:",
		"  /pi/docs/providers.md",
		"  /pi/docs/models.md",
	];
	assert.equal(meaningfulLine(noKey), "No API key found for the selected model.");
	assert.equal(meaningfulLine(["Error: boom", "    at run (x.ts:429:13)", "    at main (y.ts:1:1)"]), "Error: boom");
	assert.equal(meaningfulLine(["just a line"]), "just a line");
	assert.equal(meaningfulLine([]), "");
});
