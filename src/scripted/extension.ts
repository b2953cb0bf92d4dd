/**
 * The offline scripted model as a Pi provider extension: models `crew-scripted/<name>`, no network, no key.
 * Load with `pi -e <this file> --model crew-scripted/scripted`; set PI_CREW_SCENARIO to a scenario file to script it.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import {
	type AssistantMessage,
	type ExtensionAPI,
	type JsonObject,
	loadAi,
	type Model,
	type Provider,
	shareHostModules,
	type TranscriptContext,
} from "../host.js";
import { parseGoal, parseIdentity } from "../util/identity.js";
import {
	type Fault,
	fillTemplate,
	loadScenario,
	planCall,
	SCRIPTED_MODEL_IDS,
	SCRIPTED_PROVIDER,
	type Scenario,
	scriptFor,
} from "./scenario.js";

// A large window: pi reserves ~16k tokens for compaction, and scripted usage is an estimate (chars / 4). `smart`
// reasons, so a thinking level reaches it (`{thinking}`); pi turns thinking off for the others.
const MODELS = SCRIPTED_MODEL_IDS.map((id) => ({
	id,
	name: `Scripted (${id})`,
	reasoning: id === "smart",
	input: ["text" as const],
	contextWindow: 200_000,
	maxTokens: 16_000,
	cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
}));

export default async function scriptedModel(pi: ExtensionAPI): Promise<void> {
	shareHostModules(process.argv[1]); // pi-ai: the pi that loads this file's own
	const file = process.env.PI_CREW_SCENARIO;
	const provider = await scriptedProvider(file ? await loadScenario(file) : undefined);
	pi.registerProvider(provider);
	// pi runs this factory again for each new session of the process (a warm worker's next task).
	pi.on("session_shutdown", () => provider.dispose());
}

/**
 * The scripted model as a native pi provider (for `registerProvider` of an extension or a model runtime): a faux
 * stream whose every answer the scenario decides. Keyless, so it is always configured.
 */
export async function scriptedProvider(scenario: Scenario | undefined): Promise<Provider & { dispose(): void }> {
	const ai = await loadAi();
	const faux = () => {
		const made = ai.fauxProvider({ api: SCRIPTED_PROVIDER, provider: SCRIPTED_PROVIDER, models: MODELS });
		// An endless queue: every call re-queues the same factory, which decides from the conversation what to do.
		const step = async (
			context: TranscriptContext,
			options: { reasoning?: string } | undefined,
			_state: unknown,
			model: Model<string>,
		): Promise<AssistantMessage> => {
			made.appendResponses([step]);
			const call = { model: `${model.provider}/${model.id}`, thinking: options?.reasoning ?? "off" };
			return respond(ai, context, scenario, call);
		};
		made.setResponses([step]);
		return made.provider;
	};
	// pi's faux provider keeps each session's last prompt (its cache estimate) for as long as the provider lives, and
	// one provider serves every in-process task of a run: a faux of its own per live session, dropped when pi disposes
	// the session, keeps a long run's memory flat. Calls outside a session share one.
	const shared = faux();
	const sessions = new Map<string, Provider>();
	const unsubscribe = ai.registerSessionResourceCleanup((sessionId) => {
		if (sessionId) sessions.delete(sessionId);
	});
	const forSession = (sessionId: string | undefined): Provider => {
		if (!sessionId) return shared;
		let provider = sessions.get(sessionId);
		if (!provider) {
			provider = faux();
			sessions.set(sessionId, provider);
		}
		return provider;
	};
	return {
		...shared,
		stream: (model, context, options) => forSession(options?.sessionId).stream(model, context, options),
		streamSimple: (model, context, options) => forSession(options?.sessionId).streamSimple(model, context, options),
		/** Lets go of the per-session providers and pi-ai's cleanup hook (an extension instance's end). */
		dispose: () => {
			unsubscribe();
			sessions.clear();
		},
	};
}

type Ai = Awaited<ReturnType<typeof loadAi>>;

/** What pi asked this call on: the model (`provider/id`) and the thinking level it passed ("off" when none). */
interface CallInfo {
	model: string;
	thinking: string;
}

