/**
 * User configuration (`<crew home>/config.yaml`). One schema is the source of truth for its fields; unknown keys are
 * errors so typos are never silently ignored. A repository's `.crew/config.*` may only tighten some of them: see
 * resolve.ts, where the effective configuration of a repository is decided.
 */
import { mkdir, readFile, realpath, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Static, Type } from "typebox";
import { parseDocument, stringify } from "yaml";
import { REMOVABLE_RUN_STATUSES } from "../store/events.js";
import type { HeartbeatPolicy, RetryPolicy } from "../store/settings.js";
import { UsageError } from "../util/errors.js";
import { MODEL_REF, RESOURCE_NAME } from "../util/names.js";
import { writeFileAtomic } from "../util/safe-fs.js";
import { checkSchema } from "../util/schema-check.js";
import { formatProblem, type Problem, parseYaml } from "../util/yaml-source.js";
import {
	AUTONOMY,
	type Autonomy,
	crewHome,
	DEFAULT_AUTONOMY,
	MAX_CONFIG_BYTES,
	type NoticeKind,
	RUNTIMES,
	type RuntimeName,
	SANDBOX_MODES,
	SANDBOX_NETWORKS,
	type SandboxMode,
	type SandboxNetwork,
	THINKING_LEVELS,
	WORKER_TOOLS,
} from "./home.js";

export { AUTONOMY, type Autonomy, crewHome };

