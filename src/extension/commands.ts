/**
 * Slash commands: `/team-run`, `/team-status`, `/team-cancel`, `/team-resume`, `/team-list`, `/team-doctor`,
 * `/team-autonomy`, `/team-config`, `/team-metrics`, `/team-respond`, `/team-apply`, and the full-screen views
 * `/team-dashboard`, `/team-approve`, `/team-result`, `/team-transcript`, `/team-diff`.
 * Faces of the api like the `team` tool. In an interactive session a run goes on behind the editor (pi awaits a
 * command's handler, so awaiting the run would lock the session); headless (`-p`), the handler awaits it.
 */
import { parseArgs } from "node:util";
import { type ExtensionAPI, loadTui } from "../host.js";
import { inertLine } from "../util/inert.js";
import { lazy } from "./lazy.js";
import type { Starter } from "./wake.js";

type Ui = {
	notify(message: string, level?: "info" | "warning" | "error"): void;
	setWidget(
		key: string,
		content: string[] | (() => { render(width: number): string[]; invalidate(): void }) | undefined,
	): void;
};

/**
 * Shows a command's text above the editor. In pi's TUI as a component, which pi never cuts (a list of lines is cut
 * at ten), each line fitted to the width, or (`wrap`: text whose end matters, such as a fix) wrapped to it;
 * elsewhere (RPC) as lines.
 */
async function show(ctx: { ui: Ui; mode: string }, lines: string[], wrap = false): Promise<void> {
	if (ctx.mode !== "tui") return ctx.ui.setWidget(WIDGET, lines);
	const { fit } = await lazy.board();
	const tui = wrap ? await loadTui() : undefined;
	const render = (width: number) =>
		tui ? lines.flatMap((l) => tui.wrapTextWithAnsi(inertLine(l), width)) : lines.map((l) => fit(l, width));
	ctx.ui.setWidget(WIDGET, () => ({ render, invalidate: () => undefined }));
}

const WIDGET = "pi-crew";

/**
 * Completions are computed from the directory pi runs in (completion callbacks get no context). They never reject:
 * pi-tui does not catch a failing completion, and a broken config or run must not end the session.
 */
async function teamNames(prefix: string) {
	try {
		const api = await lazy.api();
		const catalog = await api.resources(process.cwd());
		return [...catalog.teams.values()]
			.filter((t) => t.name.startsWith(prefix))
			.map((t) => ({ value: `${t.name} `, label: t.name, description: inertLine(t.description) }));
	} catch {
		return null;
	}
}

async function runIds(prefix: string) {
	try {
		const api = await lazy.api();
		const { runs } = await api.listRuns(process.cwd());
		return runs
			.filter((r) => r.state.runId.startsWith(prefix))
			.reverse()
			.map((r) => ({
				value: r.state.runId,
				label: r.state.runId,
				description: inertLine(`${r.status} ${r.state.team}`),
			}));
	} catch {
		return null;
	}
}

/** `<runId> <task prefix>`: the run's tasks. */
async function taskIds(prefix: string) {
	try {
		const [runId = "", taskPrefix = ""] = prefix.split(/\s+/);
		const api = await lazy.api();
		const view = await api.runStatus(process.cwd(), runId);
		return [...view.state.tasks.values()]
			.filter((t) => t.id.startsWith(taskPrefix))
			.map((t) => ({ value: `${runId} ${t.id}`, label: t.id, description: inertLine(`${t.status} ${t.role}`) }));
	} catch {
		return null;
	}
}

/** Runs with a task waiting for a person (`kind`: a question or an approval), newest first. */
async function waitingRuns(prefix: string, kind: "question" | "approval") {
	try {
		const api = await lazy.api();
		const { runs } = await api.listRuns(process.cwd());
		return runs
			.filter((r) => r.status === "running" && r.state.runId.startsWith(prefix))
			.map((r) => ({ r, waiting: [...r.state.tasks.values()].filter((t) => t.waiting?.kind === kind) }))
			.filter(({ waiting }) => waiting.length > 0)
			.reverse()
			.map(({ r, waiting }) => ({
				value: `${r.state.runId}${kind === "question" ? " " : ""}`,
				label: r.state.runId,
				description: inertLine(`${r.state.team}: ${waiting.map((t) => t.id).join(", ")} waiting`),
			}));
	} catch {
		return null;
	}
}

/**
 * `/team-respond` completion, word by word: runs with a task that asks, then those tasks (with their question), then
 * a choice question's choices.
 */
