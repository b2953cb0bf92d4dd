/**
 * Model preflight: before any worker starts, resolve each model a run names against pi's registry (built-ins,
 * `models.json`, credentials from `auth.json` and the environment) to the `provider/id` its workers will run, and
 * refuse, with what to do, a model pi does not know, a bare id no single credentialed provider offers, or a provider
 * without credentials. A run that would fail in every worker fails here, once, with the reason.
 */
import { join } from "node:path";
import { piAgentDir } from "../config/home.js";
import { type Api, loadAiCompat, loadSdk, type Model } from "../host.js";
import type { Catalog } from "../resources/catalog.js";
import { CLAUDE_ALIASES } from "../resources/interop.js";
import type { Source } from "../resources/schema.js";
import { isScripted, SCRIPTED_MODEL_IDS, SCRIPTED_PROVIDER } from "../scripted/scenario.js";
import { UsageError } from "../util/errors.js";
import { closestNames } from "../util/suggest.js";
import type { Problem } from "../util/yaml-source.js";

/** Who needs a model: the tasks (by id) that would run with it; `undefined` is pi's default. */
export type ModelNeeds = Map<string | undefined, string[]>;

export interface Resolution {
	/** Each model reference the run names, as the `provider/id` its workers run (scripted models as they are). */
	models: Record<string, string>;
	/** pi's own default, for tasks that name no model: `provider/id` and where it comes from. */
	piDefault?: string;
	/** That default as `provider/id`, when pi's settings name it (else pi picks any model with credentials). */
	piDefaultModel?: string;
}

const REHEARSE = `or rehearse offline with --model ${SCRIPTED_PROVIDER}/scripted`;

/**
 * Resolves every model in `needs`; throws a UsageError naming each one that cannot run, with what to do. `pins` is
 * the config's `claude.models` (an alias pinned to a `provider/id`). `costBudget`: where the run's cost budget comes
 * from, when it has one; a model pi has no price for is then refused, since the budget could never stop it.
 */
export async function resolveModels(
	needs: ModelNeeds,
	cwd: string,
	pins: Record<string, string> = {},
	costBudget?: string,
): Promise<Resolution> {
	const { problems, models, piDefault, piDefaultModel } = await resolveEach(needs, cwd, pins, costBudget);
	if (problems.length > 0) throw new UsageError(`cannot start the run:\n${problems.map((p) => `  ${p}`).join("\n")}`);
	return { models, ...(piDefault ? { piDefault } : {}), ...(piDefaultModel ? { piDefaultModel } : {}) };
}

/**
 * `resolveModels` without the throw: what resolved, a line for each model that did not (for `plan`), and each such
 * model's problem alone (`failed`, for `validate`).
 */
export async function resolveEach(
	needs: ModelNeeds,
	cwd: string,
	pins: Record<string, string> = {},
	costBudget?: string,
): Promise<Resolution & { problems: string[]; failed: Map<string, string> }> {
	const problems: string[] = [];
	const failed = new Map<string, string>();
	const resolution: Resolution = { models: {} };
	const real: [string | undefined, string[]][] = [];
	for (const [model, tasks] of needs) {
		if (!isScripted(model)) {
			real.push([model, tasks]);
			continue;
		}
		const id = model?.slice(SCRIPTED_PROVIDER.length + 1) ?? "";
		if (!model) continue;
		if ((SCRIPTED_MODEL_IDS as readonly string[]).includes(id)) resolution.models[model] = model;
		else {
			const problem = `the scripted models are ${SCRIPTED_MODEL_IDS.map((m) => `${SCRIPTED_PROVIDER}/${m}`).join(", ")}`;
			failed.set(model, problem);
			problems.push(`model "${model}" (${who(tasks)}): ${problem}`);
		}
	}
	// The registry loads only when a real model is named (or pi's default is): never for a scripted run.
	if (real.length > 0) {
		const registry = await Registry.load();
		for (const [model, tasks] of real) {
			if (model === undefined) {
				const found = await registry.piDefault(cwd);
				// Who needs it goes after the subject ("no model is configured (tasks a, b): pass ...").
				if ("problem" in found) problems.push(found.problem.replace(/^([^:]*):/, `$1 (${who(tasks)}):`));
				else {
					resolution.piDefault = found.model;
					if (found.ref) resolution.piDefaultModel = found.ref;
				}
				const free = "runs" in found && costBudget && unpricedProblem(found.runs, costBudget);
				if (free) problems.push(`pi's default model (${who(tasks)}): ${free}`);
				continue;
			}
			const found = registry.resolve(model, pins);
			if ("problem" in found) {
				failed.set(model, found.problem);
				problems.push(`model "${model}" (${who(tasks)}): ${found.problem}`);
				continue;
			}
			resolution.models[model] = found.model;
			const free = costBudget && unpricedProblem(found.runs, costBudget);
			if (free) problems.push(`model "${model}" (${who(tasks)}): ${free}`);
		}
	}
	return { ...resolution, problems, failed };
}

