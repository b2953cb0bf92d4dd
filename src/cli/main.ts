/**
 * `pi-crew`: the headless CLI. Parses argv, calls the api, prints text (progress on stderr) or one JSON document on
 * stdout. Exit codes: 0 run succeeded, 1 run failed or cancelled, 2 bad usage or invalid resources.
 */
import { statSync } from "node:fs";
import * as api from "../api/index.js";
import { stopBackground } from "../util/background.js";
import { CrewError } from "../util/errors.js";
import { inertLine } from "../util/inert.js";
import {
	eventDetail,
	eventTask,
	progressLine,
	renderConfig,
	renderPlan,
	renderRun,
	renderTeamModels,
} from "../view/render.js";
import { RUNTIMES, type RuntimeName } from "../workers/runtime.js";
import { outliveReaders, print, warn } from "./print.js";
import { type CommandName, help, isCommand, parseCommandLine, unknownCommand, type Values } from "./usage.js";

export function out(value: unknown): void {
	print(`${JSON.stringify(value, null, 2)}\n`);
}

/** Node timers cannot wait longer than 2^31-1 ms (about 24 days). */
const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export function positiveInt(name: string, raw: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
	if (raw === undefined) return undefined;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 1 || n > max)
		throw new api.UsageError(`--${name} must be an integer from 1 to ${max}, got "${raw}"`);
	return n;
}

/** `--max-cost`: US dollars, more than 0 (`0.50`, `2`). */
function dollars(raw: string): number {
	const n = Number(raw);
	if (!Number.isFinite(n) || n <= 0 || raw.trim() === "")
		throw new api.UsageError(`--max-cost must be an amount of US dollars above 0 (e.g. 0.50), got "${raw}"`);
	return n;
}

/** Ctrl-C / SIGTERM cancel the run (a second one quits without waiting); progress lines go to stderr. */
export function foreground(): { signal: AbortSignal; onEvent: api.OnEvent } {
	const controller = new AbortController();
	const onSignal = (sig: NodeJS.Signals) => {
		if (controller.signal.aborted) process.exit(130);
		warn(`\n${sig}: cancelling the run (workers are being stopped; again to quit now)\n`);
		controller.abort();
	};
	process.on("SIGINT", onSignal);
	process.on("SIGTERM", onSignal);
	return {
		signal: controller.signal,
		onEvent: (event, state) => {
			const line = progressLine(event, state);
			if (line) warn(`${line}\n`);
		},
	};
}

/** How much of a run's answer the terminal gets; the rest is in the result files the answer names. */
const ANSWER_CHARS = 4000;

/**
 * Prints a run's outcome: its task tree on stderr, then the team's answer (the final tasks' results, bounded, with the
 * path of the rest) on stdout, where a script or a `>` takes it; or, for a background start, where it runs. The exit
 * code follows the run.
 */
export async function report(view: api.RunView, v: Values): Promise<number> {
	if (v.json) out({ ...api.runJson(view), ...(v.background ? {} : { answer: await api.runAnswer(view) }) });
	else if (v.background) {
		print(`${view.state.runId}\n`);
		warn(
			`run ${view.state.runId} continues in the background (coordinator pid ${view.coordinator?.pid ?? "?"}).\n` +
				`  follow: pi-crew status ${view.state.runId} --follow\n  stop:   pi-crew cancel ${view.state.runId}\n`,
		);
	} else {
		warn(`\n${renderRun(view)}\n`);
		print(`\n${await api.runAnswer(view, ANSWER_CHARS)}\n`);
	}
	if (v.background) return 0;
	return view.status === "succeeded" ? 0 : 1;
}

