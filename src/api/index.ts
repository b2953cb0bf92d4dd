import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { EffectiveConfig, ResolvedConfig } from "../config/resolve.js";
import { resolveSkills } from "../config/skills.js";
import { projectTrust, untrustedEffects } from "../config/trust.js";
import type { RunResult } from "../engine/coordinator.js";
import type { Plan } from "../engine/plan.js";
import type { ReviewOptions } from "../engine/reviewers.js";
import type { Catalog } from "../resources/catalog.js";
import { readEventLog } from "../store/event-log.js";
import type { CrewEvent, RunState } from "../store/events.js";
import {
	CREW_STATE,
	listRunIds,
	loadRun,
	RunNotFoundError,
	type RunView,
	shownStatus,
	untrustedReason,
} from "../store/run-store.js";
import type { Budget, RunSettings } from "../store/settings.js";
import { commandShown, redact, urlShown } from "../util/redact.js";
import { findRepo } from "../util/repo.js";
import type { Problem } from "../util/yaml-source.js";
import type { RuntimeName, WorkerRuntime } from "../workers/runtime.js";
import { context } from "./context.js";

export { formatProblem } from "../util/yaml-source.js";
export type { Catalog, CrewEvent, Problem, RunState, RunView };

import { OperationError, UsageError } from "../util/errors.js";

export { type PlanView, planTeam } from "./plan.js";
export { ANSWER_CHARS, runAnswer, runArtifacts, runSummary } from "./results.js";
export { runJson } from "./run-json.js";
export { findRepo, OperationError, projectTrust, shownStatus, UsageError, untrustedReason };

export interface RunRequest {
	cwd?: string;
	team: string;
	goal: string;
	workflow?: string;
	runtime?: RuntimeName;
	/** Every worker's model (`--model`), over the agents' own. */
	model?: string;
	/** The calling pi session's model: the last fallback, after the agent's and the configured one. */
	sessionModel?: string;
	/** The offline model's scenario file, relative to `cwd`. */
	scenario?: string;
	/** The scenario path came from a model's tool call: it must lie inside the repository, through no link. */
	confineScenario?: boolean;
	concurrency?: number;
	taskTimeoutMs?: number;
	/** Retry failed tasks (also enabled by the team's `autoRetry` or the config's). */
	autoRetry?: boolean;
	budget?: Budget;
	/** Run in a detached coordinator process that outlives this one; returns once it has taken the run. */
	background?: boolean;
	/** Nobody can answer the run's questions (`--no-input`): the config's `questions.unattended` decides. */
	unattended?: boolean;
	/** Writing tasks in git worktrees of their own, merged back (`--isolation`; else the team's, else shared). */
	isolation?: "worktree" | "shared";
	signal?: AbortSignal;
	onEvent?: OnEvent;
}

export type OnEvent = (event: CrewEvent, state: RunState) => void;

const MAX_GOAL_CHARS = 64_000;
/** Run ids made here start with their creation time (see newRunId). */
const RUN_ID_TIME = /^\d{8}-\d{6}-/;

/**
 * The runtime a run's settings name, under the effective config: its workers' variables (`env.allow`), their OS
 * sandbox, and its warm pool (config `workers`, at most the run's concurrency idle).
 */
export async function createRuntime(
	{ runtime: name, concurrency }: Pick<RunSettings, "runtime" | "concurrency">,
	config: Pick<ResolvedConfig, "values" | "sources">,
): Promise<WorkerRuntime> {
	const allowEnv = config.values.env.allow;
	if (name === "scaffold") return new (await import("../workers/scaffold.js")).ScaffoldRuntime();
	const sandbox = await workerSandbox(config);
	const { recycleAfter, idleSeconds } = config.values.workers;
	const pool = { recycleAfter, idleMs: idleSeconds * 1000, size: concurrency };
	if (name === "inprocess")
		return (await import("../workers/auto.js")).inProcessRuntime(allowEnv, config.values.sandbox, sandbox, pool);
	if (name === "child") return new (await import("../workers/child.js")).ChildRuntime(allowEnv, sandbox, pool);
	if (name === "auto") return new (await import("../workers/auto.js")).AutoRuntime(allowEnv, sandbox, pool);
	throw new UsageError(`unknown runtime "${name}"`);
}