/**
 * A warning for each model a resource names (an agent's model and fallbacks, a role's, a step's) that a run could not
 * start on (unknown to pi, several or no matches, no credentials), with its file, line and field.
 */
export async function resourceModelProblems(
	repo: string,
	catalog: Catalog,
	pins?: Record<string, string>,
): Promise<Problem[]> {
	const named: { model: string; file: string; line?: number; field: string }[] = [];
	const add = (model: string | undefined, source: Source, path: (string | number)[]): void => {
		if (model) named.push({ model, file: source.file, line: source.lineOf(path), field: path.join(".") });
	};
	for (const a of catalog.agents.values()) {
		add(a.model, a.source, ["model"]);
		(a.fallbackModels ?? []).forEach((m, i) => {
			add(m, a.source, ["fallbackModels", i]);
		});
	}
	for (const t of catalog.teams.values())
		t.roles.forEach((r, i) => {
			add(r.model, t.source, ["roles", i, "model"]);
		});
	for (const w of catalog.workflows.values())
		w.steps.forEach((s, i) => {
			add(s.model, w.source, ["steps", i, "model"]);
		});
	// The registry loads only when a resource names a model.
	if (named.length === 0) return [];
	const needs = new Map(named.map((n) => [n.model, [n.file]]));
	const { failed } = await resolveEach(needs, repo, pins);
	return named.flatMap(({ model, file, line, field }) => {
		const problem = failed.get(model);
		return problem
			? [{ severity: "warning" as const, file, line, field, message: `model "${model}": ${problem}` }]
			: [];
	});
}

type AnyModel = Model<Api>;
/** `runs`: the registry's models it may run on (pi's default without a settings default: any with credentials). */
type Outcome = { model: string; runs: readonly AnyModel[]; ref?: string } | { problem: string };
type Sdk = Awaited<ReturnType<typeof loadSdk>>;
type Ai = Awaited<ReturnType<typeof loadAiCompat>>;

/** pi's model registry as the workers' pi will load it (the user's agent dir), and how pi-crew reads it. */
class Registry {
	private constructor(
		private readonly sdk: Sdk,
		private readonly ai: Ai,
		private readonly runtime: Awaited<ReturnType<Sdk["ModelRuntime"]["create"]>>,
	) {}

	static async load(): Promise<Registry> {
		const [sdk, ai] = await Promise.all([loadSdk(), loadAiCompat()]);
		const agentDir = piAgentDir();
		const runtime = await sdk.ModelRuntime.create({
			authPath: join(agentDir, "auth.json"),
			modelsPath: join(agentDir, "models.json"),
		});
		return new Registry(sdk, ai, runtime);
	}

	/** A model reference: a Claude alias, a bare id (`claude-sonnet-4-5`) or `provider/id`. */
	resolve(ref: string, pins: Record<string, string>): Outcome {
		const alias = CLAUDE_ALIASES.find((a) => a === ref.toLowerCase());
		const pin = alias && pins[alias];
		if (pin) {
			const found = this.resolve(pin, {});
			return "problem" in found ? { problem: `pinned by claude.models.${alias} to "${pin}": ${found.problem}` } : found;
		}
		if (alias) return this.newest(alias);
		const found = this.sdk.resolveCliModel({ cliModel: ref, modelRuntime: this.runtime });
		const model = found.model;
		// pi runs an unknown id of a known provider as a "custom model id": the provider would answer 404 in every worker.
		const listed = model && this.runtime.getModel(model.provider, model.id);
		if (listed) {
			const name = `${listed.provider}/${listed.id}${found.thinkingLevel ? `:${found.thinkingLevel}` : ""}`;
			if (this.runtime.hasConfiguredAuth(listed.provider)) return { model: name, runs: [listed] };
			if (ref.includes("/"))
				return {
					problem: `no credentials for provider "${listed.provider}": ${this.howToAuth(listed.provider)}, ${REHEARSE}`,
				};
		}
		return ref.includes("/") ? this.unknown(ref) : this.bare(ref);
	}

