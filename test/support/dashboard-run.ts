/**
 * Runs for the dashboard's tests, its text captures (docs/ui.md) and its benchmark, written through the real log
 * writer with a fixed clock. No test-runner imports here: the benchmark uses it too.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ownerMark } from "../../src/config/owner.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import type { EventPayloads, EventType } from "../../src/store/events.js";
import { acquireLease } from "../../src/store/lease.js";
import { attemptDir, createRunDir, type RunPaths } from "../../src/store/run-store.js";
import { fixtures } from "./fixtures.js";

export const LIVE_RUN = "20261130-090000-c0ffee";
export const DONE_RUN = "20261130-083000-beef01";
/** 09:00:00 UTC, when the live run was created. */
export const T0 = Date.parse("2026-11-30T09:00:00.000Z");
/** "Now" for renderings of the live run: 30 s after it was created. */
export const NOW = T0 + 30_000;

const usage = (input: number, output: number, cost?: number) => ({
	input,
	output,
	cacheRead: 0,
	cacheWrite: 0,
	total: input + output,
	...(cost === undefined ? {} : { cost }),
});

/** A log written as a coordinator writes it, each event at `at` seconds after `start`. */
async function writer(paths: RunPaths, runId: string, start: number) {
	let clock = start;
	const log = await EventLogWriter.create(paths.events, runId, { now: () => new Date(clock) });
	const at = <K extends EventType>(seconds: number, type: K, data: EventPayloads[K], taskId?: string) => {
		clock = start + seconds * 1000;
		return log.append(type, data, taskId);
	};
	return { log, at };
}

async function artifact(paths: RunPaths, rel: string, text: string): Promise<string> {
	const file = join(paths.artifacts, rel);
	await mkdir(dirname(file), { recursive: true });
	await writeFile(file, text);
	return `artifacts/${rel}`;
}

/** pi's `--mode json` events of one scripted turn: the prompt, a tool call and its result, the answer. */
function transcript(
	prompt: string,
	tool: { name: string; args: Record<string, unknown>; output: string },
	answer: string,
) {
	const end = (message: object) => JSON.stringify({ type: "message_end", message });
	return `${[
		JSON.stringify({ type: "session", version: 3 }),
		end({ role: "user", content: [{ type: "text", text: prompt }] }),
		JSON.stringify({ type: "message_update", assistantMessageEvent: { type: "toolcall_start" } }),
		end({ role: "assistant", content: [{ type: "toolCall", id: "c1", name: tool.name, arguments: tool.args }] }),
		JSON.stringify({ type: "tool_execution_start", toolName: tool.name, args: tool.args }),
		end({ role: "toolResult", toolName: tool.name, content: [{ type: "text", text: tool.output }], isError: false }),
		end({ role: "assistant", content: [{ type: "text", text: answer }], stopReason: "stop" }),
	].join("\n")}\n`;
}

/**
 * Two runs: `DONE_RUN` (fast-fix, succeeded) and `LIVE_RUN` (review, running under this process's lease): explore and
 * plan done, implement failed twice and dead-lettered, test running with a stale heartbeat, report waiting. Returns
 * the lease to release.
 */