async function respondArgs(prefix: string) {
	const words = prefix.split(/\s+/);
	if (words.length <= 1) return waitingRuns(prefix, "question");
	try {
		const [runId = "", taskPrefix = "", answer = ""] = words;
		const view = await (await lazy.api()).runStatus(process.cwd(), runId);
		const asking = [...view.state.tasks.values()].filter((t) => t.waiting?.kind === "question");
		if (words.length === 2)
			return asking
				.filter((t) => t.id.startsWith(taskPrefix))
				.map((t) => ({
					value: `${runId} ${t.id} `,
					label: t.id,
					description: inertLine(t.waiting?.kind === "question" ? t.waiting.text : ""),
				}));
		if (words.length > 3) return null;
		const w = asking.find((t) => t.id === taskPrefix)?.waiting;
		const choices = w?.kind === "question" ? (w.choices ?? []) : [];
		return choices
			.filter((c) => c.toLowerCase().startsWith(answer.toLowerCase()))
			.map((c) => ({ value: `${runId} ${taskPrefix} ${c}`, label: inertLine(c) }));
	} catch {
		return null;
	}
}

/** What `/team-run` was asked: the team, the goal, and the options it takes. */
export interface TeamRunArgs {
	team: string;
	goal: string;
	background: boolean;
	/** A scenario file for the offline model (`--scenario FILE`, relative to pi's directory): a rehearsal. */
	scenario?: string;
	/** Why the team was recommended (when the text did not name one). */
	recommended?: string;
}

const TEAM_RUN_USAGE = "usage: /team-run [team] <goal…> [--bg] [--scenario FILE] (after --, all is goal text)";

/** `--bg` and `--scenario FILE` taken out of the words before a lone `--`; the rest (and all after `--`) is text. */
function teamRunOptions(args: string): { words: string[]; forced: boolean; background: boolean; scenario?: string } {
	const all = args.trim().split(/\s+/).filter(Boolean);
	const cut = all.indexOf("--");
	const head = cut < 0 ? all : all.slice(0, cut);
	const words: string[] = [];
	let background = false;
	let scenario: string | undefined;
	for (let i = 0; i < head.length; i++) {
		const word = head[i] ?? "";
		if (word === "--bg") background = true;
		else if (word === "--scenario") {
			scenario = head[++i];
			if (!scenario) throw new Error(`--scenario needs a file: ${TEAM_RUN_USAGE}`);
		} else words.push(word);
	}
	// A lone `--` first (options aside) says the text is all goal: no team is read from it.
	const forced = cut >= 0 && words.length === 0;
	return { words: cut < 0 ? words : [...words, ...all.slice(cut + 1)], forced, background, scenario };
}

/**
 * `/team-run <team> <goal…>`: the first word is the team only if it names a known team and a goal follows; otherwise
 * the whole text is the goal and the team is recommended ("fix the login bug" never runs a team called "fix"). A
 * first word one slip away from a team's name ("fastfix") starts nothing: the user says which was meant.
 */
export async function parseTeamRun(cwd: string, args: string): Promise<TeamRunArgs> {
	const api = await lazy.api();
	const { words, forced, background, scenario } = teamRunOptions(args);
	const options = { background, ...(scenario ? { scenario } : {}) };
	const [first = "", ...rest] = words;
	if (!first) throw new api.UsageError(TEAM_RUN_USAGE);
	const catalog = await api.resources(cwd);
	if (!forced && catalog.teams.has(first) && rest.length > 0) return { team: first, goal: rest.join(" "), ...options };
	const text = words.join(" ");
	const meant = forced ? undefined : (await lazy.suggest()).suggest(first, [...catalog.teams.keys()]);
	if (meant)
		throw new api.UsageError(
			`"${first}" is not a team; did you mean ${meant}? Nothing started. Run /team-run ${meant} ${rest.join(" ") || "<goal>"}, or to have "${first}" read as part of the goal: /team-run -- ${text}`,
		);
	const choice = (await lazy.recommend()).chooseTeam(catalog, text);
	if (!choice) throw new api.UsageError("no team can run (see: pi-crew validate)");
	return { team: choice.team, goal: text, ...options, recommended: choice.why };
}

/** A command handler whose failure becomes an error notice (a slash command's error must not end the session). */
function reporting<C extends { ui: Ui }>(work: (args: string, ctx: C) => Promise<unknown>) {
	return async (args: string, ctx: C) => {
		try {
			await work(args, ctx);
		} catch (err) {
			ctx.ui.notify(`pi-crew: ${(err as Error).message}`, "error");
		}
	};
}