export const ConfigSchema = Type.Object(
	{
		concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
		runtime: Type.Optional(Type.Enum(RUNTIMES)),
		/** Default model for workers (`provider/id`), below `--model` and an agent's own `model`. */
		model: Type.Optional(Type.String({ pattern: MODEL_REF.source })),
		/**
		 * The models runs may use (docs/security.md#models): `provider/id` globs (`*` any run of characters). A run whose
		 * tasks would use any other model (primary, fallback, `--model`, the default) is refused before a worker starts.
		 * A repository's config may only narrow it: a model must match both lists.
		 */
		models: Type.Optional(
			Type.Object(
				{
					allow: Type.Optional(
						Type.Array(
							Type.String({
								pattern: "^[^\\s/]+/\\S+$",
								description: "a provider/id glob, e.g. anthropic/* or openai/gpt-5*",
							}),
							{ uniqueItems: true },
						),
					),
				},
				{ additionalProperties: false },
			),
		),
		/**
		 * Per-agent overrides, over the agent's file (a step's or a role's model, and `--model`, are over them; see
		 * taskModels in engine/plan.ts). Recorded in the run, so a resume runs the same models.
		 */
		agents: Type.Optional(
			Type.Record(
				Type.String({ pattern: RESOURCE_NAME.source }),
				Type.Object(
					{
						model: Type.Optional(Type.String({ pattern: MODEL_REF.source })),
						thinking: Type.Optional(Type.Enum(THINKING_LEVELS)),
						fallbackModels: Type.Optional(Type.Array(Type.String({ pattern: MODEL_REF.source }), { maxItems: 8 })),
					},
					{ additionalProperties: false },
				),
			),
		),
		/** Per-task timeout; the worker's whole process group is killed when it passes. */
		taskTimeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 2 ** 31 - 1 })),
		/** May the agent in a pi session start runs by itself? See docs/autonomy in the README. */
		autonomy: Type.Optional(Type.Enum(AUTONOMY)),
		/** A worker may start runs of its own only while the nesting depth stays below this. */
		maxDepth: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
		/** The builtin workflows' adaptive planning steps wait for your approval of their plan (`pi-crew approve`). */
		approvePlans: Type.Optional(Type.Boolean()),
		/** How many times an answer waiting for approval may be rejected before its task fails (default 3). */
		approvalRounds: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
		/**
		 * Who settles an isolated run's merge conflict before it needs you (docs/workspaces.md#conflicts): the `resolver`
		 * agent (default `merger`), on `model` if set; `resolver: none`: a conflict needs you at once.
		 */
		merge: Type.Optional(
			Type.Object(
				{
					resolver: Type.Optional(Type.String({ pattern: RESOURCE_NAME.source })),
					model: Type.Optional(Type.String({ pattern: MODEL_REF.source })),
				},
				{ additionalProperties: false },
			),
		),
		/**
		 * A read-only reviewer agent for every writing task of every run whose step or team names none (a team's is
		 * over it): it judges each answer and its diff, and sends its findings back (docs/workflows.md).
		 */
		verify: Type.Optional(
			Type.Object(
				{
					agent: Type.String({ pattern: RESOURCE_NAME.source, description: "an agent's name" }),
					model: Type.Optional(
						Type.String({ pattern: MODEL_REF.source, description: "provider/id, a bare id or an alias" }),
					),
				},
				{ additionalProperties: false },
			),
		),
		/** How many times a reviewer agent may send a task's answer back before the task fails (default 3). */
		verifyRounds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
		/** Retry failed tasks for every run (a team can opt in with `autoRetry: true`, a run with `--retry`). */
		autoRetry: Type.Optional(Type.Boolean()),
		retry: Type.Optional(
			Type.Object(
				{
					maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
					backoffMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
					factor: Type.Optional(Type.Number({ minimum: 1, maximum: 10 })),
					jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
				},
				{ additionalProperties: false },
			),
		),
		/** Silence thresholds of a running task: healthy < warnMs <= warn < staleMs <= stale < deadMs <= dead. */
		heartbeat: Type.Optional(
			Type.Object(
				{
					warnMs: Type.Optional(Type.Integer({ minimum: 100 })),
					staleMs: Type.Optional(Type.Integer({ minimum: 100 })),
					deadMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 2 ** 31 - 1 })),
					pollMs: Type.Optional(Type.Integer({ minimum: 50 })),
					deadTicks: Type.Optional(Type.Integer({ minimum: 1 })),
				},
				{ additionalProperties: false },
			),
		),
		/** Default budget of every run (each can be set per run with --max-tokens, --max-cost, --max-tasks, --max-wall). */
		budget: Type.Optional(
			Type.Object(
				{
					maxTokens: Type.Optional(Type.Integer({ minimum: 1 })),
					/** US dollars. */
					maxCost: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
					maxTasks: Type.Optional(Type.Integer({ minimum: 1 })),
					maxWallMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 2 ** 31 - 1 })),
				},
				{ additionalProperties: false },
			),
		),
		/**
		 * Variables of your environment that workers get besides the essentials and their model's credentials
		 * (docs/security.md): exact names, or a prefix ending in `*` (`CORP_*`). Never `*` alone.
		 */
		env: Type.Optional(
			Type.Object(
				{ allow: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*\\*?$" }))) },
				{ additionalProperties: false },
			),
		),
		/**
		 * The warm pool of child workers (README, "Runtimes"): a worker serves at most `recycleAfter` tasks
		 * (1: a fresh process for each), and an idle one is kept `idleSeconds`.
		 */
		workers: Type.Optional(
			Type.Object(
				{
					recycleAfter: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
					idleSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
				},
				{ additionalProperties: false },
			),
		),
		/** The OS sandbox around every child worker (docs/security.md#sandbox): `auto` (default), `required` or `off`. */
		sandbox: Type.Optional(Type.Enum(SANDBOX_MODES)),
		/** A sandboxed worker's network: `open` (default: its model provider) or `none` (bubblewrap has no host lists). */
		sandboxNetwork: Type.Optional(Type.Enum(SANDBOX_NETWORKS)),
		/**
		 * What a worker's question (its `ask` tool) gets when nobody can answer (`--no-input`, a foreground run without
		 * a terminal): `fail` the task with the question as its reason (default), or take the question's `default`
		 * answer (a question without one still fails). It decides a step's approval alike: `fail` the task, or approve
		 * by default.
		 */
		questions: Type.Optional(
			Type.Object({ unattended: Type.Optional(Type.Enum(["fail", "default"])) }, { additionalProperties: false }),
		),
		/**
		 * Tools no worker gets, whatever its agent lists (an agent that lists none gets pi's defaults minus these): pi's,
		 * and pi-crew's own (`ask`, `message`).
		 */
		tools: Type.Optional(
			Type.Object(
				{ deny: Type.Optional(Type.Array(Type.Enum(WORKER_TOOLS), { uniqueItems: true })) },
				{ additionalProperties: false },
			),
		),
		/** Claude Code subagents as pi-crew agents (docs/interop.md). */
		claude: Type.Optional(
			Type.Object(
				{
					/** `~/.claude/agents` (default on). */
					userAgents: Type.Optional(Type.Boolean()),
					/** A repository's `.claude/agents`, when you trust the repository (default on). */
					projectAgents: Type.Optional(Type.Boolean()),
					/** Pins for Claude model aliases (default: the newest of the family in pi's registry): `{ sonnet: anthropic/claude-sonnet-4-5 }`. */
					models: Type.Optional(Type.Record(Type.String(), Type.String({ pattern: "^[^/\\s]+/\\S+$" }))),
				},
				{ additionalProperties: false },
			),
		),
		/** Notifications in pi sessions, per kind (all on by default): `false` silences that kind. */
		notifications: Type.Optional(
			Type.Object(
				{
					runFinished: Type.Optional(Type.Boolean()),
					deadLetter: Type.Optional(Type.Boolean()),
					heartbeat: Type.Optional(Type.Boolean()),
					budget: Type.Optional(Type.Boolean()),
					rateLimit: Type.Optional(Type.Boolean()),
					alert: Type.Optional(Type.Boolean()),
					/** A task's message to the lead (its worker's `message` tool). */
					message: Type.Optional(Type.Boolean()),
					/** A task's question, or its answer waiting for approval: a person's turn. */
					question: Type.Optional(Type.Boolean()),
				} satisfies Record<NoticeKind, unknown>,
				{ additionalProperties: false },
			),
		),
		/**
		 * Remove your ended runs of a repository when a coordinator starts there, once their last event is older than
		 * `olderThanDays` (docs/lifecycle.md). Off unless set; a repository's config cannot set it.
		 */
		prune: Type.Optional(
			Type.Object(
				{
					olderThanDays: Type.Integer({ minimum: 1, maximum: 3650 }),
					/** Default: succeeded, failed, cancelled (an interrupted run can still be resumed). */
					statuses: Type.Optional(Type.Array(Type.Enum(REMOVABLE_RUN_STATUSES), { minItems: 1, uniqueItems: true })),
				},
				{ additionalProperties: false },
			),
		),
		/**
		 * Notifications outside pi (docs/notifications.md): each run's end and each dead letter, as one JSON document, from
		 * the run's coordinator. Only your own config can set them: they run a program and send to a URL.
		 */
		notify: Type.Optional(
			Type.Object(
				{
					/** A program and its arguments (no shell), given the event as JSON on stdin. */
					command: Type.Optional(
						Type.Array(Type.String({ minLength: 1 }), {
							minItems: 1,
							// A relative path would name a file wherever the program starts: never one from a clone.
							prefixItems: [
								Type.String({
									pattern: "^(/|[^/]+$)",
									description:
										"the program: an absolute path, or a bare name looked up on PATH (never a relative path)",
								}),
							],
						}),
					),
					/** A URL the event is POSTed to as JSON. */
					webhook: Type.Optional(Type.String({ pattern: "^https?://" })),
					/** How long each delivery may take before it is given up (the program is killed). */
					timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
				},
				{ additionalProperties: false },
			),
		),
		/** Metrics (docs/observability.md). Nothing listens or sends unless configured here. */
		metrics: Type.Optional(
			Type.Object(
				{
					/** The daily JSONL files under `<repo>/.crew/metrics/` (default on). */
					sink: Type.Optional(Type.Boolean()),
					/** Sink files older than this many days are removed when a coordinator starts. */
					retentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
					/** The `/metrics` endpoint of `pi-crew metrics --serve` and of pi sessions. */
					prometheus: Type.Optional(
						Type.Object(
							{
								port: Type.Integer({ minimum: 0, maximum: 65535 }),
								host: Type.Optional(Type.String({ minLength: 1 })),
								/** A host other than loopback must be allowed explicitly: the metrics name your teams and roles. */
								allowNonLoopback: Type.Optional(Type.Boolean()),
							},
							{ additionalProperties: false },
						),
					),
					/** OTLP/HTTP push of each coordinator's metrics. */
					otlp: Type.Optional(
						Type.Object(
							{
								endpoint: Type.String({ pattern: "^https?://" }),
								headers: Type.Optional(Type.Record(Type.String(), Type.String())),
								intervalMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
								timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
							},
							{ additionalProperties: false },
						),
					),
				},
				{ additionalProperties: false },
			),
		),
	},
	{ additionalProperties: false },
);
export type CrewConfig = Static<typeof ConfigSchema>;