export async function dashboardRuns(repo: string): Promise<{ release(): Promise<void> }> {
	const done = await createRunDir(repo, DONE_RUN);
	{
		const { log, at } = await writer(done, DONE_RUN, T0 - 30 * 60_000);
		await at(0, "run.created", {
			...fixtures.created,
			goal: "fix the failing date parser test",
			team: "fast-fix",
			workflow: "fast-fix",
			owner: await ownerMark(DONE_RUN),
		});
		await at(0, "task.planned", { ...fixtures.planned(), role: "executor", agent: "executor" }, "fix");
		await at(0, "task.planned", { ...fixtures.planned(["fix"]), role: "verifier", agent: "verifier" }, "verify");
		await at(0.1, "run.started", { pid: 1 });
		for (const [id, from] of [
			["fix", 0.2],
			["verify", 20],
		] as const) {
			const result = await artifact(done, `tasks/${id}/result.md`, `${id} done.\n`);
			await at(from, "task.started", { attempt: 1, promptPath: `artifacts/tasks/${id}/prompt.md` }, id);
			await at(from + 15, "task.usage", usage(1200, 300), id);
			await at(from + 19, "task.succeeded", { resultPath: result, chars: 9 }, id);
		}
		await at(40, "run.finished", { status: "succeeded", summaryPath: "artifacts/summary.md" });
		await log.close();
	}

	const live = await createRunDir(repo, LIVE_RUN);
	const lease = await acquireLease(live.lease);
	const { log, at } = await writer(live, LIVE_RUN, T0);
	await at(0, "run.created", {
		...fixtures.created,
		goal: "tighten the retry policy of the HTTP client",
		team: "review",
		workflow: "review",
		owner: await ownerMark(LIVE_RUN),
	});
	const plan: [string, string, string[]][] = [
		["explore", "explorer", []],
		["plan", "planner", ["explore"]],
		["implement", "executor", ["plan"]],
		["test", "verifier", ["plan"]],
		["report", "writer", ["implement", "test"]],
	];
	for (const [id, role, dependsOn] of plan)
		await at(0, "task.planned", { ...fixtures.planned(dependsOn), role, agent: role }, id);
	await at(0.1, "run.started", { pid: process.pid });

	const explorePrompt = await artifact(
		live,
		"tasks/explore/prompt.md",
		"## Goal\n\ntighten the retry policy of the HTTP client\n\n## Your task\n\nFind where requests are retried.\n",
	);
	const exploreResult = await artifact(
		live,
		"tasks/explore/result.md",
		"## Findings\n\n- `src/http.ts` retries **every** error, 5 times, without backoff.\n- `test/http.test.ts` covers only the happy path.\n",
	);
	await artifact(
		live,
		`${attemptDir("explore", 1)}/transcript.jsonl`,
		transcript(
			"Find where requests are retried.",
			{
				name: "read",
				args: { path: "src/http.ts" },
				output: "export async function get(url) {\n  for (let i = 0; i < 5; i++) {",
			},
			"## Findings\n\n- `src/http.ts` retries **every** error.",
		),
	);
	await at(0.2, "task.started", { attempt: 1, promptPath: explorePrompt }, "explore");
	await at(1, "task.tool", { tool: "read", phase: "start", summary: "src/http.ts" }, "explore");
	await at(1.2, "task.tool", { tool: "read", phase: "end", isError: false }, "explore");
	await at(3, "task.usage", usage(2100, 400, 0.0123), "explore");
	await at(3.5, "task.succeeded", { resultPath: exploreResult, chars: 120 }, "explore");

	const planResult = await artifact(live, "tasks/plan/result.md", "1. Retry 429 and 5xx only.\n2. Back off.\n");
	await at(3.6, "task.started", { attempt: 1, promptPath: "artifacts/tasks/plan/prompt.md" }, "plan");
	await at(7, "task.usage", usage(1800, 600, 0.0101), "plan");
	await at(7.5, "task.succeeded", { resultPath: planResult, chars: 40 }, "plan");

	await at(7.6, "task.started", { attempt: 1, promptPath: "artifacts/tasks/implement/prompt.md" }, "implement");
	await at(7.6, "task.started", { attempt: 1, promptPath: "artifacts/tasks/test/prompt.md" }, "test");
	await at(9, "task.tool", { tool: "edit", phase: "start", summary: "src/http.ts" }, "implement");
	await at(9.4, "task.tool", { tool: "edit", phase: "end", isError: true }, "implement");
	await at(10, "task.retrying", { attempt: 1, reason: "model error: overloaded", delayMs: 1000 }, "implement");
	await at(11, "task.started", { attempt: 2, promptPath: "artifacts/tasks/implement/prompt.md" }, "implement");
	await at(12, "task.tool", { tool: "bash", phase: "start", summary: "npm test -- test/http.test.ts" }, "test");
	await at(14, "task.failed", { reason: "model error: overloaded (attempt 2, retries exhausted)" }, "implement");
	await at(14, "task.deadlettered", { reason: "max-retries", detail: "model error: overloaded" }, "implement");
	await at(14.1, "run.alert", {
		kind: "deadletter-rate",
		message: "4 tasks dead-lettered in this repository within the last hour",
	});
	await at(20, "task.heartbeat", { level: "warn", silentMs: 8000 }, "test");
	await at(25, "task.heartbeat", { level: "stale", silentMs: 13_000 }, "test");
	await log.close();
	return { release: () => lease.release() };
}
