/** `pi-crew doctor`: what would stop a run here, and what needs attention (interrupted or unreadable runs). */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { formatSource } from "../config/home.js";
import type { ResolvedConfig } from "../config/resolve.js";
import { projectTrust } from "../config/trust.js";
import { runPaths } from "../store/run-store.js";
import { piCommand, sessionPiVersion } from "../workers/host-pi.js";
import { findRepo, formatProblem, listRuns, validateResources } from "./index.js";
import { findInterrupted } from "./lifecycle.js";

export interface Check {
	name: string;
	level: "ok" | "warning" | "error";
	detail: string;
	hint?: string;
}

async function onPath(names: string[]): Promise<string | undefined> {
	for (const dir of (process.env.PATH ?? "").split(delimiter))
		for (const name of names)
			if (
				await access(join(dir, name), constants.X_OK).then(
					() => true,
					() => false,
				)
			)
				return join(dir, name);
	return undefined;
}

/** Which pi the workers run and its version; inside a pi session, whether it is the session's own. */
async function piCheck(): Promise<Check> {
	let shown = "pi";
	try {
		const pi = piCommand();
		shown = `${pi.source}: ${[pi.command, ...pi.args].join(" ")}`;
		// pi prints its version on stderr.
		const { stdout, stderr } = await promisify(execFile)(pi.command, [...pi.args, "--version"], { timeout: 30_000 });
		const version = (stdout.trim() || stderr.trim()).split("\n")[0] ?? "";
		const session = sessionPiVersion();
		if (session && session !== version)
			return {
				name: "pi",
				level: "warning",
				detail: `workers run pi ${version} (${shown}) but this session is pi ${session}`,
				hint: "unset PI_CREW_PI_BIN so that workers run the session's own pi",
			};
		if (!atLeast(version, PI_MIN))
			return {
				name: "pi",
				level: "warning",
				detail: `${version} (${shown}): pi-crew needs pi ${PI_MIN} or later`,
				hint: "npm install -g @earendil-works/pi-coding-agent",
			};
		return { name: "pi", level: "ok", detail: `${version} (${shown})` };
	} catch (err) {
		return {
			name: "pi",
			level: "error",
			detail: `cannot run ${shown}: ${(err as Error).message.split("\n")[0]}`,
			hint: "install pi (npm install -g @earendil-works/pi-coding-agent), or set PI_CREW_PI_BIN",
		};
	}
}

/** The lowest pi and Node this version is built and tested for (pi 1.x needs Node 22.19). */
const PI_MIN = "1.6.0";
const NODE_MIN = "22.19.0";

/** Whether dotted version `version` is at least `min` (numeric parts; anything after them is ignored). */
export function atLeast(version: string, min: string): boolean {
	const parts = (v: string) => (/\d+(?:\.\d+)*/.exec(v)?.[0] ?? "0").split(".").map(Number);
	const [a, b] = [parts(version), parts(min)];
	for (let i = 0; i < Math.max(a.length, b.length); i++)
		if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
	return true;
}

/**
 * The model a run here gives agents that name none (the config's, else this pi session's, else pi's default),
 * resolved as a run's preflight does: known to pi, and its provider has credentials.
 */
async function modelCheck(repo: string, config: ModelConfig, sessionModel: string | undefined): Promise<Check> {
	const model = config.model ?? sessionModel;
	const from = config.model ? "the config's model" : "this pi session's model";
	try {
		const { resolveModels } = await import("./models.js");
		const found = await resolveModels(new Map([[model, ["default"]]]), repo, config.pins);
		const resolved = model === undefined ? undefined : found.models[model];
		const detail =
			model === undefined
				? (found.piDefault ?? "pi's default model")
				: `${resolved} (${from}${resolved === model ? "" : `: ${model}`})`;
		return { name: "model", level: "ok", detail };
	} catch (err) {
		const detail = (err as Error).message.replace(/^cannot start the run:\n\s*/, "");
		return { name: "model", level: "error", detail, hint: "runs without --model would fail before they start" };
	}
}

interface ModelConfig {
	model?: string;
	/** `claude.models`: Claude aliases pinned to a `provider/id`. */
	pins?: Record<string, string>;
}

/**
 * The user's config (an invalid one stops runs), and the repository's: what it sets that is not applied (a key only
 * the user may set, a value looser than the user's, a file that does not parse), each with file and line.
 */