async function run(args: string[], v: Values): Promise<number> {
	const [team, ...goalWords] = args;
	if (!team || goalWords.length === 0) throw new api.UsageError('usage: pi-crew run <team> "<goal>"');
	if (v.runtime !== undefined && !RUNTIMES.includes(v.runtime as RuntimeName))
		throw new api.UsageError(`--runtime must be one of ${RUNTIMES.join(", ")}, got "${v.runtime}"`);
	const timeout = positiveInt("timeout", v.timeout, MAX_SECONDS);
	const wall = positiveInt("max-wall", v["max-wall"], MAX_SECONDS);
	const budget = {
		...(v["max-tokens"] !== undefined ? { maxTokens: positiveInt("max-tokens", v["max-tokens"]) } : {}),
		...(v["max-cost"] !== undefined ? { maxCost: dollars(v["max-cost"]) } : {}),
		...(v["max-tasks"] !== undefined ? { maxTasks: positiveInt("max-tasks", v["max-tasks"]) } : {}),
		...(wall !== undefined ? { maxWallMs: wall * 1000 } : {}),
	};
	if (v.isolation !== undefined && v.isolation !== "worktree" && v.isolation !== "shared")
		throw new api.UsageError(`--isolation must be worktree or shared, got "${v.isolation}"`);
	if (v.apply && v.background) throw new api.UsageError("--apply waits for the run's end: drop --background");
	const view = await api.runTeam({
		cwd: v.cwd,
		team,
		goal: goalWords.join(" "),
		isolation: v.isolation as "worktree" | "shared" | undefined,
		workflow: v.workflow,
		runtime: v.runtime as RuntimeName | undefined,
		model: v.model,
		scenario: v.scenario,
		concurrency: positiveInt("concurrency", v.concurrency, 64),
		taskTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
		autoRetry: v.retry,
		budget: Object.keys(budget).length > 0 ? budget : undefined,
		background: v.background,
		unattended: v["no-input"] === true || (!v.background && !process.stdin.isTTY),
		...(v.background ? {} : foreground()),
	});
	const code = await report(view, v);
	if (v.apply && view.status === "succeeded") await applied(await api.applyRun(v.cwd, view.state.runId), v);
	return code;
}

async function importCommand(args: string[], v: Values): Promise<number> {
	const [dir] = args;
	if (v.from !== "pi-crew" && v.from !== "claude")
		throw new api.UsageError("usage: pi-crew import --from pi-crew|claude DIR [--user] [--dry-run] [--force]");
	if (!dir) throw new api.UsageError(`usage: pi-crew import --from ${v.from} DIR: the directory to convert`);
	const { importResources } = await import("../api/interop.js");
	const report = await importResources({
		cwd: v.cwd,
		from: v.from,
		dir,
		user: v.user,
		dryRun: v["dry-run"],
		force: v.force,
	});
	if (v.json) out(report);
	else
		for (const f of report) {
			print(`${f.outcome.padEnd(13)} ${f.kind} ${f.name ?? "?"}: ${f.source}${f.target ? ` -> ${f.target}` : ""}\n`);
			if (f.skip) print(`  ${f.skip}\n`);
			if (f.converted.length > 0) print(`  converted: ${f.converted.join("; ")}\n`);
			for (const d of f.dropped) print(`  dropped ${d.field}: ${d.why}\n`);
			for (const p of f.problems) print(`  ${p.replace(/\n/g, "\n  ")}\n`);
		}
	return report.some((f) => f.outcome === "invalid") ? 2 : 0;
}

async function exportAgentsCommand(args: string[], v: Values): Promise<number> {
	if (v.format !== "claude" && v.format !== "codex" && v.format !== "cursor")
		throw new api.UsageError("usage: pi-crew export-agents --format claude|codex|cursor [--out DIR] [agent...]");
	const { exportAgents } = await import("../api/interop.js");
	const files = await exportAgents(v.cwd, v.format, v.out, {
		names: args.length > 0 ? args : undefined,
		force: v.force,
	});
	if (v.json) out({ files });
	else for (const f of files) print(`wrote ${f}\n`);
	return 0;
}

async function apply(args: string[], v: Values): Promise<number> {
	if (v.branch !== undefined || v.squash || v.push !== undefined)
		return (await import("./handover.js")).handoverCommand(args, v);
	await applied(await api.applyRun(v.cwd, args[0]), v);
	return 0;
}