/** The sandbox of child workers under `config`; refuses (UsageError) when it is required and none can start. */
async function workerSandbox(config: Pick<ResolvedConfig, "values" | "sources">) {
	const { chooseSandbox } = await import("../workers/sandbox.js");
	const { formatSource } = await import("../config/home.js");
	const source = formatSource(config.sources.sandbox ?? { layer: "default" });
	return chooseSandbox(config.values.sandbox, config.values.sandboxNetwork, source);
}

/**
 * Plans (every problem reported before anything starts), then runs the team: in this process until it ends, or
 * (background) in a detached coordinator, returning once that process owns the run.
 */
export async function runTeam(req: RunRequest): Promise<RunView> {
	return launch(req, async (catalog, config) => {
		const { approvePlans } = config.values;
		const planned = (await import("../engine/plan.js")).planRun(catalog, req.team, req.workflow, { approvePlans });
		const plan = (await import("../engine/reviewers.js")).assignReviewers(planned, catalog, reviewOptions(config));
		return { plan, start: { team: plan.team, workflow: plan.workflow } };
	});
}

/**
 * One agent on one prompt: a single-task run (team `agent:<name>`), so it shows in status and lists, and can be
 * cancelled, resumed and followed like any run. Backs the `Agent` tool.
 */
export async function runAgent(req: Omit<RunRequest, "team" | "workflow"> & { agent: string }): Promise<RunView> {
	return launch({ ...req, team: `agent:${req.agent}` }, async (catalog, config) => {
		const planned = (await import("../engine/plan.js")).planAgent(catalog, req.agent);
		const plan = (await import("../engine/reviewers.js")).assignReviewers(planned, catalog, reviewOptions(config));
		return { plan, start: { team: plan.team, workflow: plan.workflow, agent: req.agent } };
	});
}