export const DEFAULTS = {
	autonomy: DEFAULT_AUTONOMY as Autonomy,
	maxDepth: 2,
	concurrency: 4,
	runtime: "child" as RuntimeName,
	sandbox: "auto" as SandboxMode,
	sandboxNetwork: "open" as SandboxNetwork,
	workers: { recycleAfter: 20, idleSeconds: 30 },
	taskTimeoutMs: 15 * 60_000,
	approvalRounds: 3,
	merge: { resolver: "merger" },
	verifyRounds: 3,
	questions: { unattended: "fail" as "fail" | "default" },
	retry: { maxAttempts: 3, backoffMs: 1000, factor: 2, jitter: 0.3 } satisfies RetryPolicy,
	heartbeat: {
		warnMs: 30_000,
		staleMs: 60_000,
		deadMs: 300_000,
		pollMs: 5_000,
		deadTicks: 3,
	} satisfies HeartbeatPolicy,
	notifyTimeoutMs: 10_000,
	metrics: { sink: true, retentionDays: 7, host: "127.0.0.1", otlpIntervalMs: 15_000, otlpTimeoutMs: 5_000 },
};

export class ConfigError extends UsageError {
	constructor(readonly problems: Problem[]) {
		super(problems.map(formatProblem).join("\n"));
	}
}