async function applied(result: Awaited<ReturnType<typeof api.applyRun>>, v: Values): Promise<void> {
	if (v.json && !v.apply) out(result);
	else
		warn(
			result.from === result.to
				? `the checkout already has run ${result.runId}'s work (${result.branch})\n`
				: `applied run ${result.runId}: the checkout moved from ${result.from.slice(0, 12)} to ${result.to.slice(0, 12)} (${result.branch}), a fast-forward\n`,
		);
}

async function listResources(kind: "agents" | "teams" | "workflows", v: Values): Promise<number> {
	const catalog = await api.resources(v.cwd);
	const items = [...catalog[kind].values()].map((r) => ({
		name: r.name,
		description: r.description,
		scope: r.source.scope,
		file: r.source.file,
		...("disabled" in r && r.disabled ? { disabled: true } : {}),
	}));
	if (v.json) out(items);
	else
		for (const r of items)
			print(
				`${inertLine(r.name).padEnd(20)} ${r.scope.padEnd(8)} ${r.disabled ? "(disabled) " : ""}${inertLine(r.description)}\n`,
			);
	return 0;
}

function isDirectory(path: string): boolean {
	try {
		return statSync(path).isDirectory();
	} catch {
		return false;
	}
}

export async function main(argv: string[]): Promise<number> {
	const { command, args, values: v } = parseCommandLine(argv);
	if (v.version) {
		print(`pi-crew ${await (await import("../api/metrics.js")).packageVersion()}\n`);
		return 0;
	}
	if (v.help || !command) {
		print(`${help(command, args)}\n`);
		return command || v.help ? 0 : 2;
	}
	// A directory named on the command line must exist: a typo must not start a run, or write files, elsewhere.
	if (v.cwd !== undefined && !isDirectory(v.cwd)) throw new api.UsageError(`--cwd ${v.cwd}: no such directory`);
	if (!isCommand(command)) throw unknownCommand(command);
	return COMMAND_HANDLERS[command](args, v, command);
}

type Command = (args: string[], v: Values, name: string) => Promise<number>;
const lifecycle: Command = async (args, v, name) => (await import("./lifecycle.js")).lifecycleCommand(name, args, v);
const runs: Command = async (args, v, name) => (await import("./runs.js")).runsCommand(name, args, v);
const read: Command = async (args, v, name) => (await import("./read.js")).readCommand(name, args, v);

/** Every command, one handler each (usage.ts describes them for people). */
const COMMAND_HANDLERS: Record<CommandName, Command> = {
	run,
	status,
	list,
	events,
	summary,
	result: read,
	transcript: read,
	diff: read,
	validate,
	agents: (_, v) => listResources("agents", v),
	teams: (_, v) => listResources("teams", v),
	workflows: (_, v) => listResources("workflows", v),
	init,
	trust,
	apply,
	"export-agents": exportAgentsCommand,
	plan,
	recommend,
	cancel: lifecycle,
	steer: lifecycle,
	approve: lifecycle,
	respond: lifecycle,
	resume: lifecycle,
	deadletter: lifecycle,
	_coordinate: lifecycle,
	export: runs,
	// A run bundle (FILE), or with --from another tool's resources (a directory).
	import: (args, v, name) => (v.from !== undefined ? importCommand(args, v) : runs(args, v, name)),
	prune: runs,
	forget: runs,
	cleanup: runs,
	metrics: async (args, v) => (await import("./metrics.js")).metricsCommand(args, v),
	doctor,
	config,
	demo: async () => (await import("./demo.js")).demo(),
	help: async (args) => {
		print(`${help("help", args)}\n`);
		return 0;
	},
};