async function configChecks(repo: string): Promise<{ checks: Check[]; model: ModelConfig; ok: boolean }> {
	const { resolveConfig } = await import("../config/resolve.js");
	let config: Awaited<ReturnType<typeof resolveConfig>>;
	try {
		config = await resolveConfig(repo);
	} catch (err) {
		const detail = (err as Error).message;
		return { checks: [{ name: "config", level: "error", detail, hint: "fix the config file" }], model: {}, ok: false };
	}
	const checks: Check[] = [{ name: "config", level: "ok", detail: config.userFile }];
	if (config.projectFile) {
		const applied = Object.entries(config.sources)
			.filter(([, s]) => s.layer === "project")
			.map(([key, s]) => `${key} (line ${s.line})`);
		const { problems } = config;
		checks.push({
			name: "project config",
			level: problems.length > 0 ? "warning" : "ok",
			detail: [
				`${config.projectFile}: ${applied.length > 0 ? `tightens ${applied.join(", ")}` : "tightens nothing"}`,
				...problems.map((p) => `  ${formatProblem(p)}`),
			].join("\n"),
			hint: problems.length > 0 ? "a repository's config may only tighten your own; see: pi-crew config" : undefined,
		});
	}
	checks.push(await sandboxCheck(config));
	return { checks, model: { model: config.values.model, pins: config.user.claude?.models }, ok: true };
}

/** Whether child workers would run in the OS sandbox here, and what the config's mode makes of it. */
async function sandboxCheck(config: Pick<ResolvedConfig, "values" | "sources">): Promise<Check> {
	const { sandbox: mode, sandboxNetwork: network } = config.values;
	const source = formatSource(config.sources.sandbox ?? { layer: "default" });
	if (mode === "off")
		return {
			name: "sandbox",
			level: "warning",
			detail: `off (${source}): workers write wherever you can`,
			hint: "set sandbox: auto (or required) in your config",
		};
	const found = await (await import("../workers/sandbox.js")).probeSandbox();
	if (found.ok)
		return {
			name: "sandbox",
			level: "ok",
			detail: `${mode} (${source}): bubblewrap ${found.bwrap}, network ${network}`,
		};
	return {
		name: "sandbox",
		level: mode === "required" ? "error" : "warning",
		detail: `${mode} (${source}): ${found.reason}; ${mode === "required" ? "runs are refused" : "workers run without a sandbox"}`,
		hint: found.hint,
	};
}

/** `sessionModel`: the calling pi session's model (`provider/id`), which runs started from it give agents that name none. */
export async function doctor(
	cwd: string | undefined,
	sessionModel?: string,
): Promise<{ ok: boolean; repo: string; checks: Check[] }> {
	const repo = findRepo(cwd);
	const checks: Check[] = [nodeCheck(), await piCheck()];
	const config = await configChecks(repo);
	checks.push(...config.checks);
	if (config.ok) checks.push(await modelCheck(repo, config.model, sessionModel));
	checks.push(trustCheck(repo));
	if (config.ok) {
		const resources = await resourcesCheck(repo);
		checks.push(resources.check);
		if (!resources.loaded) return { ok: false, repo, checks };
		checks.push(await teamModelsCheck(repo, sessionModel));
	}
	checks.push(...(await runChecks(repo)), ...(await worktreeChecks(repo)), await searchToolsCheck());
	return { ok: checks.every((c) => c.level !== "error"), repo, checks };
}

function nodeCheck(): Check {
	if (atLeast(process.versions.node, NODE_MIN)) return { name: "node", level: "ok", detail: process.version };
	const hint = `pi-crew and pi 1.x need Node ${NODE_MIN} or later`;
	return { name: "node", level: "error", detail: process.version, hint };
}

function trustCheck(repo: string): Check {
	const trust = projectTrust(repo);
	return {
		name: "trust",
		level: "ok",
		detail: trust.why,
		...(trust.trusted
			? {}
			: { hint: "the repository may add agents, teams and workflows; its settings and code never run" }),
	};
}

/** The resources' own problems (the project config's are its own check); `loaded`: false when they do not load. */
async function resourcesCheck(repo: string): Promise<{ check: Check; loaded: boolean }> {
	const loaded = await validateResources(repo).catch((err: Error) => err);
	if (loaded instanceof Error)
		return {
			check: { name: "resources", level: "error", detail: loaded.message, hint: "see: pi-crew validate" },
			loaded: false,
		};
	const { catalog } = loaded;
	const problems = catalog.problems;
	const errors = problems.filter((p) => p.severity !== "warning");
	const check: Check = {
		name: "resources",
		level: errors.length > 0 ? "error" : problems.length > 0 ? "warning" : "ok",
		detail: `${catalog.agents.size} agents, ${catalog.teams.size} teams, ${catalog.workflows.size} workflows${problems.length > 0 ? `\n${problems.map((p) => `  ${formatProblem(p)}`).join("\n")}` : ""}`,
		hint: problems.length > 0 ? "see: pi-crew validate" : undefined,
	};
	return { check, loaded: true };
}