async function launch(
	req: RunRequest,
	planner: (
		catalog: Catalog,
		config: ResolvedConfig,
	) => Promise<{ plan: Plan; start: { team: string; workflow: string; agent?: string } }>,
): Promise<RunView> {
	const goal = req.goal.trim();
	if (!goal) throw new UsageError("the goal is empty: say what the team should do");
	if (goal.length > MAX_GOAL_CHARS)
		throw new UsageError(`the goal is ${goal.length} characters; the limit is ${MAX_GOAL_CHARS}`);
	const { repo, config, catalog } = await context(req.cwd);
	await assertDepth(config);
	const { plan, start: target } = await planner(catalog, config);
	let scenario: string | undefined;
	if (req.scenario) {
		const { isScripted, loadScenario, SCRIPTED_PROVIDER } = await import("../scripted/scenario.js");
		// A scenario scripts only the offline model: with it, the run is on that model, never silently on another.
		if (req.model && !isScripted(req.model))
			throw new UsageError(
				`a scenario scripts the offline model, not "${req.model}": drop the model (--model, the team tool's \`model\`) or use ${SCRIPTED_PROVIDER}/scripted`,
			);
		scenario = resolve(req.cwd ?? process.cwd(), req.scenario);
		if (req.confineScenario) {
			const { assertNoSymlinks, confined } = await import("../util/safe-fs.js");
			await assertNoSymlinks(repo, confined(repo, scenario));
		}
		await loadScenario(scenario); // fail now, not in every worker
		// The scripted model is the default; models the resources name stay only when they are scripted ones too
		// (engine/plan.ts taskModels), so steps and fallbacks can still be told apart offline.
		req = { ...req, sessionModel: `${SCRIPTED_PROVIDER}/scripted` };
	}
	const settings = runSettings(req, config.values, plan, scenario);
	if (plan.tasks.some((t) => t.approval)) settings.approvalRounds = config.values.approvalRounds;
	if (plan.reviewer) settings.reviewer = plan.reviewer;
	if (plan.reviewer || plan.tasks.some((t) => t.verify?.agent)) settings.verifyRounds = config.values.verifyRounds;
	if ((req.isolation ?? plan.isolation) === "worktree") {
		const { Workspace } = await import("../workspace/worktrees.js");
		Object.assign(settings, { isolation: "worktree", baseCommit: await Workspace.baseCommit(repo) });
		const { mergeSettings } = await import("../engine/resolve.js");
		const source = (await import("../config/home.js")).formatSource(
			config.sources["merge.resolver"] ?? { layer: "default" },
		);
		Object.assign(settings, mergeSettings(config.values.merge, source, catalog));
	} else if (!(await import("../engine/plan.js")).planWrites(plan, settings))
		settings.noBaseTree = "no task of its plan writes";
	else {
		// What `diff` compares a shared run's work with: the checkout as it is now (in a git repository).
		const base = await (await import("../workspace/snapshot.js")).checkoutTree(repo, CREW_STATE);
		if ("tree" in base) settings.baseTree = base.tree;
		else settings.noBaseTree = base.skipped;
	}
	if (settings.runtime !== "scaffold") {
		const { modelsOf, skillsOf, withResolver } = await import("../engine/plan.js");
		// The resolver's model is checked with the tasks' (its settings are known only now).
		const all = withResolver(catalog, settings, plan);
		const pins = config.user.claude?.models;
		const { resolveModels } = await import("./models.js");
		const found = await resolveModels(modelsOf(all, settings), repo, pins, await costBudget(req, config));
		if (Object.keys(found.models).length > 0) settings.models = found.models;
		const { assertModelPolicy } = await import("./model-policy.js");
		await assertModelPolicy(all, settings, config.values.models.allow, async () => found.piDefaultModel);
		preflightSkills(skillsOf(plan), repo);
	}
	// A required sandbox that cannot start refuses the run here, before a background coordinator is started (every
	// runtime but scaffold starts child workers: inprocess too, for writing tasks, unless the sandbox is off).
	if (settings.runtime !== "scaffold") await workerSandbox(config);
	const start: StartRequest = { kind: "run", ...target, goal, settings };
	if (req.background) return (await import("./lifecycle.js")).startBackground(repo, start);
	return coordinateHere(repo, start, { signal: req.signal, onEvent: req.onEvent }, { catalog, config });
}

/** Where a new run's cost budget comes from, if it has one: `--max-cost`, else the config's `budget.maxCost`. */
async function costBudget(req: RunRequest, config: ResolvedConfig): Promise<string | undefined> {
	if (req.budget?.maxCost !== undefined) return "--max-cost";
	if (config.values.budget.maxCost === undefined) return undefined;
	const { formatSource } = await import("../config/home.js");
	return `budget.maxCost, ${formatSource(config.sources["budget.maxCost"] ?? { layer: "default" })}`;
}

/**
 * The depth guard: a worker (depth 1) may start a run of its own only while the nesting stays below `maxDepth`, so
 * agents cannot fan out without bound.
 */
export async function assertDepth(config: Pick<ResolvedConfig, "values" | "sources">): Promise<void> {
	const { runDepth } = await import("../config/config.js");
	const { formatSource } = await import("../config/resolve.js");
	const depth = runDepth();
	const max = config.values.maxDepth;
	if (depth >= max)
		throw new UsageError(
			`this process is ${depth} run(s) deep and maxDepth is ${max} (${formatSource(config.sources.maxDepth ?? { layer: "default" })}): a worker cannot start a deeper run (raise maxDepth in your config to allow it)`,
		);
}