/** Calls `started` with the run id of the first event it sees: the live view follows the run from there. */
function onFirstEvent(started: (runId: string) => void) {
	let seen = false;
	return (event: { runId: string }) => {
		if (seen) return;
		seen = true;
		started(event.runId);
	};
}

export function registerCommands(
	pi: ExtensionAPI,
	hooks: { autonomyChanged(): void; runStarted(runId: string, since?: string, background?: Starter): void },
): void {
	// Every command's notices and widgets carry text from runs and repositories: made inert on the way to the terminal
	// (in print mode, to stdout).
	const register: typeof pi.registerCommand = (name, options) =>
		pi.registerCommand(name, {
			...options,
			handler: async (args, ctx) => {
				const [{ inertContext }, { printingContext }] = await Promise.all([lazy.inertUi(), lazy.printUi()]);
				return options.handler(args, inertContext(printingContext(ctx)));
			},
		});
	// Runs this session started in this process: cancelled when the session ends (they can be resumed later).
	const inSession = new Set<AbortController>();
	pi.on("session_shutdown", () => {
		for (const c of inSession) c.abort();
	});
	/** Runs `work` behind the editor when there is a UI; awaits it when headless. Reports failures either way. */
	const launch = async (ctx: { hasUI: boolean; ui: Ui }, work: (signal: AbortSignal) => Promise<void>) => {
		const controller = new AbortController();
		inSession.add(controller);
		const done = work(controller.signal)
			.catch((err: Error) => ctx.ui.notify(`pi-crew: ${err.message}`, "error"))
			.finally(() => inSession.delete(controller));
		if (!ctx.hasUI) await done;
	};
	register("team-autonomy", {
		description:
			"Show or set whether the agent may start team runs: /team-autonomy [manual|suggested|assisted|aggressive]",
		getArgumentCompletions: async (prefix) => {
			const { AUTONOMY } = await lazy.config();
			return AUTONOMY.filter((a) => a.startsWith(prefix)).map((a) => ({ value: a, label: a }));
		},
		handler: async (args, ctx) => {
			try {
				const config = await lazy.config();
				const wanted = args.trim();
				if (!wanted) {
					const effective = await (await lazy.api()).effectiveConfig(ctx.cwd);
					const from = effective.sources.autonomy;
					const where = from?.layer === "project" ? `, set by this repository's ${from.file}` : "";
					ctx.ui.notify(
						`pi-crew autonomy: ${effective.autonomy}${where} (one of ${config.AUTONOMY.join(", ")})`,
						"info",
					);
					return;
				}
				if (!(config.AUTONOMY as readonly string[]).includes(wanted))
					throw new Error(`unknown profile "${wanted}": use one of ${config.AUTONOMY.join(", ")}`);
				const file = await config.setConfigValue("autonomy", wanted);
				hooks.autonomyChanged();
				// A repository's config may keep a stricter profile here (never a looser one).
				const effective = await (await lazy.api()).effectiveConfig(ctx.cwd);
				const here =
					effective.autonomy === wanted
						? ""
						: `; this repository's ${effective.sources.autonomy?.file} keeps it at ${effective.autonomy} here`;
				ctx.ui.notify(`pi-crew autonomy: ${wanted} (saved in ${file})${here}`, "info");
			} catch (err) {
				ctx.ui.notify(`pi-crew: ${(err as Error).message}`, "error");
			}
		},
	});

	register("team-run", {
		description: "Run a team on a goal: /team-run [team] <goal…> [--bg] [--scenario FILE]",
		getArgumentCompletions: (prefix) => (prefix.includes(" ") ? null : teamNames(prefix)),
		handler: async (args, ctx) => {
			const api = await lazy.api();
			let parsed: Awaited<ReturnType<typeof parseTeamRun>>;
			try {
				parsed = await parseTeamRun(ctx.cwd, args);
			} catch (err) {
				ctx.ui.notify(`pi-crew: ${(err as Error).message}`, "error");
				return;
			}
			const { team, goal, background, scenario, recommended } = parsed;
			const why = recommended ? ` (recommended: ${recommended})` : "";
			const rehearsal = scenario ? ` (rehearsal on the scripted model: ${scenario})` : "";
			ctx.ui.notify(`pi-crew: team ${team}${why}${rehearsal}: ${goal}`, "info");
			await launch(ctx, async (signal) => {
				// The live board shows the run as it goes; the notifier says how it ended.
				const view = await api.runTeam({
					cwd: ctx.cwd,
					team,
					goal,
					background,
					...(scenario ? { scenario } : {}),
					sessionModel: ctx.model ? `${ctx.model.provider}/${ctx.model.id}` : undefined,
					signal,
					onEvent: onFirstEvent(hooks.runStarted),
				});
				if (background) {
					hooks.runStarted(view.state.runId, undefined, "user");
					ctx.ui.notify(`pi-crew: run ${view.state.runId} (team ${team}) continues in the background`, "info");
				} else if (!ctx.hasUI) ctx.ui.notify(`pi-crew: run ${view.state.runId} (team ${team}) ${view.status}`, "info");
			});
		},
	});

	for (const [name, view] of Object.entries(VIEWS))
		register(name, {
			description: view.description,
			getArgumentCompletions: view.takesRunId ? (prefix) => runIds(prefix) : undefined,
			handler: reporting(async (args, ctx) =>
				ctx.ui.notify(await view.act(ctx.cwd, args.trim() || undefined, ctx), "info"),
			),
		});
	register("team-dashboard", {
		description: "Open the dashboard: runs, task graph, task, events, dead-letters, metrics: /team-dashboard [runId]",
		getArgumentCompletions: (prefix) => runIds(prefix),
		handler: reporting(async (args, ctx) => (await lazy.dashboard()).openDashboard(ctx, args.trim() || undefined)),
	});
	for (const [name, kind, what] of [
		["team-result", "result", "a task's result"],
		["team-transcript", "transcript", "a task's transcript"],
		["team-diff", "diff", "what a run (default: the latest) or a task changed"],
	] as const)
		register(name, {
			description: `Show ${what} as scrollable markdown: /${name} [runId] [taskId]`,
			getArgumentCompletions: (prefix) => (prefix.includes(" ") ? taskIds(prefix) : runIds(prefix)),
			handler: reporting(async (args, ctx) => (await lazy.dashboard()).openViewer(ctx, kind, args)),
		});
	register("team-respond", {
		description: "Answer the question a task waits on: /team-respond <runId> <taskId> <answer…>",
		getArgumentCompletions: (prefix) => respondArgs(prefix),
		handler: reporting(async (args, ctx) => {
			// The answer is the rest of the line as typed (its spacing kept).
			const [, runId, taskId, answer] = /^(\S+)\s+(\S+)\s+([\s\S]+)$/.exec(args.trim()) ?? [];
			const api = await lazy.api();
			if (!runId || !taskId || !answer) throw new api.UsageError("usage: /team-respond <runId> <taskId> <answer…>");
			const done = await (await lazy.lifecycle()).respond(ctx.cwd, runId, taskId, answer);
			ctx.ui.notify(
				`pi-crew: answered ${taskId} of run ${runId}: ${done.text}${done.queued ? " (delivered when the run is resumed)" : ""}`,
				"info",
			);
		}),
	});
	register("team-approve", {
		description: "Approve, reject (with feedback) or trim a task's plan that waits for approval: /team-approve [runId]",
		getArgumentCompletions: (prefix) => waitingRuns(prefix, "approval"),
		handler: reporting(async (args, ctx) => (await lazy.dashboard()).openApproval(ctx, args.trim() || undefined)),
	});
	register("team-resume", {
		description: "Resume an interrupted or cancelled run: /team-resume [runId] [--bg]",
		getArgumentCompletions: (prefix) => runIds(prefix),
		handler: async (args, ctx) => {
			const background = /(^|\s)--bg(\s|$)/.test(args);
			const given = args.replace(/(^|\s)--bg(?=\s|$)/g, " ").trim();
			await launch(ctx, async (signal) => {
				const api = await lazy.api();
				const id = given || (await api.runStatus(ctx.cwd)).state.runId;
				hooks.runStarted(id, new Date().toISOString(), background ? "user" : undefined);
				const view = await (await lazy.lifecycle()).resume({ cwd: ctx.cwd, runId: id, background, signal });
				if (background || !ctx.hasUI)
					ctx.ui.notify(`pi-crew: run ${id} ${background ? "continues in the background" : view.status}`, "info");
			});
		},
	});
}

