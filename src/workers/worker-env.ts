/**
 * A worker's environment, for both runtimes (the child's process, the in-process task's bash tool): the essentials,
 * pi's and pi-crew's own variables, exactly the credentials its model's provider needs, resolved as pi resolves them,
 * and the variables the user's config allows by name. Nothing else of the coordinator's environment.
 */
import { readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { runDepth } from "../config/config.js";
import { piAgentDir } from "../config/home.js";
import { SESSION_UNTRUSTED_ENV } from "../config/trust.js";
import { loadAiCompat, loadSdk } from "../host.js";
import { isScripted } from "../scripted/scenario.js";
import { processStartTime } from "../store/lease.js";
import { repositoryRoots, UNTRUSTED_REPO_ENV } from "./context-fence.js";
import { HOST_PI_ENV } from "./host-pi.js";
import { REPO_ENV, TASK_DIR_ENV } from "./path-guard.js";
import type { TaskSpec } from "./runtime.js";

/**
 * What any program needs: PATH, HOME, user, shell, terminal, locale, temp dir, time zone, proxies and CA bundles; pi's
 * own variables (PI_*: its agent dir, offline mode, cache retention) and node's compile cache; git's identity.
 */
const ESSENTIAL =
	/^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TERM|TMPDIR|TZ|NO_COLOR|(HTTPS?|ALL|NO)_PROXY|(https?|all|no)_proxy|SSL_CERT_(FILE|DIR)|NODE_EXTRA_CA_CERTS|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|NODE_COMPILE_CACHE)$|^(LC_|XDG_|PI_|GIT_(AUTHOR|COMMITTER)_)/;

/** Where config lives and which pi runs: a run a worker starts must use the same. */
const PASS_CREW_ENV = new Set(["PI_CREW_HOME", "PI_CREW_PI_BIN", HOST_PI_ENV, SESSION_UNTRUSTED_ENV]);

/**
 * What a provider reads besides its key variables (those come from pi-ai's own table, `findEnvKeys`), as pi-ai 1.6
 * reads them in its auth resolution and its API clients. Bedrock goes through the AWS SDK's credential chain, which
 * reads the whole AWS_ family (profiles, config files, roles, regions), hence a prefix there.
 */
const PROVIDER_VARIABLES: Record<string, readonly string[]> = {
	anthropic: [
		"ANTHROPIC_FEDERATION_RULE_ID",
		"ANTHROPIC_ORGANIZATION_ID",
		"ANTHROPIC_SERVICE_ACCOUNT_ID",
		"ANTHROPIC_IDENTITY_TOKEN_FILE",
		"ANTHROPIC_WORKSPACE_ID",
	],
	"amazon-bedrock": ["AWS_*"],
	"google-vertex": [
		"GOOGLE_CLOUD_API_KEY",
		"GOOGLE_APPLICATION_CREDENTIALS",
		"GOOGLE_CLOUD_PROJECT",
		"GCLOUD_PROJECT",
		"GOOGLE_CLOUD_LOCATION",
	],
	azure: [
		"AZURE_OPENAI_API_KEY",
		"AZURE_OPENAI_BASE_URL",
		"AZURE_OPENAI_RESOURCE_NAME",
		"AZURE_OPENAI_API_VERSION",
		"AZURE_OPENAI_DEPLOYMENT_NAME_MAP",
	],
	"cloudflare-workers-ai": ["CLOUDFLARE_API_KEY", "CLOUDFLARE_ACCOUNT_ID"],
	"cloudflare-ai-gateway": ["CLOUDFLARE_API_KEY", "CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_GATEWAY_ID"],
	"kimi-coding": ["KIMI_CODE_OAUTH_HOST", "KIMI_OAUTH_HOST"],
};

/** Whether `name` is one of `patterns`: an exact name, or `PREFIX*` for every name that starts with PREFIX. */
export function matchesAny(name: string, patterns: Iterable<string>): boolean {
	for (const p of patterns) if (p.endsWith("*") ? name.startsWith(p.slice(0, -1)) : name === p) return true;
	return false;
}

export interface WorkerEnvOptions {
	/** Names, or `PREFIX*`, that pass besides (the user config's `env.allow`). */
	allow?: readonly string[];
	/** The coordinator's environment. */
	base?: NodeJS.ProcessEnv;
	/** Whether the model's credentials pass (a verify command needs none). Default true. */
	credentials?: boolean;
}

/**
 * The environment of the worker that runs `spec`. Without a task id (a pooled worker, workers/pool.ts) it carries the
 * run's marker only: each task it takes sets its own (the guard, on assignment), so reaping one task never kills it.
 */