/**
 * What a run of each team (its default workflow) would refuse: each task outside `models.allow` with its model and
 * why, and models pi cannot run.
 */
async function teamModelsCheck(repo: string, sessionModel: string | undefined): Promise<Check> {
	const ctx = await (await import("./context.js")).context(repo);
	const { planRun } = await import("../engine/plan.js");
	// A team that does not plan is the resources check's to report.
	const plans = [...ctx.catalog.teams.keys()].sort().flatMap((team) => {
		try {
			return [planRun(ctx.catalog, team)];
		} catch {
			return [];
		}
	});
	const teams = await (await import("./model-policy.js")).explainPlans(plans, ctx, sessionModel);
	const refused = teams.filter((t) => t.tasks.some((task) => task.refused.length > 0));
	// Models pi cannot run are the same for every team that names them: said once.
	// pi's default is the model check's (it names no team's model).
	const problems = [...new Set(teams.flatMap((t) => t.problems.filter((p) => p.startsWith('model "'))))];
	// Only what needs a fix is listed: every task's model and why is `config --team`'s.
	const lines = refused.flatMap((t) =>
		t.tasks.flatMap((task) =>
			task.refused.length === 0
				? []
				: [
						`  ${t.team}/${task.task}: ${task.model ?? "pi's default"} (${task.why})`,
						...task.refused.map((why) => `    REFUSED ${why}`),
					],
		),
	);
	return {
		name: "team models",
		level: refused.length > 0 || problems.length > 0 ? "warning" : "ok",
		detail: [
			`${teams.length} teams${refused.length > 0 ? `, ${refused.length} outside models.allow` : ""}; each task's model and why: pi-crew config --team T`,
			...lines,
			...problems.map((p) => `  cannot run: ${p}`),
		].join("\n"),
		...(refused.length > 0
			? {
					hint: "name an allowed model for them (--model, config model or agents.<name>.model), or see: pi-crew config --team T",
				}
			: {}),
	};
}

/** Runs that need attention: interrupted, unreadable, or foreign. */
async function runChecks(repo: string): Promise<Check[]> {
	const checks: Check[] = [];
	try {
		for (const run of await findInterrupted(repo))
			checks.push({
				name: `run ${run.state.runId}`,
				level: "warning",
				detail: `interrupted (team ${run.state.team}): its coordinator is gone`,
				hint: `pi-crew resume ${run.state.runId}`,
			});
		const { runs, broken, foreign } = await listRuns(repo);
		for (const b of broken) checks.push({ name: `run ${b.runId}`, level: "error", detail: `unreadable: ${b.error}` });
		// Imported by this user on purpose (pi-crew import): shown, nothing to fix.
		const imported = new Set(runs.filter((v) => v.imported).map((v) => v.state.runId));
		for (const [id, why] of foreign)
			checks.push(
				imported.has(id)
					? { name: `run ${id}`, level: "ok", detail: `foreign: ${why}; never resumed here` }
					: {
							name: `run ${id}`,
							level: "warning",
							detail: `foreign: ${why}; it is shown, never resumed or requeued here`,
							hint: "if it arrived with the repository, remove it and keep .crew/runs/ out of git",
						},
			);
	} catch (err) {
		checks.push({ name: "runs", level: "error", detail: (err as Error).message, hint: "see .crew/runs" });
	}
	return checks;
}

/** Task worktrees of isolated runs that are gone. */
async function worktreeChecks(repo: string): Promise<Check[]> {
	const { orphanedWorktrees } = await import("../workspace/worktrees.js");
	const runExists = (id: string) => {
		try {
			return existsSync(runPaths(repo, id).dir);
		} catch {
			return false; // not a run id
		}
	};
	return (await orphanedWorktrees(repo, runExists)).map((o) => ({
		name: `worktree ${o.runId}/${o.taskId}`,
		level: "warning",
		detail: `${o.worktree}: its run is gone`,
		hint: `git worktree remove ${o.worktree} (its branch pi-crew/${o.runId}/task/${o.taskId} is kept)`,
	}));
}

/** pi's grep and find tools run rg and fd. */
async function searchToolsCheck(): Promise<Check> {
	const rg = await onPath(["rg"]);
	const fd = await onPath(["fd", "fdfind"]);
	if (rg && fd) return { name: "search tools", level: "ok", detail: `${rg}, ${fd}` };
	return {
		name: "search tools",
		level: "warning",
		detail: `${rg ? "" : "rg "}${fd ? "" : "fd "}not found: pi's grep/find tools (used by read-only agents) will fail`,
		hint: "install ripgrep and fd (Debian: apt install ripgrep fd-find)",
	};
}