/** A command that acts once and shows its outcome (a notification, and a widget for the longer ones). */
interface ViewCommand {
	description: string;
	/** Its argument is a run id (completed from this repository's runs); otherwise it takes none or a filter. */
	takesRunId?: boolean;
	act(
		cwd: string,
		arg: string | undefined,
		ctx: { ui: Ui; mode: string; model?: { provider: string; id: string } },
	): Promise<string>;
}

const VIEWS: Record<string, ViewCommand> = {
	"team-status": {
		description: "Show a run's task tree: /team-status [runId]",
		takesRunId: true,
		async act(cwd, runId, ctx) {
			const api = await lazy.api();
			const { renderRun } = await lazy.render();
			const view = await api.runStatus(cwd, runId);
			await show(ctx, renderRun(view).split("\n"));
			return `pi-crew: run ${view.state.runId} ${view.status}`;
		},
	},
	"team-cancel": {
		description: "Cancel a run (foreground or background): /team-cancel [runId]",
		takesRunId: true,
		async act(cwd, runId) {
			const api = await lazy.api();
			const id = runId ?? (await api.runStatus(cwd)).state.runId;
			const result = await (await lazy.lifecycle()).cancel(cwd, id);
			return `pi-crew: run ${id}: ${result.outcome.replace("-", " ")} (${result.view.status})`;
		},
	},
	"team-apply": {
		description:
			"Apply a run: fast-forward the checkout, or make a branch with its work: /team-apply [runId] [--branch NAME] [--squash] [--push REMOTE]",
		takesRunId: true,
		async act(cwd, arg) {
			const options = { branch: { type: "string" }, squash: { type: "boolean" }, push: { type: "string" } } as const;
			const words = arg?.trim().split(/\s+/).filter(Boolean) ?? [];
			const { values, positionals } = parseArgs({ args: words, options, allowPositionals: true, strict: true });
			if (positionals.length > 1)
				throw new Error("usage: /team-apply [runId] [--branch NAME] [--squash] [--push REMOTE]");
			return `pi-crew: ${(await (await lazy.apply()).applyRun(cwd, positionals[0], values, "user")).text}`;
		},
	},
	"team-list": {
		description: "List this repository's runs, newest first",
		async act(cwd, _arg, ctx) {
			const api = await lazy.api();
			const { runs, broken } = await api.listRuns(cwd);
			const lines = [
				...[...runs]
					.reverse()
					.map(
						(r) =>
							`${r.state.runId}  ${api.shownStatus(r).padEnd(11)} ${r.state.team.padEnd(16)} ${r.state.goal.split("\n")[0]?.slice(0, 50)}`,
					),
				...broken.map((b) => `${b.runId}  unreadable: ${b.error}`),
			];
			await show(ctx, lines.length > 0 ? lines : ["no pi-crew runs yet"]);
			return `pi-crew: ${runs.length} run(s)`;
		},
	},
	"team-init": {
		description: "Scaffold .crew/ in this repository with an example agent, team and workflow",
		async act(cwd, _arg, ctx) {
			const { created, kept } = await (await lazy.init()).initProject(cwd);
			await show(ctx, [...created.map((f) => `created ${f}`), ...kept.map((f) => `kept    ${f} (exists)`)]);
			return `pi-crew: ${created.length} file(s) created in .crew/; try /team-run docs <what to check>`;
		},
	},
	"team-config": {
		description: "Show each effective pi-crew setting and where it came from (default, your config, this repository)",
		async act(cwd, _arg, ctx) {
			const config = await (await lazy.api()).effectiveConfig(cwd);
			const { renderConfig } = await lazy.render();
			await show(ctx, renderConfig(config).split("\n"));
			const ignored = config.ignored.length > 0 ? `; ${config.ignored.length} project setting(s) not applied` : "";
			return `pi-crew config: ${config.file}${config.projectFile ? ` and ${config.projectFile}` : ""}${ignored}`;
		},
	},
	"team-metrics": {
		description:
			"Metrics of this repository's runs (replayed from their logs): /team-metrics [filter, e.g. crew.task.*]",
		async act(cwd, filter, ctx) {
			const view = await (await lazy.metrics()).metricsSnapshot({ cwd, filter });
			const { renderMetrics } = await lazy.render();
			await show(ctx, renderMetrics(view.metrics).split("\n"));
			return `pi-crew metrics: ${view.runs} run(s)${view.broken.length ? `, ${view.broken.length} unreadable` : ""}`;
		},
	},
	"team-doctor": {
		description: "Check pi, config, resources and runs",
		async act(cwd, _arg, ctx) {
			const session = ctx.model ? `${ctx.model.provider}/${ctx.model.id}` : undefined;
			const report = await (await lazy.doctor()).doctor(cwd, session);
			const lines = report.checks.flatMap((c) => [
				`${c.level === "ok" ? "ok  " : c.level === "warning" ? "warn" : "FAIL"} ${c.name}: ${c.detail}`.split("\n"),
				c.hint ? [`      fix: ${c.hint}`] : [],
			]);
			await show(ctx, lines.flat(), true);
			return `pi-crew doctor: ${report.ok ? "no errors" : "errors found"}`;
		},
	},
};