	/** A `provider/id` pi does not list: the provider's closest ids, or the closest providers. */
	private unknown(ref: string): Outcome {
		const slash = ref.indexOf("/");
		const [provider, id] = [ref.slice(0, slash), ref.slice(slash + 1)];
		const models = this.runtime.getModels(provider);
		if (models.length === 0) {
			const providers = [...new Set(this.runtime.getModels().map((m) => m.provider))];
			const near = closestNames(provider, providers);
			return {
				problem: `pi has no provider "${provider}"${near.length > 0 ? `; did you mean ${near.map((p) => `"${p}"`).join(" or ")}?` : ""} (see: pi --list-models; custom providers go in models.json), ${REHEARSE}`,
			};
		}
		const near = closestNames(
			id,
			models.map((m) => m.id),
		);
		return {
			problem: `provider "${provider}" has no model "${id}"${near.length > 0 ? `; did you mean ${near.map((m) => `${provider}/${m}`).join(", ")}?` : ""} (see: pi --list-models ${provider}; a model pi does not list yet can be added in models.json), ${REHEARSE}`,
		};
	}

	/** A bare id: the one provider with credentials that offers it, or the candidates with what each needs. */
	private bare(ref: string): Outcome {
		const lower = ref.toLowerCase();
		const all = this.runtime.getModels();
		const exact = all.filter((m) => m.id.toLowerCase() === lower);
		const offers = bestPerProvider(exact.length > 0 ? exact : all.filter((m) => m.id.toLowerCase().includes(lower)));
		if (offers.length === 0) {
			const near = closestNames(ref, [...new Set(all.map((m) => m.id))]);
			return {
				problem: `pi knows no model "${ref}"${near.length > 0 ? `; did you mean ${near.join(", ")}?` : ""} (see: pi --list-models), ${REHEARSE}`,
			};
		}
		const usable = offers.filter((m) => this.runtime.hasConfiguredAuth(m.provider));
		const [only] = usable;
		if (only && usable.length === 1) return { model: name(only), runs: [only] };
		if (usable.length > 1)
			return {
				problem: `several providers with credentials offer it: ${usable.map(name).join(", ")}; pass one as provider/id`,
			};
		return {
			problem: `no provider that offers it has credentials: ${this.candidates(offers)}; then pass provider/id, ${REHEARSE}`,
		};
	}

	/** A Claude alias: the newest model of the family (by the version in its name), a provider with credentials first. */
	private newest(alias: string): Outcome {
		const family = this.runtime
			.getModels()
			.flatMap((m) => {
				const version = claudeVersion(m, alias);
				return version ? [{ m, version }] : [];
			})
			// Newest first; within a version the shortest id (not a dated, regional or batch variant), then pi's order.
			.sort((a, b) => compareVersions(b.version, a.version) || a.m.id.length - b.m.id.length);
		const usable = family.find((f) => this.runtime.hasConfiguredAuth(f.m.provider));
		if (usable) return { model: name(usable.m), runs: [usable.m] };
		const pin = `or pin it in your config (claude.models.${alias}: provider/id)`;
		const [top] = family;
		if (!top) return { problem: `pi's registry has no Claude ${alias} model; ${pin}` };
		const offers = bestPerProvider(family.filter((f) => f.version === top.version).map((f) => f.m));
		return {
			problem: `the newest Claude ${alias} (${top.version}) has no provider with credentials: ${this.candidates(offers)}; ${pin}, ${REHEARSE}`,
		};
	}

	/** pi's default model, as a worker's pi picks it: the settings' default, else any model with credentials. */
	async piDefault(cwd: string): Promise<Outcome> {
		const settings = this.sdk.SettingsManager.create(cwd, piAgentDir(), { projectTrusted: false });
		const [provider, id] = [settings.getDefaultProvider(), settings.getDefaultModel()];
		if (provider && id) {
			const found = this.resolve(`${provider}/${id}`, {});
			if ("problem" in found)
				return { problem: `pi's default model "${provider}/${id}" (settings.json): ${found.problem}` };
			return { model: `${found.model} (pi's default, settings.json)`, runs: found.runs, ref: found.model };
		}
		const available = await this.runtime.getAvailable();
		const [first] = available;
		if (first)
			return {
				model: `pi's default: one of ${available.length} models with credentials, e.g. ${name(first)}`,
				runs: available,
			};
		return {
			problem: `no model is configured: pass --model provider/id, log in with /login in pi or set the provider's API key, ${REHEARSE}`,
		};
	}

