/**
 * The effective configuration of a repository, decided in one place: pi-crew's defaults, under the user's config,
 * under what the repository's `.crew/config.{yaml,yml,json}` tightens. A repository may lower concurrency, the task
 * timeout, budgets and maxDepth, pick a stricter autonomy, raise the sandbox
 * (`required`, network `none`), deny tools and narrow `models.allow`; anything else it sets, and anything looser
 * than the user's value, is not applied and is reported (a warning with file and line). A project file that cannot
 * be read or parsed is reported and ignored as a whole: it never blocks a run and never loosens anything.
 */
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Type } from "typebox";
import type {
	BoundSetting,
	Budget,
	HeartbeatPolicy,
	RetryPolicy,
	RunSettings,
	SettingSource,
} from "../store/settings.js";
import { assertNoSymlinks } from "../util/safe-fs.js";
import { checkSchema } from "../util/schema-check.js";
import { type Problem, parseYaml, type YamlSource } from "../util/yaml-source.js";
import { ConfigSchema, type CrewConfig, DEFAULTS, hasPath, readUserConfig } from "./config.js";
import {
	AUTONOMY,
	type Autonomy,
	crewHome,
	formatSource,
	MAX_CONFIG_BYTES,
	PROJECT_CONFIG_FILES,
	type RuntimeName,
	SANDBOX_MODES,
	SANDBOX_NETWORKS,
	type SandboxMode,
	type SandboxNetwork,
} from "./home.js";

export { formatSource };

/** The keys a repository may set, each only to make it stricter than the user's (or the default) value. */
export const PROJECT_KEYS = [
	"concurrency",
	"taskTimeoutMs",
	"maxDepth",
	"budget",
	"autonomy",
	"tools",
	"sandbox",
	"sandboxNetwork",
	"verify",
	"models",
] as const;
const BUDGET_KEYS = ["maxTokens", "maxCost", "maxTasks", "maxWallMs"] as const;

const ProjectConfigSchema = Type.Object(Object.fromEntries(PROJECT_KEYS.map((k) => [k, ConfigSchema.properties[k]])), {
	additionalProperties: false,
});

type Metrics = NonNullable<CrewConfig["metrics"]>;

/** One config's `models.allow`: a model must match one of its globs. */
export interface AllowLayer {
	allow: string[];
	source: SettingSource;
}

/** Every setting with its default applied (what a run here would use, before its own flags). */
export interface EffectiveConfig {
	autonomy: Autonomy;
	maxDepth: number;
	concurrency: number;
	runtime: RuntimeName;
	/** The OS sandbox of child workers. */
	sandbox: SandboxMode;
	sandboxNetwork: SandboxNetwork;
	taskTimeoutMs: number;
	model?: string;
	/** The model policy: each layer (the user's list, the repository's) must allow a model; none: any model. */
	models: { allow: AllowLayer[] };
	/** Per-agent model, thinking and fallbacks over the agents' files (the user's config only). */
	agents: NonNullable<CrewConfig["agents"]>;
	autoRetry: boolean;
	/** The builtin workflows' adaptive steps wait for approval of their plan. */
	approvePlans: boolean;
	approvalRounds: number;
	/** Who settles an isolated run's merge conflict: an agent, or `none` (the user's config only). */
	merge: { resolver: string; model?: string };
	/** A reviewer agent for every writing task that names none (a repository's config may add one: it only adds checks). */
	verify?: NonNullable<CrewConfig["verify"]>;
	verifyRounds: number;
	retry: RetryPolicy;
	heartbeat: HeartbeatPolicy;
	/** What a worker's question gets when nobody can answer it (the user's config only). */
	questions: { unattended: "fail" | "default" };
	budget: Budget;
	tools: { deny: string[] };
	/** Variables workers get besides the essentials and their model's credentials (the user's config only). */
	env: { allow: string[] };
	/** The warm pool of child workers (the user's config only). */
	workers: { recycleAfter: number; idleSeconds: number };
	/** Notifications outside pi (the user's config only; off unless set). */
	notify?: NonNullable<CrewConfig["notify"]> & { timeoutMs: number };
	/** Automatic pruning when a coordinator starts (the user's config only; off unless set). */
	prune?: NonNullable<CrewConfig["prune"]>;
	metrics: {
		sink: boolean;
		retentionDays: number;
		prometheus?: NonNullable<Metrics["prometheus"]> & { host: string };
		otlp?: NonNullable<Metrics["otlp"]> & { intervalMs: number; timeoutMs: number };
	};
}