async function respond(
	ai: Ai,
	context: TranscriptContext,
	scenario: Scenario | undefined,
	call: CallInfo,
): Promise<AssistantMessage> {
	// pi 1.x carries the system prompt as system messages (content plus named sections) inside the transcript.
	const system = ai.getCurrentSystemPrompt(context.messages);
	const identity = parseIdentity(system);
	const agent = identity?.agent ?? "default";
	const { userText, message, first, calls, prompts, lastResult, lastRunId } = sinceLastUser(ai, context);
	const plan = planCall(scriptFor(scenario, agent, identity?.taskId, identity?.attempt, prompts), calls);
	for (const pause of plan.pauses) await (pause.kind === "sleep" ? sleep(pause.ms) : untilExists(pause.file));
	if ("exhausted" in plan) {
		return ai.fauxAssistantMessage([], {
			stopReason: "error",
			errorMessage: `scripted model: the script for "${agent}" has no step for call ${plan.callIndex + 1}; end it with a say step`,
		});
	}
	const vars = {
		goal: parseGoal(userText),
		result: lastResult,
		agent,
		task: identity?.taskId ?? "",
		runId: lastRunId,
		plan: minimalPlan(userText, parseGoal(userText)),
		system: system ?? "",
		prompt: userText,
		message,
		first,
		model: call.model,
		thinking: call.thinking,
	};
	const step = plan.step;
	switch (step.kind) {
		case "tool":
		case "tools":
			return ai.fauxAssistantMessage(
				(step.kind === "tool" ? [step] : step.calls).map((c) =>
					ai.fauxToolCall(c.tool, fillArgs(c.args, vars) as JsonObject),
				),
				{ stopReason: "toolUse" },
			);
		case "say":
			return ai.fauxAssistantMessage([ai.fauxText(fillTemplate(step.text, vars))]);
		case "fault":
			return fault(ai, step.fault);
	}
}

async function fault(ai: Ai, kind: Fault): Promise<AssistantMessage> {
	switch (kind) {
		case "crash":
			// The worker dies mid-turn, as on an OOM kill or a native crash.
			process.exit(70);
			break;
		case "hang":
			// A timer keeps the process alive: a bare pending promise would let node exit as if the turn ended.
			await new Promise(() => setInterval(() => {}, 60_000));
			break;
		case "empty":
			return ai.fauxAssistantMessage([ai.fauxText("")]);
		case "rate_limit":
			return ai.fauxAssistantMessage([], {
				stopReason: "error",
				errorMessage: "429 Too Many Requests: rate limit exceeded (scripted fault)",
			});
		case "outage":
			return ai.fauxAssistantMessage([], {
				stopReason: "error",
				errorMessage: "503 Service Unavailable: the provider is down (scripted fault)",
			});
	}
	throw new Error("unreachable");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls for `file` (relative to this worker's directory); the task's timeout or a cancel ends a wait that never ends. */
async function untilExists(file: string): Promise<void> {
	while (!existsSync(resolve(file))) await sleep(50);
}

/** Placeholders in string arguments of a tool step, so a script can pass on what an earlier tool returned. */
function fillArgs(args: Record<string, unknown>, vars: Record<string, string>): Record<string, unknown> {
	return Object.fromEntries(
		Object.entries(args).map(([k, v]) => [k, typeof v === "string" ? fillTemplate(v, vars) : v]),
	);
}

/** A one-task plan for the first role an adaptive step's prompt allows (see engine/adaptive.ts), or "". */
function minimalPlan(prompt: string, goal: string): string {
	const role = /^Roles you may use: ([A-Za-z0-9_-]+) \(/m.exec(prompt)?.[1];
	if (!role) return "";
	const plan = { phases: [{ name: "do", tasks: [{ id: "step-1", role, task: `Carry out: ${goal.split("\n")[0]}` }] }] };
	return `\n\`\`\`json\n${JSON.stringify(plan)}\n\`\`\`\n`;
}

const RUN_ID = /\b\d{8}-\d{6}-[0-9a-f]{6}\b/g;

/**
 * Counts only since the user message that started this script: history accumulates across prompts in one session.
 * A user message after a tool result is a steer mid-run: the script goes on; it is only the newest `message`.
 */
function sinceLastUser(
	ai: Ai,
	context: TranscriptContext,
): {
	userText: string;
	message: string;
	/** The first user message in the context: the task's prompt, still there after feedback in the same session. */
	first: string;
	calls: number;
	/** How many prompts the session had: user messages that started a script (1 for the first). */
	prompts: number;
	lastResult: string;
	lastRunId: string;
} {
	let userText = "";
	let newest = "";
	let first: string | undefined;
	let previous = "";
	let calls = 0;
	let prompts = 0;
	let lastResult = "";
	let lastRunId = "";
	// Every shape pi 1.x sends: system messages (skipped: read above), user text or text+image parts, assistant
	// messages with text, thinking and tool calls (each one call of the script), tool results with text or images.
	for (const message of context.messages) {
		switch (message.role) {
			case "system":
				break;
			case "user":
				newest = ai.contentText(message.content, "");
				first ??= newest;
				if (previous !== "toolResult") {
					userText = newest;
					calls = 0;
					prompts++;
					lastResult = "";
				}
				break;
			case "assistant":
				calls++;
				break;
			case "toolResult":
				lastResult = ai.contentText(message.content, "");
				lastRunId = lastResult.match(RUN_ID)?.at(-1) ?? lastRunId;
				break;
		}
		previous = message.role;
	}
	return { userText, message: newest, first: first ?? "", calls, prompts, lastResult: lastResult.trim(), lastRunId };
}
