/**
 * Scenario files for the offline scripted model: per agent (or per task), the ordered steps the model takes.
 * Pure data and selection logic; the pi glue lives in extension.ts.
 */
import { readFile } from "node:fs/promises";
import { UsageError } from "../util/errors.js";
import { formatProblem, type Problem, parseYaml } from "../util/yaml-source.js";

/** The scripted model's provider and model ids: `crew-scripted/scripted` and two aliases, always there, no key. */
export const SCRIPTED_PROVIDER = "crew-scripted";
export const SCRIPTED_MODEL_IDS = ["scripted", "fast", "smart"] as const;

/** Whether `model` (`provider/id`) is one of the scripted model's. */
export function isScripted(model: string | undefined): boolean {
	return model?.startsWith(`${SCRIPTED_PROVIDER}/`) ?? false;
}

export const FAULTS = ["crash", "hang", "empty", "rate_limit", "outage"] as const;
export type Fault = (typeof FAULTS)[number];

/** One call of a pi tool the model makes. */
export interface ToolCall {
	tool: string;
	args: Record<string, unknown>;
}

export type Step =
	| ({ kind: "tool" } & ToolCall)
	/** Several calls in one message: pi runs them in parallel unless one of the tools must run alone. */
	| { kind: "tools"; calls: ToolCall[] }
	| { kind: "say"; text: string }
	| { kind: "sleep"; ms: number }
	/** Waits until a file exists (relative to the worker's directory): a barrier a test or a user releases. */
	| { kind: "wait"; file: string }
	| { kind: "fault"; fault: Fault };

/** A step that takes no model call of its own: it holds up the next step. */
export type Pause = Extract<Step, { kind: "sleep" | "wait" }>;

/** Keys are agent names, `default`, either with `#<prompt>`, `task:<taskId>` or `task:<taskId>@<attempt>` (most specific wins). */
export type Scenario = Map<string, Step[]>;

export class ScenarioError extends UsageError {
	constructor(readonly problems: Problem[]) {
		super(problems.map(formatProblem).join("\n"));
	}
}

export async function loadScenario(file: string): Promise<Scenario> {
	let text: string;
	try {
		text = await readFile(file, "utf8");
	} catch (err) {
		throw new ScenarioError([{ file, message: `cannot read scenario: ${(err as Error).message}` }]);
	}
	return parseScenario(text, file);
}

export function parseScenario(text: string, file: string): Scenario {
	const src = parseYaml(text, file);
	if (src.problems.length > 0) throw new ScenarioError(src.problems);
	const problems: Problem[] = [];
	const scenario: Scenario = new Map();
	const root = src.value;
	if (!isRecord(root)) {
		throw new ScenarioError([{ file, line: 1, message: "a scenario is a map of agent name -> list of steps" }]);
	}
	for (const [key, list] of Object.entries(root)) {
		if (!Array.isArray(list)) {
			problems.push({ file, line: src.lineOf([key]), field: key, message: "must be a list of steps" });
			continue;
		}
		const steps: Step[] = [];
		list.forEach((raw, i) => {
			const step = parseStep(raw);
			if (typeof step === "string") {
				problems.push({ file, line: src.lineOf([key, i]), field: `${key}[${i}]`, message: step, hint: STEP_HINT });
			} else steps.push(step);
		});
		scenario.set(key, steps);
	}
	if (problems.length > 0) throw new ScenarioError(problems);
	return scenario;
}

const STEP_HINT =
	"a step is one of {tool, args}, {tools: [{tool, args}, ...]}, {say}, {sleepMs}, {waitFor: file} or {fault: crash|hang|empty|rate_limit|outage}";

function parseStep(raw: unknown): Step | string {
	if (!isRecord(raw)) return "a step must be a map";
	const keys = Object.keys(raw).filter((k) => k !== "args");
	if (keys.length !== 1)
		return `a step needs exactly one of tool, tools, say, sleepMs, waitFor, fault (got: ${keys.join(", ") || "none"})`;
	if (typeof raw.tool === "string") {
		const call = parseCall(raw);
		return typeof call === "string" ? call : { kind: "tool", ...call };
	}
	if ("args" in raw) return "args belongs to a tool step";
	if (Array.isArray(raw.tools) && raw.tools.length > 0) {
		const calls = raw.tools.map((c) =>
			isRecord(c) && typeof c.tool === "string" ? parseCall(c) : "each of tools is {tool, args}",
		);
		const bad = calls.find((c) => typeof c === "string");
		return bad ?? { kind: "tools", calls: calls as ToolCall[] };
	}
	if (typeof raw.say === "string") return { kind: "say", text: raw.say };
	if (typeof raw.sleepMs === "number" && raw.sleepMs >= 0) return { kind: "sleep", ms: raw.sleepMs };
	if (typeof raw.waitFor === "string" && raw.waitFor !== "") return { kind: "wait", file: raw.waitFor };
	if (FAULTS.includes(raw.fault as Fault)) return { kind: "fault", fault: raw.fault as Fault };
	return `invalid step ${JSON.stringify(raw)}`;
}