/** The request a coordinator starts from (also what a background coordinator is handed). */
export type StartRequest =
	| {
			kind: "run";
			team: string;
			workflow: string;
			/** A single-agent run (the `Agent` tool) instead of a team's workflow. */
			agent?: string;
			goal: string;
			settings: RunSettings;
			runId?: string;
	  }
	/** `unattended`: nobody answers the resumed run's questions (`resume --no-input`). */
	| { kind: "resume"; runId: string; requeue: string[]; unattended?: boolean };

/**
 * Runs a coordinator for `start` in this process until the run ends; its metrics go to this process's telemetry.
 * `loaded`: the config and resources the caller has just read for this start (a foreground run), not read twice.
 */
export async function coordinateHere(
	repo: string,
	start: StartRequest,
	io: { signal?: AbortSignal; onEvent?: OnEvent } = {},
	loaded?: Pick<Awaited<ReturnType<typeof context>>, "catalog" | "config">,
): Promise<RunView> {
	const { catalog, config } = loaded ?? (await context(repo));
	const engine = await import("../engine/coordinator.js");
	const { planAgent, planFromState, planRun, withResolver } = await import("../engine/plan.js");
	const { assignReviewers } = await import("../engine/reviewers.js");
	const observer = await (await import("../observability/telemetry.js")).observeRuns(repo, config.values.metrics);
	// The user's config only (a repository's cannot set it): run ends and dead letters to a program or a webhook.
	const notifier = new (await import("../observability/notify.js")).ExternalNotifier(config.values.notify, repo);
	const onEvent: OnEvent = (event, state) => {
		observer.observe(event, state);
		notifier.observe(event, state);
		io.onEvent?.(event, state);
	};
	// Opted in by the user's config only: never the run this coordinator is about to take.
	if (config.values.prune)
		await (await import("./prune.js")).autoPrune(repo, config.values.prune, start.runId ? [start.runId] : []);
	try {
		if (start.kind === "run") {
			const plan = start.agent
				? planAgent(catalog, start.agent)
				: planRun(catalog, start.team, start.workflow, { approvePlans: config.values.approvePlans });
			const result = await engine.executeRun({
				repo,
				plan: withResolver(catalog, start.settings, assignReviewers(plan, catalog, reviewOptions(config))),
				goal: start.goal,
				settings: start.settings,
				runtime: await createRuntime(start.settings, config),
				allowEnv: config.values.env.allow,
				runId: start.runId,
				signal: io.signal,
				onEvent,
			});
			return endedView(result);
		}
		const view = await loadRun(repo, start.runId);
		await (await import("./lifecycle.js")).assertLocal(view);
		const plan = planFromState(view.state, catalog, projectTrust(repo).trusted);
		const result = await engine.resumeRun({
			repo,
			runId: start.runId,
			plan,
			requeue: start.requeue,
			// What the log recorded, bounded by the config here now (concurrency, timeout, budgets, denied tools).
			limits: config,
			...(start.unattended ? { unattended: config.values.questions.unattended } : {}),
			runtime: await createRuntime(view.state.settings, config),
			allowEnv: config.values.env.allow,
			signal: io.signal,
			onEvent,
		});
		return endedView(result);
	} finally {
		await Promise.all([observer.end(), notifier.end()]);
	}
}

/**
 * The run as its coordinator ended it, from the coordinator's own state: never a re-read of the log, which something
 * else may have written (the exit code and printed outcome of a foreground run come from here).
 */
function endedView(result: RunResult): RunView {
	const { state, paths, foreignWrite } = result;
	const view: RunView = { state, status: state.status, problems: [], paths, integrity: "verified" };
	if (foreignWrite === undefined) return view;
	const message = `tampered log: something other than the coordinator wrote it while the run ran (${foreignWrite})`;
	const integrityProblem = { file: paths.events, message };
	return { ...view, integrity: "tampered", integrityProblem, problems: [integrityProblem] };
}

/**
 * Every skill the run's tasks name must be found before anything starts, where its workers will look (the user's
 * skill directories, and the repository's only when it is trusted).
 */