export interface ResolvedConfig {
	repo: string;
	userFile: string;
	/** The repository's config file, when it has one (read or not: see `problems`). */
	projectFile?: string;
	/** The user's config as written (validated). */
	user: CrewConfig;
	values: EffectiveConfig;
	/** Where each value came from, by dotted path (`budget.maxTokens`); arrays are one value. */
	sources: Record<string, SettingSource>;
	/** What the repository's config set that is not applied, and why: warnings with file and line. */
	problems: Problem[];
}

/** The defaults under the user's config. */
function userValues(config: CrewConfig, base: (path: string[]) => SettingSource): EffectiveConfig {
	const metrics = config.metrics;
	const allow = config.models?.allow;
	return {
		autonomy: config.autonomy ?? DEFAULTS.autonomy,
		maxDepth: config.maxDepth ?? DEFAULTS.maxDepth,
		concurrency: config.concurrency ?? DEFAULTS.concurrency,
		runtime: config.runtime ?? DEFAULTS.runtime,
		sandbox: config.sandbox ?? DEFAULTS.sandbox,
		sandboxNetwork: config.sandboxNetwork ?? DEFAULTS.sandboxNetwork,
		taskTimeoutMs: config.taskTimeoutMs ?? DEFAULTS.taskTimeoutMs,
		model: config.model,
		models: { allow: allow ? [{ allow: [...allow], source: base(["models", "allow"]) }] : [] },
		agents: structuredClone(config.agents ?? {}),
		autoRetry: config.autoRetry ?? false,
		approvePlans: config.approvePlans ?? false,
		approvalRounds: config.approvalRounds ?? DEFAULTS.approvalRounds,
		merge: { ...DEFAULTS.merge, ...config.merge },
		...(config.verify ? { verify: { ...config.verify } } : {}),
		verifyRounds: config.verifyRounds ?? DEFAULTS.verifyRounds,
		retry: { ...DEFAULTS.retry, ...config.retry },
		questions: { ...DEFAULTS.questions, ...config.questions },
		heartbeat: { ...DEFAULTS.heartbeat, ...config.heartbeat },
		budget: { ...config.budget },
		tools: { deny: [...(config.tools?.deny ?? [])] },
		env: { allow: [...(config.env?.allow ?? [])] },
		workers: { ...DEFAULTS.workers, ...config.workers },
		...(config.notify ? { notify: { timeoutMs: DEFAULTS.notifyTimeoutMs, ...config.notify } } : {}),
		...(config.prune ? { prune: { ...config.prune } } : {}),
		metrics: {
			sink: metrics?.sink ?? DEFAULTS.metrics.sink,
			retentionDays: metrics?.retentionDays ?? DEFAULTS.metrics.retentionDays,
			...(metrics?.prometheus ? { prometheus: { host: DEFAULTS.metrics.host, ...metrics.prometheus } } : {}),
			...(metrics?.otlp
				? {
						otlp: {
							intervalMs: DEFAULTS.metrics.otlpIntervalMs,
							timeoutMs: DEFAULTS.metrics.otlpTimeoutMs,
							...metrics.otlp,
						},
					}
				: {}),
		},
	};
}

/**
 * The effective config of `repo`. Throws ConfigError when the user's config is invalid (that stops runs); problems of
 * the repository's config are only reported.
 */
export async function resolveConfig(repo: string, home = crewHome()): Promise<ResolvedConfig> {
	const user = await readUserConfig(home);
	const base = (path: string[]): SettingSource =>
		hasPath(user.config, path) ? { layer: "user", file: user.file, line: user.lineOf(path) } : { layer: "default" };
	const values = userValues(user.config, base);
	const project = await readProjectConfig(repo);
	const applied = new Map<string, SettingSource>();
	const problems = [...project.problems];
	if (project.file && project.src)
		problems.push(...applyProject(values, { file: project.file, src: project.src }, base, applied));
	const sources: Record<string, SettingSource> = {};
	const visit = (value: unknown, path: string[]) => {
		if (typeof value === "object" && value !== null && !Array.isArray(value)) {
			for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
			return;
		}
		const key = path.join(".");
		sources[key] = applied.get(key) ?? base(path);
	};
	// Unset budgets are listed too (as unset, by default).
	visit({ ...values, budget: Object.fromEntries(BUDGET_KEYS.map((k) => [k, values.budget[k]])) }, []);
	return {
		repo,
		userFile: user.file,
		...(project.file ? { projectFile: project.file } : {}),
		user: user.config,
		values,
		sources,
		problems,
	};
}