async function status(args: string[], v: Values): Promise<number> {
	const view = await api.runStatus(v.cwd, args[0]);
	if (v.watch) {
		const { watchRun } = await import("./watch.js");
		const final = await watchRun(v.cwd, view.state.runId);
		if (!process.stdout.isTTY) warn(`\n${renderRun(final)}\n`);
		return final.status === "succeeded" ? 0 : 1;
	}
	if (v.follow) {
		const { follow } = await import("../api/lifecycle.js");
		const final = await follow(v.cwd, view.state.runId, (event, state) => {
			const line = progressLine(event, state);
			if (line) warn(`${line}\n`);
		});
		return report(final, { ...v, background: false });
	}
	if (v.json) out(api.runJson(view));
	else print(`${renderRun(view)}\n`);
	return 0;
}

async function list(_: string[], v: Values): Promise<number> {
	const { runs, broken, foreign } = await api.listRuns(v.cwd);
	if (v.json) {
		out({
			runs: runs.map((view) => ({
				...api.runJson(view),
				tasks: undefined,
				problems: undefined,
				foreign: foreign.get(view.state.runId),
			})),
			broken,
		});
		return 0;
	}
	if (runs.length === 0 && broken.length === 0) print("no runs yet\n");
	for (const view of runs)
		print(
			`${view.state.runId}  ${(foreign.has(view.state.runId) ? "foreign" : api.shownStatus(view)).padEnd(11)} ${inertLine(view.state.team).padEnd(18)} ${inertLine(view.state.goal.split("\n")[0]?.slice(0, 60) ?? "")}\n`,
		);
	for (const b of broken) warn(`${b.runId}: cannot read this run: ${b.error}\n`);
	for (const [id, why] of foreign) warn(`${id}: foreign, never resumed here: ${why}\n`);
	const untrusted = runs.filter((view) => view.integrity !== "verified" && !foreign.has(view.state.runId));
	for (const view of untrusted) warn(`${view.state.runId}: ${view.integrity}: ${api.untrustedReason(view)}\n`);
	const interrupted = runs.filter(
		(view) => view.status === "interrupted" && view.integrity === "verified" && !foreign.has(view.state.runId),
	);
	if (interrupted.length > 0)
		warn(
			`${interrupted.length} interrupted run(s): their coordinator is gone. Resume with: pi-crew resume ${interrupted.at(-1)?.state.runId}\n`,
		);
	return 0;
}

async function events(args: string[], v: Values): Promise<number> {
	const { events, problems } = await api.runEvents(v.cwd, args[0]);
	if (v.json) out({ events, problems });
	else {
		for (const e of events)
			print(`${String(e.seq).padStart(5)} ${e.ts} ${e.type.padEnd(15)} ${eventTask(e)} ${eventDetail(e)}\n`);
		for (const p of problems) warn(`${api.formatProblem(p)}\n`);
	}
	return 0;
}

async function summary(args: string[], v: Values): Promise<number> {
	const { text, path } = await api.runSummary(v.cwd, args[0]);
	if (v.json) out({ summary: text, path });
	else print(`${text.trimEnd()}\n\n(${path})\n`);
	return 0;
}

async function validate(_: string[], v: Values): Promise<number> {
	const { catalog, problems } = await api.validateResources(v.cwd);
	const errors = problems.filter((p) => p.severity !== "warning");
	const counts = `${catalog.agents.size} agents, ${catalog.teams.size} teams, ${catalog.workflows.size} workflows`;
	if (v.json)
		out({
			ok: errors.length === 0,
			agents: catalog.agents.size,
			teams: catalog.teams.size,
			workflows: catalog.workflows.size,
			problems,
		});
	else {
		for (const p of problems) warn(`${api.formatProblem(p)}\n`);
		const warnings = problems.length - errors.length;
		print(
			`${errors.length === 0 ? "ok" : `${errors.length} error(s)`}: ${counts}${warnings > 0 ? `, ${warnings} warning(s)` : ""}\n`,
		);
	}
	return errors.length === 0 ? 0 : 2;
}

