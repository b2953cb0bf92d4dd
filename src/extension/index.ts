/**
 * pi-crew as a Pi extension: the `team` tool. Registration is cheap; the api (and everything behind it) is imported
 * on the first call. The tool is a thin face over the api, the same one the CLI uses.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Static, Type } from "typebox";
import { type ExtensionAPI, StringEnum } from "../host.js";
import { registerCommands } from "./commands.js";

const ACTIONS = ["run", "status", "list", "events", "validate", "cancel", "resume", "deadletter", "requeue"] as const;

const Params = Type.Object({
	action: StringEnum(ACTIONS, { description: "run a team, or inspect runs and resources" }),
	team: Type.Optional(Type.String({ description: "run: the team (e.g. default, fast-fix, review, research)" })),
	goal: Type.Optional(Type.String({ description: "run: what the team should achieve" })),
	workflow: Type.Optional(Type.String({ description: "run: a workflow other than the team's default" })),
	runId: Type.Optional(
		Type.String({ description: "status/events/cancel/resume/deadletter/requeue: the run (default: the latest)" }),
	),
	taskId: Type.Optional(Type.String({ description: "requeue: one dead-lettered task (default: all of the run's)" })),
	background: Type.Optional(
		Type.Boolean({ description: "run/resume: keep going in a detached process; returns the run id at once" }),
	),
	model: Type.Optional(Type.String({ description: "run: model for every worker (provider/id)" })),
});

type RawParams = Record<string, unknown>;

/**
 * Models send "", 0, false or null for fields they mean to leave unset. Dropped before schema validation, which would
 * otherwise turn null into the string "null".
 */
export function dropUnset(args: unknown): Static<typeof Params> {
	if (typeof args !== "object" || args === null) return args as Static<typeof Params>;
	const kept = Object.entries(args).filter(([, v]) => v !== null && v !== "" && v !== 0 && v !== false);
	return Object.fromEntries(kept.map(([k, v]) => [k, typeof v === "string" ? v.trim() : v])) as Static<typeof Params>;
}

function present(params: RawParams, key: string): string | undefined {
	const v = params[key];
	return typeof v === "string" && v !== "" ? v : undefined;
}

function text(value: string, details: unknown = {}) {
	return { content: [{ type: "text" as const, text: value }], details };
}

export default function piCrew(pi: ExtensionAPI): void {
	registerCommands(pi);
	// Offer interrupted runs for resume. Not awaited: pi's start-up never waits for pi-crew.
	pi.on("session_start", (_event, ctx) => {
		if (!existsSync(join(ctx.cwd, ".crew", "runs"))) return;
		void import("../api/lifecycle.js")
			.then((lifecycle) => lifecycle.findInterrupted(ctx.cwd))
			.then((runs) => {
				for (const run of runs)
					ctx.ui.notify(
						`pi-crew: run ${run.state.runId} (${run.state.team}) was interrupted; resume it with the team tool (action resume) or: pi-crew resume ${run.state.runId}`,
						"warning",
					);
			})
			.catch(() => undefined);
	});

	pi.registerTool({
		name: "team",
		label: "Team",
		description:
			"Run a team of pi agents (a workflow DAG of role-specific workers) on this repository, and inspect runs. " +
			"Actions: run (team + goal, optionally background), status, list, events, validate, cancel, resume, " +
			"deadletter (tasks given up on), requeue (run them again).",
		promptSnippet: "Delegate multi-step work to a team of agents (explore, plan, execute, verify)",
		parameters: Params,
		prepareArguments: dropUnset,
		async execute(_id, params, signal, onUpdate, ctx) {
			const api = await import("../api/index.js");
			const { progressLine, renderRun } = await import("../cli/render.js");
			const p = params as RawParams;
			try {
				switch (params.action) {
					case "run": {
						const team = present(p, "team");
						const goal = present(p, "goal");
						if (!team || !goal) return text("team run needs both `team` and `goal`.", { error: "usage" });
						const session = ctx.model ? `${ctx.model.provider}/${ctx.model.id}` : undefined;
						const view = await api.runTeam({
							cwd: ctx.cwd,
							team,
							goal,
							workflow: present(p, "workflow"),
							model: present(p, "model"),
							sessionModel: session,
							background: p.background === true,
							signal,
							onEvent: (event, state) => {
								const line = progressLine(event, state);
								if (line) onUpdate?.(text(line));
							},
						});
						return text(`${renderRun(view)}\nsummary: ${view.paths.summary}`, api.runJson(view));
					}
					case "status": {
						const view = await api.runStatus(ctx.cwd, present(p, "runId"));
						return text(renderRun(view), api.runJson(view));
					}
					case "list": {
						const { runs, broken } = await api.listRuns(ctx.cwd);
						const lines = [
							...runs.map((v) => `${v.state.runId}  ${v.status}  ${v.state.team}  ${v.state.goal.split("\n")[0]}`),
							...broken.map((b) => `${b.runId}  unreadable: ${b.error}`),
						];
						return text(lines.join("\n") || "no runs yet", { runs: runs.map((v) => api.runJson(v)), broken });
					}
					case "events": {
						const runId = present(p, "runId") ?? (await api.runStatus(ctx.cwd)).state.runId;
						const { events, problems } = await api.runEvents(ctx.cwd, runId);
						const lines = events.map((e) => `${e.seq} ${e.type} ${e.taskId ?? ""}`);
						return text(lines.join("\n"), { events, problems });
					}
					case "cancel": {
						const runId = present(p, "runId") ?? (await api.runStatus(ctx.cwd)).state.runId;
						const result = await (await import("../api/lifecycle.js")).cancel(ctx.cwd, runId);
						return text(`run ${runId}: ${result.outcome} (${result.view.status})`, api.runJson(result.view));
					}
					case "resume": {
						const runId = present(p, "runId") ?? (await api.runStatus(ctx.cwd)).state.runId;
						const view = await (await import("../api/lifecycle.js")).resume({
							cwd: ctx.cwd,
							runId,
							background: p.background === true,
							signal,
						});
						return text(renderRun(view), api.runJson(view));
					}
					case "deadletter": {
						const letters = await (await import("../api/lifecycle.js")).listDeadLetters(ctx.cwd, present(p, "runId"));
						const lines = letters.map((d) => `${d.runId} ${d.taskId} ${d.reason}: ${d.detail}`);
						return text(lines.join("\n") || "no dead-lettered tasks", { deadLetters: letters });
					}
					case "requeue": {
						const lifecycle = await import("../api/lifecycle.js");
						const runId = present(p, "runId") ?? (await api.runStatus(ctx.cwd)).state.runId;
						const one = present(p, "taskId");
						const ids = one ? [one] : (await lifecycle.listDeadLetters(ctx.cwd, runId)).map((d) => d.taskId);
						if (ids.length === 0) return text(`run ${runId} has no dead-lettered tasks`, { error: "usage" });
						const view = await lifecycle.resume({
							cwd: ctx.cwd,
							runId,
							requeue: ids,
							background: p.background === true,
							signal,
						});
						return text(renderRun(view), api.runJson(view));
					}
					case "validate": {
						const { problems } = await api.validateResources(ctx.cwd);
						return text(problems.map(api.formatProblem).join("\n") || "all resources valid", { problems });
					}
					default:
						return text(`unknown action "${params.action}"; use one of: ${ACTIONS.join(", ")}`, { error: "usage" });
				}
			} catch (err) {
				return text(`team ${params.action} failed: ${(err as Error).message}`, { error: (err as Error).name });
			}
		},
	});
}