	/** `provider/id (set VAR)` for each offer, a few of them. */
	private candidates(offers: readonly AnyModel[]): string {
		const shown = offers.slice(0, 6).map((m) => `${name(m)} (${this.howToAuth(m.provider)})`);
		return `${shown.join(", ")}${offers.length > 6 ? ` and ${offers.length - 6} more` : ""}`;
	}

	/** What gives `provider` credentials: its key variables (pi-ai's own table), /login, or its models.json entry. */
	howToAuth(provider: string): string {
		// findEnvKeys lists the variables that are set; an environment where every variable is set lists them all.
		const every = new Proxy({} as Record<string, string>, { get: () => "set" });
		const variables = this.ai.findEnvKeys(provider, every) ?? [];
		const auth = this.runtime.getProvider(provider)?.auth;
		const login = auth?.oauth || auth?.apiKey?.login ? "log in with /login in pi" : undefined;
		const ways = [variables.length > 0 ? `set ${variables.join(" or ")}` : undefined, login].filter(Boolean);
		return ways.length > 0 ? ways.join(", or ") : "give it an apiKey in models.json";
	}
}

const name = (m: AnyModel) => `${m.provider}/${m.id}`;

/**
 * Why `costBudget` cannot hold on these models, if it cannot: pi's registry has no price for one of them (0 for input
 * and output, as local and custom models often are), so pi reports no cost for its calls and the budget never stops it.
 */
function unpricedProblem(runs: readonly AnyModel[], costBudget: string): string | undefined {
	const free = runs.filter((m) => m.cost.input === 0 && m.cost.output === 0);
	if (free.length === 0) return undefined;
	const which =
		runs.length === 1
			? `${name(free[0] as AnyModel)} has no price in pi's registry`
			: `pi picks one of ${runs.length} models with credentials and ${free.length} have no price in its registry (${free.slice(0, 3).map(name).join(", ")}${free.length > 3 ? ", ..." : ""}); pass --model provider/id of a priced one`;
	return `${which}, so pi reports no cost for its calls and the cost budget (${costBudget}) cannot be enforced: drop the cost budget and limit tokens instead (--max-tokens, budget.maxTokens), or price the model in models.json (cost: input and output, US dollars per million tokens)`;
}

/** Each provider's best match: an alias id over a dated one (`claude-sonnet-4-5` over `-20250929`), then the latest. */
function bestPerProvider(models: readonly AnyModel[]): AnyModel[] {
	const best = new Map<string, AnyModel>();
	const rank = (m: AnyModel) => (/-\d{8}$/.test(m.id) ? 1 : 0);
	for (const m of models) {
		const held = best.get(m.provider);
		if (!held || rank(m) < rank(held) || (rank(m) === rank(held) && m.id.localeCompare(held.id) > 0))
			best.set(m.provider, m);
	}
	return [...best.values()];
}

/** The version of a Claude model of `alias`'s family from its registry name ("Claude Sonnet 4.5", "Claude 3.5 Haiku"). */
function claudeVersion(m: AnyModel, alias: string): string | undefined {
	if (!m.id.toLowerCase().includes(alias)) return undefined;
	const after = new RegExp(`\\bclaude\\s+${alias}\\s+(\\d+(?:\\.\\d+)*)`, "i").exec(m.name);
	const before = new RegExp(`\\bclaude\\s+(\\d+(?:\\.\\d+)*)\\s+${alias}\\b`, "i").exec(m.name);
	return (after ?? before)?.[1];
}

function compareVersions(a: string, b: string): number {
	const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)];
	for (let i = 0; i < Math.max(x.length, y.length); i++)
		if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
	return 0;
}

function who(tasks: string[]): string {
	const shown = tasks.slice(0, 3).join(", ");
	return `task${tasks.length > 1 ? "s" : ""} ${shown}${tasks.length > 3 ? ` and ${tasks.length - 3} more` : ""}`;
}