function preflightSkills(needs: Map<string, string[]>, repo: string): void {
	if (needs.size === 0) return;
	const trusted = projectTrust(repo).trusted;
	const { missing, dirs } = resolveSkills([...needs.keys()], repo, trusted);
	if (missing.length === 0) return;
	const lines = missing.map((name) => `  skill "${name}" (${needs.get(name)?.slice(0, 3).join(", ")}): not found`);
	throw new UsageError(
		`cannot start the run:\n${lines.join("\n")}\n  skills are looked up by name in ${dirs.join(", ")}${trusted ? "" : " (not in the repository's: it is not trusted)"}`,
	);
}

/** The config's reviewer for every writing task (`verify`), with where it is set, and the tools it denies. */
function reviewOptions(config: Pick<ResolvedConfig, "values" | "sources" | "userFile">): ReviewOptions {
	const { verify, tools } = config.values;
	const source = config.sources["verify.agent"];
	const reviewer = verify && {
		...verify,
		scope: source?.layer === "project" ? ("project" as const) : ("user" as const),
		at: {
			file: source?.file ?? config.userFile,
			...(source?.line ? { line: source.line } : {}),
			field: "verify.agent",
		},
	};
	const deny = config.sources["tools.deny"];
	const denyAt = {
		file: deny?.file ?? config.userFile,
		...(deny?.line ? { line: deny.line } : {}),
		field: "tools.deny",
	};
	return { ...(reviewer ? { reviewer } : {}), denyTools: tools.deny, denyAt };
}

/** A new run's settings: its flags over the effective config, its team's cap on concurrency over both. */
export function runSettings(
	req: RunRequest,
	config: EffectiveConfig,
	plan: Pick<Plan, "autoRetry" | "maxConcurrency">,
	scenario: string | undefined,
): RunSettings {
	const budget = { ...config.budget, ...req.budget };
	const concurrency = req.concurrency ?? config.concurrency;
	// A scenario's offline model is every task's default, over the configured one (which is a real model).
	const defaultModel = scenario ? req.sessionModel : (config.model ?? req.sessionModel);
	return {
		runtime: req.runtime ?? config.runtime,
		concurrency: Math.min(concurrency, plan.maxConcurrency ?? concurrency),
		taskTimeoutMs: req.taskTimeoutMs ?? config.taskTimeoutMs,
		...(req.model ? { model: req.model } : {}),
		...(defaultModel ? { defaultModel } : {}),
		...(scenario ? { scenario } : {}),
		...(req.autoRetry || plan.autoRetry || config.autoRetry ? { retry: config.retry } : {}),
		...(Object.keys(budget).length > 0 ? { budget } : {}),
		heartbeat: config.heartbeat,
		...(config.tools.deny.length > 0 ? { denyTools: config.tools.deny } : {}),
		...(req.unattended ? { unattended: config.questions.unattended } : {}),
	};
}

/** One run's view; without a run id, the most recent run. */
export async function runStatus(cwd: string | undefined, runId?: string): Promise<RunView> {
	const repo = findRepo(cwd);
	if (runId) return loadRun(repo, runId);
	// The latest readable run by creation time. Ids start with their creation second, so only the newest second's
	// runs are read (one log, as a rule), going back a second at a time past directories that hold no readable run.
	const ids = (await listRunIds(repo)).reverse();
	for (let i = 0, j = 1; i < ids.length; i = j, j = i + 1) {
		const first = ids[i] ?? "";
		// The ids made in the same second sort next to each other (newest first).
		while (RUN_ID_TIME.test(first) && ids[j]?.startsWith(first.slice(0, 15))) j++;
		const views = await Promise.all(ids.slice(i, j).map((id) => loadRun(repo, id).catch(() => undefined)));
		const latest = views
			.filter((v): v is RunView => v !== undefined)
			.sort((a, b) => a.state.createdAt.localeCompare(b.state.createdAt))
			.at(-1);
		if (latest) return latest;
	}
	throw new UsageError('no runs yet in this repository (start one with: pi-crew run <team> "<goal>")');
}