function parseCall(raw: Record<string, unknown>): ToolCall | string {
	const args = raw.args ?? {};
	if (!isRecord(args)) return "args must be a map of tool arguments";
	return { tool: raw.tool as string, args };
}

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Safe defaults for the builtin agents when no scenario names them: each looks at the repository with a tool its
 * role allows (read-only roles list the directory, the others ask git) and answers. `{result}` is the last tool result.
 */
const LIST = (answer: string): Step[] => [
	{ kind: "tool", tool: "ls", args: { path: "." } },
	{ kind: "say", text: answer },
];
const STATUS = (answer: string): Step[] => [
	{ kind: "tool", tool: "bash", args: { command: "git status --short 2>/dev/null || ls" } },
	{ kind: "say", text: answer },
];
/**
 * A judge (a builtin agent with the `verdict` tool) finds the work clean, first, so that `{result}` stays its look at
 * the repository: a builtin workflow's loop ends in one round.
 */
const CLEAN = (steps: Step[]): Step[] => [
	{ kind: "tool", tool: "verdict", args: { clean: true, findings: "nothing to fix (scripted)" } },
	...steps,
];
const DEFAULTS: Record<string, Step[]> = {
	explorer: LIST("Explored the repository for: {goal}\n\nFiles:\n{result}"),
	analyst: LIST("Analysis of: {goal}\n\nRepository root:\n{result}"),
	// {plan}: a minimal valid plan when the step is adaptive (its prompt lists the roles a plan may use), else nothing.
	planner: LIST(
		"Plan for: {goal}\n\n1. Inspect the affected files\n2. Make the change\n3. Verify\n\nFiles:\n{result}\n{plan}",
	),
	critic: LIST("Critique of the approach to: {goal}\n\nNo blocking issues found in:\n{result}"),
	reviewer: LIST("Review for: {goal}\n\nLooked at:\n{result}"),
	"security-reviewer": LIST("Security review for: {goal}\n\nLooked at:\n{result}"),
	writer: CLEAN(LIST("Report on: {goal}\n\nFiles:\n{result}")),
	executor: STATUS("Executed the plan for: {goal}\n\nWorking tree:\n{result}"),
	"test-engineer": STATUS("Tests for: {goal}\n\nWorking tree:\n{result}"),
	verifier: CLEAN(STATUS("PASS: {goal}\n\nWorking tree:\n{result}")),
	// Looks and answers: it settles nothing, so a conflict still needs a person unless a scenario scripts the merge.
	merger: STATUS("Looked at the conflict for: {goal}\n\nWorking tree:\n{result}"),
};
const FALLBACK: Step[] = [{ kind: "say", text: "{agent} finished: {goal}" }];

/**
 * The steps for a call: of the task (and its attempt), else of the agent, else `default`; `<name>#<n>` (the n-th
 * prompt of the session, 1 first) before `<name>`, so a session's script can differ per prompt.
 */
export function scriptFor(
	scenario: Scenario | undefined,
	agent: string,
	taskId: string | undefined,
	attempt = 1,
	prompt = 1,
): Step[] {
	return (
		(taskId ? (scenario?.get(`task:${taskId}@${attempt}`) ?? scenario?.get(`task:${taskId}`)) : undefined) ??
		scenario?.get(`${agent}#${prompt}`) ??
		scenario?.get(agent) ??
		scenario?.get(`default#${prompt}`) ??
		scenario?.get("default") ??
		DEFAULTS[agent] ??
		FALLBACK
	);
}

export type CallPlan =
	| { pauses: Pause[]; step: Exclude<Step, Pause> }
	| { pauses: Pause[]; exhausted: true; callIndex: number };

/**
 * Each model call consumes the steps up to and including the next step that is not a pause; the pauses before it
 * run first, in order. Call `callIndex` (0-based, counted since the last user message) gets the `callIndex`-th group.
 */
export function planCall(steps: Step[], callIndex: number): CallPlan {
	let group = 0;
	let pauses: Pause[] = [];
	for (const step of steps) {
		if (step.kind === "sleep" || step.kind === "wait") {
			pauses.push(step);
			continue;
		}
		if (group === callIndex) return { pauses, step };
		group++;
		pauses = [];
	}
	return { pauses, exhausted: true, callIndex };
}

export function fillTemplate(text: string, vars: Record<string, string>): string {
	return text.replace(
		/\{(goal|result|agent|task|runId|plan|system|prompt|message|first|model|thinking)\}/g,
		(_, name: string) => vars[name] ?? "",
	);
}