export async function workerEnv(
	spec: Pick<TaskSpec, "runId" | "cwd" | "model" | "scenario" | "beatMs" | "projectTrusted" | "repo"> &
		Partial<Pick<TaskSpec, "taskId">>,
	opts: WorkerEnvOptions = {},
): Promise<NodeJS.ProcessEnv> {
	const base = opts.base ?? process.env;
	const credentials = opts.credentials === false ? [] : await credentialVariables(spec.model, spec.cwd, base);
	const allow = opts.allow ?? [];
	const env: NodeJS.ProcessEnv = {};
	// pi-crew's own variables are set below for this task; of the caller's, only where config and pi live pass.
	for (const [k, v] of Object.entries(base))
		if (
			(ESSENTIAL.test(k) || matchesAny(k, credentials) || matchesAny(k, allow)) &&
			(!k.startsWith("PI_CREW_") || PASS_CREW_ENV.has(k))
		)
			env[k] = v;
	env.PI_CREW_DEPTH = String(runDepth(base) + 1);
	env.PI_CREW_RUN_ID = spec.runId;
	if (spec.taskId !== undefined) env.PI_CREW_TASK_ID = spec.taskId;
	// The guard's path wall: where the task may write, and whose run store it may not.
	env[TASK_DIR_ENV] = spec.cwd;
	env[REPO_ENV] = spec.repo;
	env.PI_CREW_COORDINATOR_PID = String(process.pid);
	env.PI_CREW_COORDINATOR_START = String(processStartTime(process.pid) ?? "");
	if (spec.scenario) env.PI_CREW_SCENARIO = spec.scenario;
	// The whole repository (git's top level, whatever `.crew/` is nearer), and the task's worktree wherever it lies.
	if (!spec.projectTrusted) env[UNTRUSTED_REPO_ENV] = (await repositoryRoots(spec.repo, spec.cwd)).join(delimiter);
	if (spec.beatMs) env.PI_CREW_BEAT_MS = String(spec.beatMs);
	return env;
}

/**
 * The variables (names, or `PREFIX*`) that hold the credentials a worker on `model` needs: its provider's standard
 * key variables and the others that provider reads, and the variables the user's `models.json` and `auth.json` name
 * for it (`$NAME`, `${NAME}`). The provider is the model's (`provider/id`), or with no model pi's default (the
 * user's `defaultProvider`); when that cannot be told, every known provider's, since pi's own default is then the
 * first provider that has credentials. The scripted model needs none.
 */
export async function credentialVariables(
	model: string | undefined,
	cwd: string,
	base: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
	if (isScripted(model)) return [];
	const ai = await loadAiCompat();
	const files = userFiles(piAgentDir(base));
	const known = new Set<string>([...ai.getProviders(), ...Object.keys(files.models), ...Object.keys(files.auth)]);
	const wanted =
		model === undefined ? await defaultProvider(cwd, base) : model.includes("/") ? model.split("/")[0] : undefined;
	const providers = wanted && known.has(wanted) ? [wanted] : [...known];
	const set = Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => !!e[1]));
	const names = new Set<string>();
	for (const provider of providers) {
		for (const name of ai.findEnvKeys(provider, set) ?? []) names.add(name);
		for (const name of PROVIDER_VARIABLES[provider] ?? []) names.add(name);
		const custom = files.models[provider];
		if (isRecord(custom))
			for (const name of namedVariables([custom.apiKey, ...values(custom.headers)])) names.add(name);
		const stored = files.auth[provider];
		if (isRecord(stored) && stored.type === "api_key") for (const name of namedVariables([stored.key])) names.add(name);
	}
	return [...names];
}

/** pi's default provider for a session in `cwd`: the user's settings (never the repository's). */
async function defaultProvider(cwd: string, base: NodeJS.ProcessEnv): Promise<string | undefined> {
	const sdk = await loadSdk();
	return sdk.SettingsManager.create(cwd, piAgentDir(base), { projectTrusted: false }).getDefaultProvider();
}

/**
 * The user's `models.json` providers and `auth.json` credentials, by provider (in pi's agent dir: the user's files,
 * never the repository's). A missing or unreadable file counts as empty: the worker's pi reports it itself.
 */
function userFiles(agentDir: string): { models: Record<string, unknown>; auth: Record<string, unknown> } {
	const read = (name: string): Record<string, unknown> => {
		try {
			const parsed: unknown = JSON.parse(readFileSync(join(agentDir, name), "utf8"));
			return isRecord(parsed) ? parsed : {};
		} catch {
			return {};
		}
	};
	const models = read("models.json").providers;
	return { models: isRecord(models) ? models : {}, auth: read("auth.json") };
}

/**
 * The variables that config values name, read the way pi reads them: `$NAME` or `${NAME}`, where `$$` and `$!` are a
 * literal `$` and `!`. In a `!command` value the shell expands them, in the worker: they pass too.
 */
function namedVariables(configValues: unknown[]): string[] {
	const names: string[] = [];
	for (const value of configValues) {
		if (typeof value !== "string") continue;
		for (let i = value.indexOf("$"); i >= 0; i = value.indexOf("$", i)) {
			const next = value[i + 1];
			if (next === "$" || next === "!") {
				i += 2;
				continue;
			}
			const m = /^(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(value.slice(i + 1));
			if (m) names.push(m[1] ?? m[2] ?? "");
			i++;
		}
	}
	return names.filter((n) => n !== "");
}

function values(v: unknown): unknown[] {
	return isRecord(v) ? Object.values(v) : [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === "object" && v !== null && !Array.isArray(v);
}