export interface RunList {
	runs: RunView[];
	/** Runs that could not be read (a damaged log): reported, never a reason to hide the others. */
	broken: { runId: string; error: string }[];
	/** Runs not created here (see config/owner.ts), by id, with the reason: shown, never acted on. */
	foreign: Map<string, string>;
}

export async function listRuns(cwd?: string): Promise<RunList> {
	const repo = findRepo(cwd);
	const list: RunList = { runs: [], broken: [], foreign: new Map() };
	const { foreignReason } = await import("../config/owner.js");
	for (const id of await listRunIds(repo)) {
		try {
			const view = await loadRun(repo, id);
			list.runs.push(view);
			const why = view.imported ? importedFrom(view.imported) : await foreignReason(view.state);
			if (why) list.foreign.set(id, why);
		} catch (err) {
			// A run directory without a first event is a run that failed to start: nothing to show.
			if (!(err instanceof RunNotFoundError)) list.broken.push({ runId: id, error: (err as Error).message });
		}
	}
	return list;
}

/** How an imported run reads in lists and its status: foreign, a copy to inspect. */
export function importedFrom(record: NonNullable<RunView["imported"]>): string {
	return `imported from ${record.bundle} on ${record.importedAt.slice(0, 10)} (exported ${record.exportedAt} by pi-crew ${record.piCrew}): a copy to inspect`;
}

/** A run's events and the problems of its log; without a run id, the most recent run's. */
export async function runEvents(
	cwd: string | undefined,
	runId?: string,
): Promise<{ events: CrewEvent[]; problems: Problem[] }> {
	const view = await runStatus(cwd, runId);
	const read = await readEventLog(view.paths.events, { runId: view.state.runId });
	const integrity = read.integrityProblem ? [read.integrityProblem] : [];
	return { events: read.events, problems: [...integrity, ...read.errors, ...read.warnings] };
}

/** Every problem of the resources, and what the repository's config sets that is not applied (warnings). */
export async function validateResources(cwd?: string): Promise<{ catalog: Catalog; problems: Problem[] }> {
	const { repo, catalog, config } = await context(cwd);
	const models = await (await import("./models.js")).resourceModelProblems(repo, catalog, config.user.claude?.models);
	catalog.problems.push(...models);
	return {
		catalog,
		problems: [...catalog.problems, ...config.problems, ...untrustedEffects(repo, projectTrust(repo))],
	};
}

export async function resources(cwd?: string): Promise<Catalog> {
	return (await context(cwd)).catalog;
}

/** The team for a goal, with the ranking and its reasons (the default team when nothing matches). */
export async function recommend(cwd: string | undefined, goal: string) {
	const { catalog } = await context(cwd);
	const choice = (await import("./recommend.js")).chooseTeam(catalog, goal);
	if (!choice)
		throw new UsageError("no team can run: none is defined, or each uses a disabled agent (see: pi-crew validate)");
	return choice;
}

/** An agent, team or workflow by name (several kinds may share a name), with its file's text. */
export async function getResource(cwd: string | undefined, name: string) {
	const { catalog } = await context(cwd);
	const found = [
		["agent", catalog.agents.get(name)],
		["team", catalog.teams.get(name)],
		["workflow", catalog.workflows.get(name)],
	] as const;
	const out: { kind: string; name: string; scope: string; file: string; text: string }[] = [];
	for (const [kind, def] of found)
		if (def)
			out.push({
				kind,
				name,
				scope: def.source.scope,
				file: def.source.file,
				text: await readFile(def.source.file, "utf8"),
			});
	return out;
}

/**
 * The configuration a run here would use, each value with where it came from (`sources`, by dotted path): defaults,
 * the user's config, what the repository's config tightens; `ignored`: what the repository's config sets that is not
 * applied, and why. Secrets of notify and of the metrics exporters are not shown.
 */