/** The repository's config file, parsed; or why it is not read. */
async function readProjectConfig(repo: string): Promise<{ file?: string; src?: YamlSource; problems: Problem[] }> {
	const found: { file: string; info: Awaited<ReturnType<typeof lstat>> }[] = [];
	for (const name of PROJECT_CONFIG_FILES) {
		const file = join(repo, ".crew", name);
		const info = await lstat(file).catch(() => undefined);
		if (info) found.push({ file, info });
	}
	const [first, ...others] = found;
	if (!first) return { problems: [] };
	const { file, info } = first;
	const problems: Problem[] = others.map((o) => ({
		severity: "warning",
		file: o.file,
		message: `ignored: only one project config is read (${file})`,
		hint: "keep one of them",
	}));
	const ignored = (message: string, hint: string) => ({
		file,
		problems: [...problems, { severity: "warning" as const, file, message: `ignored: ${message}`, hint }],
	});
	// Read from the repository itself: a link could name a FIFO (a hang), or any file of the user's.
	if (info.isSymbolicLink()) return ignored("a repository's config may not be a symlink", "make it a regular file");
	const linked = await assertNoSymlinks(repo, file).then(
		() => undefined,
		(err: Error) => err,
	);
	if (linked) return ignored(linked.message, "make .crew a real directory");
	if (!info.isFile()) return ignored("not a regular file", "make it a regular file");
	if (info.size > MAX_CONFIG_BYTES)
		return ignored(`larger than ${MAX_CONFIG_BYTES / 1024} KiB`, "a project config holds a few settings");
	const text = await readFile(file, "utf8").catch((err: Error) => err);
	if (text instanceof Error) return ignored(`cannot read: ${text.message}`, "fix its permissions or remove it");
	const src = parseYaml(text, file);
	if (src.problems.length > 0)
		return {
			file,
			problems: [
				...problems,
				...src.problems.map((p) => ({
					...p,
					severity: "warning" as const,
					message: `${p.message}; the whole file is ignored`,
				})),
			],
		};
	return { file, src, problems };
}

/**
 * Applies what the project's config tightens to `values` (recording each applied path in `applied`) and returns the
 * problems: keys it may not set, invalid values, values looser than the user's.
 */