export async function loadConfig(home = crewHome()): Promise<CrewConfig> {
	return (await readUserConfig(home)).config;
}

/** The user's config file, validated, with the line of each of its fields (for `pi-crew config`). */
export interface UserConfig {
	file: string;
	config: CrewConfig;
	/** The line of a field (dotted path as an array), or undefined when the file does not set it. */
	lineOf(path: string[]): number | undefined;
}

/** Reads and validates the user's config; a missing file is an empty config. Throws ConfigError when invalid. */
export async function readUserConfig(home = crewHome()): Promise<UserConfig> {
	const file = join(home, "config.yaml");
	const none: UserConfig = { file, config: {}, lineOf: () => undefined };
	let text: string;
	try {
		const size = (await stat(file)).size;
		if (size > MAX_CONFIG_BYTES)
			throw new ConfigError([
				{
					file,
					message: `not read: ${size} bytes, more than ${MAX_CONFIG_BYTES / 1024} KiB`,
					hint: "a config holds a few settings: remove what is not one",
				},
			]);
		text = await readFile(file, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return none;
		throw err;
	}
	const src = parseYaml(text, file);
	if (src.problems.length > 0) throw new ConfigError(src.problems);
	if (src.value == null) return none;
	const problems = checkSchema(ConfigSchema, src, file);
	if (src.value && typeof src.value === "object" && "trustedProjects" in src.value) {
		// Replaced by pi's own project trust: one decision, shared with pi, instead of a second list.
		const i = problems.findIndex((p) => p.field === "trustedProjects" || p.message.includes("trustedProjects"));
		if (i >= 0) problems.splice(i, 1);
		problems.push({
			file,
			line: src.lineOf(["trustedProjects"]),
			field: "trustedProjects",
			message: "trustedProjects is no longer read: pi-crew trusts a repository when pi does",
			hint: "run `pi-crew trust` in each of those repositories (or /trust in pi), then remove this key",
		});
	}
	const config = src.value as CrewConfig;
	const hb = { ...DEFAULTS.heartbeat, ...config.heartbeat };
	if (problems.length === 0 && !(hb.warnMs < hb.staleMs && hb.staleMs < hb.deadMs))
		problems.push({
			file,
			line: src.lineOf(["heartbeat"]),
			field: "heartbeat",
			message: `thresholds must grow: warnMs ${hb.warnMs} < staleMs ${hb.staleMs} < deadMs ${hb.deadMs}`,
			hint: "set all three, in increasing order",
		});
	if (problems.length > 0) throw new ConfigError(problems);
	const lineOf = (path: string[]) => (hasPath(config, path) ? src.lineOf(path) : undefined);
	return { file, config, lineOf };
}

/** Whether `value` has a field at `path` (each step a plain object's own key), set to something. */
export function hasPath(value: unknown, path: string[]): boolean {
	let at = value;
	for (const key of path) {
		if (typeof at !== "object" || at === null || Array.isArray(at) || !Object.hasOwn(at, key)) return false;
		at = (at as Record<string, unknown>)[key];
	}
	return at !== undefined;
}

/**
 * Sets one top-level field of the user's config file, keeping the rest of the file (comments included); the result
 * is validated before it is written, atomically.
 */
export async function setConfigValue(key: keyof CrewConfig, value: unknown, home = crewHome()): Promise<string> {
	const file = join(home, "config.yaml");
	const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
		if (err.code === "ENOENT") return "";
		throw err;
	});
	const doc = parseDocument(text);
	if (doc.errors.length > 0) throw new ConfigError([{ file, message: `invalid YAML: ${doc.errors[0]?.message}` }]);
	let next: string;
	// A file with comments only has no map to set into: the field goes after the comments.
	if (doc.contents === null) next = `${text}${text && !text.endsWith("\n") ? "\n" : ""}${stringify({ [key]: value })}`;
	else {
		doc.set(key, value);
		next = doc.toString();
	}
	const src = parseYaml(next, file);
	const problems = checkSchema(ConfigSchema, src, file);
	if (problems.length > 0) throw new ConfigError(problems);
	await mkdir(home, { recursive: true });
	// The user's own config may be a link (a dotfiles manager): the file it names is the one replaced.
	const target = await realpath(file).catch(() => file);
	await writeFileAtomic(dirname(target), target, next);
	return file;
}

/** How many pi-crew runs this process is nested in (a worker's depth is its coordinator's plus one). */
export function runDepth(env: NodeJS.ProcessEnv = process.env): number {
	const depth = Number(env.PI_CREW_DEPTH ?? 0);
	return Number.isInteger(depth) && depth > 0 ? depth : 0;
}