export async function effectiveConfig(cwd: string | undefined) {
	// The config only: every guarded tool call asks (autonomy), and resources are not part of it.
	const { resolveConfig } = await import("../config/resolve.js");
	const repo = findRepo(cwd);
	const config = await resolveConfig(repo);
	const { values } = config;
	const otlp = values.metrics.otlp;
	const trust = projectTrust(repo);
	return {
		file: config.userFile,
		...(config.projectFile ? { projectFile: config.projectFile } : {}),
		repo,
		trusted: trust.trusted,
		trust: trust.why,
		...values,
		...(values.notify ? { notify: notifyShown(values.notify) } : {}),
		metrics: {
			...values.metrics,
			...(otlp
				? {
						otlp: {
							...otlp,
							endpoint: redactUrl(otlp.endpoint),
							// Credentials by nature: shown by name only.
							...(otlp.headers
								? { headers: Object.fromEntries(Object.keys(otlp.headers).map((k) => [k, "[REDACTED]"])) }
								: {}),
						},
					}
				: {}),
		},
		sources: config.sources,
		ignored: config.problems,
	};
}

/** The notify settings as shown: the webhook's origin, the command's program and argument count (either may hold a token). */
function notifyShown({ command, webhook, ...rest }: NonNullable<EffectiveConfig["notify"]>) {
	return {
		...rest,
		...(command ? { command: commandShown(command) } : {}),
		...(webhook ? { webhook: urlShown(webhook) } : {}),
	};
}

/** A URL without its credentials (`user:password@`) and with secret-looking query values masked. */
function redactUrl(url: string): string {
	try {
		const u = new URL(url);
		if (u.username || u.password) {
			u.username = "REDACTED";
			u.password = "";
		}
		return redact(u.toString());
	} catch {
		return redact(url);
	}
}

/**
 * Saves the user's trust decision for this repository in pi's own store (what `/trust` in pi does), so pi and
 * pi-crew keep one decision; returns the decision in effect afterwards.
 */
export async function setProjectTrust(cwd: string | undefined, trusted: boolean) {
	const { loadSdk } = await import("../host.js");
	const { piAgentDir } = await import("../config/home.js");
	const { realpath } = await import("node:fs/promises");
	const repo = findRepo(cwd);
	const sdk = await loadSdk();
	new sdk.ProjectTrustStore(piAgentDir()).set(await realpath(repo), trusted);
	return { repo, ...projectTrust(repo) };
}

/**
 * Moves the user's checkout to an isolated run's integration branch, by a fast-forward (`pi-crew apply`, `--apply`):
 * only for a run that succeeded, never while a merge conflict is open.
 */
export async function applyRun(cwd: string | undefined, runId?: string) {
	const view = await runStatus(cwd, runId);
	const { state } = view;
	await (await import("./lifecycle.js")).assertLocal(view); // a run that came with the repository is never applied
	if (state.settings.isolation !== "worktree")
		throw new UsageError(`run ${state.runId} did not use worktrees: its tasks worked in the checkout itself`);
	const open = [...state.tasks.values()].filter((t) => t.status === "failed" && t.conflict);
	if (open.length > 0)
		throw new UsageError(
			`run ${state.runId} has open merge conflicts: ${open.map((t) => `${t.id} (${t.conflict?.files.join(", ")} on ${t.conflict?.branch}, worktree ${t.conflict?.worktree})`).join("; ")}. Resolve them there and commit, then: pi-crew resume ${state.runId}`,
		);
	const { Workspace } = await import("../workspace/worktrees.js");
	const workspace = await Workspace.open(findRepo(cwd), state.runId);
	if (view.status !== "succeeded")
		throw new UsageError(
			`run ${state.runId} is ${view.status}; only a run that succeeded is applied. What was merged so far is on ${workspace.integration}: git merge it yourself if you want it`,
		);
	return { runId: state.runId, branch: workspace.integration, ...(await workspace.apply()) };
}