async function init(_: string[], v: Values): Promise<number> {
	const { created, kept } = await (await import("../api/init.js")).initProject(v.cwd);
	if (v.json) out({ created, kept });
	else {
		for (const f of created) print(`created ${f}\n`);
		for (const f of kept) print(`kept    ${f} (exists)\n`);
		print('next: pi-crew validate, then pi-crew run docs "<what to check>"\n');
	}
	return 0;
}

async function trust(args: string[], v: Values): Promise<number> {
	const [answer] = args;
	if (answer !== undefined && answer !== "yes" && answer !== "no")
		throw new api.UsageError("usage: pi-crew trust [yes|no]  (no answer: show the decision)");
	const decision =
		answer === undefined
			? { repo: api.findRepo(v.cwd), ...api.projectTrust(api.findRepo(v.cwd)) }
			: await api.setProjectTrust(v.cwd, answer === "yes");
	if (v.json) out(decision);
	else print(`${decision.repo}: ${decision.why}\n`);
	return 0;
}

async function plan(args: string[], v: Values): Promise<number> {
	const [team] = args;
	if (!team) throw new api.UsageError("usage: pi-crew plan <team> [--workflow W]");
	const planned = await api.planTeam(v.cwd, team, v.workflow);
	if (v.json) out(planned);
	else print(`${renderPlan(planned)}\n`);
	return 0;
}

async function recommend(args: string[], v: Values): Promise<number> {
	if (args.length === 0) throw new api.UsageError('usage: pi-crew recommend "<goal>"');
	const choice = await api.recommend(v.cwd, args.join(" "));
	if (v.json) out(choice);
	else if (!choice.matched) print(`${choice.team}: ${choice.why}\n`);
	else
		for (const r of choice.ranked.slice(0, 3))
			print(`${r.team.padEnd(18)} score ${String(r.score).padEnd(3)} ${r.reasons.slice(0, 3).join("; ")}\n`);
	return 0;
}

async function config(_: string[], v: Values): Promise<number> {
	if (v.team !== undefined) {
		const found = await (await import("../api/model-policy.js")).explainModels(v.cwd, v.team, v.workflow);
		if (v.json) out(found);
		else print(`${renderTeamModels(found)}\n`);
		return 0;
	}
	const effective = await api.effectiveConfig(v.cwd);
	if (v.json) out(effective);
	else print(`${renderConfig(effective)}\n`);
	return 0;
}

async function doctor(_: string[], v: Values): Promise<number> {
	if (v.export !== undefined) {
		const { path, report } = await (await import("../api/metrics.js")).exportDiagnostics(v.cwd, v.export);
		if (v.json) out({ path, schemaVersion: report.schemaVersion });
		else print(`${path}\n`);
		return 0;
	}
	const found = await (await import("../api/doctor.js")).doctor(v.cwd);
	if (v.json) out(found);
	else {
		print(`pi-crew doctor: ${found.repo}\n`);
		for (const c of found.checks)
			print(
				`${c.level === "ok" ? "ok  " : c.level === "warning" ? "warn" : "FAIL"}  ${c.name}: ${c.detail}${c.hint ? `\n      fix: ${c.hint}` : ""}\n`,
			);
	}
	return found.ok ? 0 : 1;
}

export async function cli(argv: string[]): Promise<void> {
	outliveReaders();
	let code: number;
	try {
		code = await main(argv);
	} catch (err) {
		const e = err as Error & { code?: string };
		// Our errors carry their exit code; node's argument parser's are bad usage; anything else is a bug (stack).
		const explained = err instanceof CrewError ? err.exitCode : e.code?.startsWith("ERR_PARSE_ARGS") ? 2 : undefined;
		warn(`pi-crew: ${explained ? e.message : (e.stack ?? e.message)}\n`);
		code = explained ?? 1;
	}
	process.exitCode = code;
	// A run's exporters may still wait on a hung collector (its sockets, its retry timers): once the output is out,
	// the command ends regardless.
	if (await stopBackground()) {
		for (const stream of [process.stdout, process.stderr])
			await new Promise<void>((resolve) => stream.write("", () => resolve()));
		process.exit(code);
	}
}