function applyProject(
	values: EffectiveConfig,
	project: { file: string; src: YamlSource },
	base: (path: string[]) => SettingSource,
	applied: Map<string, SettingSource>,
): Problem[] {
	const { file, src } = project;
	if (src.value == null) return [];
	const allowed = `a repository's config may only tighten ${PROJECT_KEYS.join(", ")}`;
	const problems: Problem[] = [];
	const broken = new Set<string>();
	for (const p of checkSchema(ProjectConfigSchema, src, file)) {
		const top = p.field?.split(".")[0];
		if (!top) return [{ ...p, severity: "warning", message: `${p.message}; the whole file is ignored` }];
		broken.add(top);
		const userOnly = p.message === "unknown field" && p.field === top && Object.hasOwn(ConfigSchema.properties, top);
		problems.push({
			...p,
			severity: "warning",
			message: userOnly
				? `ignored: a repository may not set ${top}, only your own config can`
				: p.message === "unknown field"
					? "ignored: unknown field"
					: `ignored: ${p.message}`,
			hint: userOnly || p.message === "unknown field" ? allowed : p.hint,
		});
	}
	const set = src.value as Record<string, unknown>;
	const at = (path: string[]): SettingSource => ({ layer: "project", file, line: src.lineOf(path) });
	const looser = (path: string[], current: unknown) =>
		problems.push({
			severity: "warning",
			file,
			line: src.lineOf(path),
			field: path.join("."),
			message: `ignored: looser than your config (${path.join(".")} is ${current}: ${formatSource(base(path))})`,
			hint: "a repository's config may only make a setting stricter",
		});
	/** Lower is stricter; `current` undefined is no limit. */
	const tighten = (path: string[], wanted: number, current: number | undefined, apply: (n: number) => void) => {
		if (current !== undefined && wanted > current) looser(path, current);
		else if (current === undefined || wanted < current) {
			apply(wanted);
			applied.set(path.join("."), at(path));
		}
	};
	const given = (key: (typeof PROJECT_KEYS)[number]) => Object.hasOwn(set, key) && !broken.has(key);
	for (const key of ["concurrency", "taskTimeoutMs", "maxDepth"] as const)
		if (given(key))
			tighten([key], set[key] as number, values[key], (n) => {
				values[key] = n;
			});
	if (given("budget")) {
		const budget = set.budget as Budget;
		for (const key of BUDGET_KEYS) {
			const wanted = budget[key];
			if (wanted !== undefined)
				tighten(["budget", key], wanted, values.budget[key], (n) => {
					values.budget[key] = n;
				});
		}
	}
	/** `order` lists a key's values from the loosest to the strictest. */
	const raise = <K extends "autonomy" | "sandbox" | "sandboxNetwork">(key: K, order: readonly EffectiveConfig[K][]) => {
		if (!given(key)) return;
		const wanted = set[key] as EffectiveConfig[K];
		if (order.indexOf(wanted) < order.indexOf(values[key])) looser([key], values[key]);
		else if (order.indexOf(wanted) > order.indexOf(values[key])) {
			values[key] = wanted;
			applied.set(key, at([key]));
		}
	};
	raise("autonomy", [...AUTONOMY].reverse());
	raise("sandbox", SANDBOX_MODES);
	raise("sandboxNetwork", SANDBOX_NETWORKS);
	// A reviewer only adds checks: the repository's applies where your config names none (yours wins).
	if (given("verify")) {
		if (values.verify)
			problems.push({
				severity: "warning",
				file,
				line: src.lineOf(["verify"]),
				field: "verify",
				message: `ignored: your config names a reviewer (verify.agent is ${values.verify.agent}: ${formatSource(base(["verify", "agent"]))})`,
				hint: "a task has one reviewer: yours wins",
			});
		else {
			// Its `model` would pick what runs on your credentials: the reviewer runs on its own agent's model.
			const { model, ...verify } = set.verify as NonNullable<CrewConfig["verify"]>;
			values.verify = verify;
			applied.set("verify.agent", at(["verify", "agent"]));
			if (model !== undefined)
				problems.push({
					severity: "warning",
					file,
					line: src.lineOf(["verify", "model"]),
					field: "verify.model",
					message: `ignored: a repository's config does not choose the model its reviewer runs on (${model})`,
					hint: `the reviewer ${verify.agent} runs on its own agent's model; set verify.model in your own config to choose one`,
				});
		}
	}
	// Another list beside the user's: a model must match both, so a repository can only narrow the policy.
	const allow = given("models") && (set.models as { allow?: string[] }).allow;
	if (allow) {
		values.models.allow.push({ allow, source: at(["models", "allow"]) });
		applied.set("models.allow", at(["models", "allow"]));
	}
	if (given("tools")) {
		const added = ((set.tools as { deny?: string[] }).deny ?? []).filter((t) => !values.tools.deny.includes(t));
		if (added.length > 0) {
			values.tools.deny.push(...added);
			applied.set("tools.deny", at(["tools", "deny"]));
		}
	}
	return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/**
 * A run's recorded settings, bounded by the effective config now: concurrency, the task timeout and budgets never
 * above it (a budget applies where the run had none), its denied tools joined with the config's. The rest (runtime,
 * models, scenario) stays as recorded: only a run made here is ever resumed (see owner.ts).
 */
export function boundSettings(
	settings: RunSettings,
	resolved: Pick<ResolvedConfig, "values" | "sources">,
): { settings: RunSettings; bounded: BoundSetting[] } {
	const { values, sources } = resolved;
	const next: RunSettings = { ...settings };
	const bounded: BoundSetting[] = [];
	const source = (field: string): SettingSource => sources[field] ?? { layer: "default" };
	const cap = (field: string, recorded: number | undefined, limit: number | undefined, apply: (n: number) => void) => {
		if (limit === undefined || (recorded !== undefined && recorded <= limit)) return;
		apply(limit);
		bounded.push({ field, ...(recorded !== undefined ? { recorded } : {}), applied: limit, source: source(field) });
	};
	cap("concurrency", settings.concurrency, values.concurrency, (n) => {
		next.concurrency = n;
	});
	cap("taskTimeoutMs", settings.taskTimeoutMs, values.taskTimeoutMs, (n) => {
		next.taskTimeoutMs = n;
	});
	for (const key of BUDGET_KEYS)
		cap(`budget.${key}`, settings.budget?.[key], values.budget[key], (n) => {
			next.budget = { ...next.budget, [key]: n };
		});
	const recorded = settings.denyTools ?? [];
	const deny = [...new Set([...recorded, ...values.tools.deny])];
	if (deny.length > new Set(recorded).size) {
		next.denyTools = deny;
		bounded.push({ field: "tools.deny", recorded, applied: deny, source: source("tools.deny") });
	}
	return { settings: next, bounded };
}
