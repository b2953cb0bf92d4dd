/**
 * The config's hold on models: per-agent overrides (`agents.<name>`) over the agents' files, the policy
 * (`models.allow`) a run must keep to before any worker starts, and why each task runs on its model.
 */
import { formatSource } from "../config/home.js";
import { formatLayer, refusedBy } from "../config/model-policy.js";
import type { AllowLayer, ResolvedConfig } from "../config/resolve.js";
import type { ModelSettings, Plan, PlannedTask } from "../engine/plan.js";
import type { Catalog } from "../resources/catalog.js";
import type { AgentDef } from "../resources/schema.js";
import { UsageError } from "../util/errors.js";

type Config = Pick<ResolvedConfig, "values" | "sources">;

/**
 * The catalog with the config's per-agent overrides applied to its agents (model, thinking, fallbackModels): what a
 * run plans with and records (task.planned's definition), so a resume runs the same models. An override of an agent
 * that does not exist is a warning with its line.
 */
export function withAgentOverrides(catalog: Catalog, config: Config): Catalog {
	const overrides = Object.entries(config.values.agents);
	if (overrides.length === 0) return catalog;
	const agents = new Map(catalog.agents);
	const problems = [...catalog.problems];
	for (const [name, o] of overrides) {
		const agent = agents.get(name);
		if (!agent) {
			const at = overrideSource(config, name, Object.keys(o)[0] ?? "model");
			problems.push({
				severity: "warning",
				file: at.file ?? "config",
				line: at.line,
				field: `agents.${name}`,
				message: `no agent "${name}": this override applies to nothing`,
				hint: "see: pi-crew agents",
			});
			continue;
		}
		const next: AgentDef = { ...agent };
		if (o.model) next.model = o.model;
		if (o.thinking) next.thinking = o.thinking;
		if (o.fallbackModels) next.fallbackModels = o.fallbackModels;
		agents.set(name, next);
	}
	return { ...catalog, agents, problems };
}

function overrideSource(config: Config, agent: string, field: string) {
	return config.sources[`agents.${agent}.${field}`] ?? { layer: "default" as const };
}

/** A task's models under the policy: each as it would run, and why each refused one is. */
interface PolicyRow {
	who: string;
	models: string[];
	refused: string[];
}

/**
 * Each task's models (and the roles' an adaptive plan may add) against `models.allow`. pi's own default (a task that
 * names no model) counts as what pi's settings name (`piDefault`); without one, pi would pick any model with
 * credentials, so it is refused: the run must name one.
 */
async function policyRows(
	plan: Plan,
	settings: ModelSettings,
	layers: readonly AllowLayer[],
	piDefault: () => Promise<string | undefined>,
): Promise<PolicyRow[]> {
	const { modelsByTask } = await import("../engine/plan.js");
	const rows = modelsByTask(plan, settings);
	const fallback = rows.some(([, models]) => models.includes(undefined)) ? await piDefault() : undefined;
	return rows.map(([who, named]) => {
		const models: string[] = [];
		const refused: string[] = [];
		for (const m of named) {
			const model = m ?? fallback;
			if (model === undefined) {
				models.push("pi's default");
				refused.push(
					"pi's default model: pi picks any model with credentials; name one (--model, config model or agents)",
				);
				continue;
			}
			models.push(model);
			const by = refusedBy(model, layers);
			const whose = by?.source.layer === "project" ? "the repository's" : "your";
			if (by)
				refused.push(`${model}${m === undefined ? " (pi's default)" : ""}: refused by ${whose} ${formatLayer(by)}`);
		}
		return { who, models, refused };
	});
}

/**
 * Refuses (UsageError: exit 2) a run whose tasks would use a model outside `models.allow`, before any worker starts:
 * each task's models, the ones refused and the config that refuses them (file and line). Fallback models are held to
 * it like the first: a policy means the run never calls another model, even when its first one is down.
 */
export async function assertModelPolicy(
	plan: Plan,
	settings: ModelSettings,
	layers: readonly AllowLayer[],
	piDefault: () => Promise<string | undefined>,
): Promise<void> {
	if (layers.length === 0) return;
	const rows = await policyRows(plan, settings, layers, piDefault);
	if (rows.every((r) => r.refused.length === 0)) return;
	throw new UsageError(
		[
			"cannot start the run: it would use models outside the model policy",
			...rows.flatMap((r) => [
				`  task ${r.who}: ${r.models.join(", fallback ")}`,
				...r.refused.map((why) => `    ${why}`),
			]),
			...layers.map((l) => `  policy: ${formatLayer(l)}`),
			"  allow the model in your config's models.allow, or name an allowed one (--model, config model or agents)",
		].join("\n"),
	);
}

/** What a task runs on and why: the field that names its first model, and where that is written. */
export interface ModelReason {
	task: string;
	/** As a run here would resolve it (`provider/id`); absent: pi's own default. */
	model?: string;
	why: string;
	/** The models it falls back to, resolved. */
	fallbackModels: string[];
	/** Its models outside `models.allow`, each with the config that refuses it: a run would be refused. */
	refused: string[];
}

/** Each task's model and why for a team's workflow, and what a run would refuse. */
export interface TeamModels {
	team: string;
	workflow: string;
	tasks: ModelReason[];
	/** Models a run would refuse besides the policy: unknown to pi, no credentials (each with what to do). */
	problems: string[];
}

/**
 * Each task of `team` (its default workflow, or `workflow`) with its model and why (`pi-crew config --team`),
 * resolved as a run here would.
 */
export async function explainModels(cwd: string | undefined, team: string, workflow?: string): Promise<TeamModels> {
	const { context } = await import("./context.js");
	const { repo, catalog, config } = await context(cwd);
	const plan = (await import("../engine/plan.js")).planRun(catalog, team, workflow);
	return (await explainPlans([plan], { repo, catalog, config }))[0] as TeamModels;
}

/** `explainModels` for several plans (doctor: every team), pi's registry loaded once for all of them. */
export async function explainPlans(
	plans: Plan[],
	{ repo, catalog, config }: { repo: string; catalog: Catalog; config: ResolvedConfig },
	sessionModel?: string,
): Promise<TeamModels[]> {
	const { modelsOf, taskModels } = await import("../engine/plan.js");
	const defaultModel = config.values.model ?? sessionModel;
	const settings: ModelSettings = defaultModel ? { defaultModel } : {};
	const needs = new Map<string | undefined, string[]>();
	for (const plan of plans)
		for (const [model, who] of modelsOf(plan, settings))
			needs.set(model, [...(needs.get(model) ?? []), ...who.map((w) => `${plan.team}/${w}`)]);
	const { resolveEach } = await import("./models.js");
	const found = await resolveEach(needs, repo, config.user.claude?.models);
	const resolved = { ...settings, models: found.models };
	return Promise.all(
		plans.map(async (plan): Promise<TeamModels> => {
			const mine = new Set(plan.tasks.flatMap((t) => taskModels(settings, t)));
			// A problem names its model (`model "x" (...)`), or is pi's default's.
			const problems = found.problems.filter((p) =>
				p.startsWith('model "') ? [...mine].some((m) => p.startsWith(`model "${m}"`)) : mine.has(undefined),
			);
			const layers = config.values.models.allow;
			const rows = layers.length > 0 ? await policyRows(plan, resolved, layers, async () => found.piDefaultModel) : [];
			const tasks = plan.tasks.map((task): ModelReason => {
				const [model, ...fallbackModels] = taskModels(resolved, task);
				const shown = model ?? found.piDefault;
				return {
					task: task.id,
					...(shown ? { model: shown } : {}),
					why: modelReason(task, catalog, plan, settings, config),
					fallbackModels: fallbackModels.flatMap((m) => m ?? []),
					refused: rows.find((r) => r.who === task.id)?.refused ?? [],
				};
			});
			return { team: plan.team, workflow: plan.workflow, tasks, problems };
		}),
	);
}

/** Why `task` runs on its first model, by the precedence of taskModels (engine/plan.ts). */
function modelReason(
	task: PlannedTask,
	catalog: Catalog,
	plan: Pick<Plan, "team" | "workflow">,
	settings: ModelSettings,
	config: Config,
): string {
	const at = (source: AgentDef["source"], path: (string | number)[]) => {
		const line = source.lineOf(path);
		return `${source.file}${line ? `:${line}` : ""}`;
	};
	if (settings.model) return "--model";
	const workflow = catalog.workflows.get(plan.workflow);
	const stepIndex = workflow?.steps.findIndex((s) => s.id === task.id) ?? -1;
	if (workflow?.steps[stepIndex]?.model) return `step model, ${at(workflow.source, ["steps", stepIndex, "model"])}`;
	const team = catalog.teams.get(plan.team);
	const roleIndex = team?.roles.findIndex((r) => r.name === task.role) ?? -1;
	if (team?.roles[roleIndex]?.model) return `role model, ${at(team.source, ["roles", roleIndex, "model"])}`;
	const name = task.agent.name;
	if (config.values.agents[name]?.model)
		return `agents.${name}.model, ${formatSource(overrideSource(config, name, "model"))}`;
	if (task.agent.model) return `agent ${name}'s model, ${at(task.agent.source, ["model"])}`;
	if (settings.defaultModel)
		return config.values.model
			? `model, ${formatSource(config.sources.model ?? { layer: "default" })}`
			: "the calling pi session's model";
	return "pi's default: no model named";
}
