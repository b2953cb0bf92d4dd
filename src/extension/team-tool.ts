/**
 * The `team` tool: one tool, one `action` field, every action a thin call into the api. Each returns compact text
 * for the model and structured `details`.
 */
import { type Static, Type } from "typebox";
import { type ExtensionAPI, StringEnum } from "../host.js";

/** Actions that come with a later issue: they answer plainly instead of pretending. */
const LATER = ["export", "import", "prune", "forget", "cleanup"] as const;

const ACTIONS = [
	"run",
	"plan",
	"recommend",
	"status",
	"list",
	"events",
	"summary",
	"artifacts",
	"cancel",
	"resume",
	"deadletter",
	"requeue",
	"get",
	"create",
	"update",
	"delete",
	"validate",
	"doctor",
	"config",
	...LATER,
] as const;
type Action = (typeof ACTIONS)[number];

/** The events action shows the model the last ones only: a long run's log would flood its context. */
const EVENTS_SHOWN = 50;

/** Actions that start agents working: the autonomy profile decides whether the model may call them. */
const STARTS_WORK = new Set<Action>(["run", "resume", "requeue"]);

const Params = Type.Object({
	action: StringEnum(ACTIONS, { description: "what to do (run a team, plan one, inspect runs and resources)" }),
	team: Type.Optional(Type.String({ description: "run/plan: the team (e.g. default, fast-fix, review, research)" })),
	goal: Type.Optional(Type.String({ description: "run/recommend: what the team should achieve" })),
	workflow: Type.Optional(Type.String({ description: "run/plan: a workflow other than the team's default" })),
	runId: Type.Optional(Type.String({ description: "a run (default: the latest)" })),
	taskId: Type.Optional(Type.String({ description: "requeue: one dead-lettered task (default: all of the run's)" })),
	name: Type.Optional(Type.String({ description: "get/create/update/delete: the agent, team or workflow" })),
	kind: Type.Optional(StringEnum(["agent", "team", "workflow"] as const, { description: "create/update/delete" })),
	content: Type.Optional(
		Type.String({ description: "create/update: the whole markdown file (YAML frontmatter + body)" }),
	),
	scope: Type.Optional(
		StringEnum(["project", "user"] as const, {
			description: "create/update/delete: this repository's .crew/ (default) or the user's resources",
		}),
	),
	background: Type.Optional(
		Type.Boolean({ description: "run/resume/requeue: keep going in a detached process; returns at once" }),
	),
	model: Type.Optional(Type.String({ description: "run: model for every worker (provider/id)" })),
});
type TeamParams = Static<typeof Params>;

/**
 * Models send "", 0, false or null for fields they mean to leave unset. Dropped before schema validation, which would
 * otherwise turn null into the string "null".
 */
export function dropUnset(args: unknown): TeamParams {
	if (typeof args !== "object" || args === null) return args as TeamParams;
	const kept = Object.entries(args).filter(([, v]) => v !== null && v !== "" && v !== 0 && v !== false);
	return Object.fromEntries(kept.map(([k, v]) => [k, typeof v === "string" ? v.trim() : v])) as TeamParams;
}

interface Result {
	content: { type: "text"; text: string }[];
	details: unknown;
}

function text(value: string, details: unknown = {}): Result {
	return { content: [{ type: "text", text: value }], details };
}

interface Call {
	p: TeamParams;
	cwd: string;
	session?: string;
	signal?: AbortSignal;
	progress: (line: string) => void;
}

type Api = typeof import("../api/index.js");
type Render = typeof import("../cli/render.js");
type Lifecycle = typeof import("../api/lifecycle.js");

async function write(c: Call, mode: "create" | "update"): Promise<Result> {
	const { kind, name, content } = c.p;
	if (!kind || !name || !content)
		return text(`team ${mode} needs \`kind\`, \`name\` and \`content\`.`, { error: "usage" });
	const edit = await import("../api/edit.js");
	const file = await edit.writeResource({ cwd: c.cwd, kind, name, content, scope: c.p.scope ?? "project", mode });
	return text(`${mode === "create" ? "created" : "updated"} ${file}`, { file });
}

async function latest(api: Api, c: Call): Promise<string> {
	return c.p.runId ?? (await api.runStatus(c.cwd)).state.runId;
}

/** Cancel, resume and requeue act on one run the model names: never "the latest", which may be the user's. */
function named(c: Call, action: string): string | Result {
	return c.p.runId ?? text(`team ${action} needs \`runId\` (see action list).`, { error: "usage" });
}

type Handler = (c: Call, api: Api, render: Render, lifecycle: () => Promise<Lifecycle>) => Promise<Result>;

function notYet(action: (typeof LATER)[number]): Handler {
	return async () =>
		text(`team ${action} is not available yet in this version of pi-crew.`, { error: "not-available" });
}

const HANDLERS: Record<Action, Handler> = {
	async run(c, api, render) {
		if (!c.p.team || !c.p.goal)
			return text("team run needs both `team` and `goal` (see action recommend).", { error: "usage" });
		const view = await api.runTeam({
			cwd: c.cwd,
			team: c.p.team,
			goal: c.p.goal,
			workflow: c.p.workflow,
			model: c.p.model,
			sessionModel: c.session,
			background: c.p.background === true,
			signal: c.signal,
			onEvent: (event, state) => {
				const line = render.progressLine(event, state);
				if (line) c.progress(line);
			},
		});
		return text(`${render.renderRun(view)}\nsummary: ${view.paths.summary}`, api.runJson(view));
	},
	async plan(c, api, render) {
		if (!c.p.team) return text("team plan needs `team`.", { error: "usage" });
		const plan = await api.planTeam(c.cwd, c.p.team, c.p.workflow);
		return text(render.renderPlan(plan), plan);
	},
	async recommend(c, api) {
		if (!c.p.goal) return text("team recommend needs `goal`.", { error: "usage" });
		const ranked = await api.recommend(c.cwd, c.p.goal);
		const lines = ranked
			.slice(0, 3)
			.map((r) => `${r.team} (score ${r.score}): ${r.reasons.slice(0, 3).join("; ") || "no specific match"}`);
		return text(lines.join("\n"), { recommendations: ranked });
	},
	async status(c, api, render) {
		const view = await api.runStatus(c.cwd, c.p.runId);
		return text(render.renderRun(view), api.runJson(view));
	},
	async list(c, api) {
		const { runs, broken } = await api.listRuns(c.cwd);
		const lines = [
			...runs.map((v) => `${v.state.runId}  ${v.status}  ${v.state.team}  ${v.state.goal.split("\n")[0]}`),
			...broken.map((b) => `${b.runId}  unreadable: ${b.error}`),
		];
		return text(lines.join("\n") || "no runs yet", { runs: runs.map((v) => api.runJson(v)), broken });
	},
	async events(c, api) {
		const runId = await latest(api, c);
		const { events, problems } = await api.runEvents(c.cwd, runId);
		const tail = events.slice(-EVENTS_SHOWN);
		const cut =
			events.length > tail.length ? `(${events.length - tail.length} earlier events: pi-crew events ${runId})\n` : "";
		return text(cut + tail.map((e) => `${e.seq} ${e.type} ${e.taskId ?? ""}`).join("\n"), { events: tail, problems });
	},
	async summary(c, api) {
		const { text: summary, path } = await api.runSummary(c.cwd, c.p.runId);
		return text(summary, { path });
	},
	async artifacts(c, api) {
		const files = await api.runArtifacts(c.cwd, c.p.runId);
		return text(files.join("\n"), { files });
	},
	async cancel(c, api, _render, lifecycle) {
		const runId = named(c, "cancel");
		if (typeof runId !== "string") return runId;
		const result = await (await lifecycle()).cancel(c.cwd, runId);
		return text(`run ${runId}: ${result.outcome} (${result.view.status})`, api.runJson(result.view));
	},
	async resume(c, api, render, lifecycle) {
		const runId = named(c, "resume");
		if (typeof runId !== "string") return runId;
		const view = await (await lifecycle()).resume({
			cwd: c.cwd,
			runId,
			background: c.p.background === true,
			signal: c.signal,
		});
		return text(render.renderRun(view), api.runJson(view));
	},
	async deadletter(c, _api, _render, lifecycle) {
		const letters = await (await lifecycle()).listDeadLetters(c.cwd, c.p.runId);
		const lines = letters.map((d) => `${d.runId} ${d.taskId} ${d.reason}: ${d.detail}`);
		return text(lines.join("\n") || "no dead-lettered tasks", { deadLetters: letters });
	},
	async requeue(c, api, render, lifecycle) {
		const l = await lifecycle();
		const runId = named(c, "requeue");
		if (typeof runId !== "string") return runId;
		const ids = c.p.taskId ? [c.p.taskId] : (await l.listDeadLetters(c.cwd, runId)).map((d) => d.taskId);
		if (ids.length === 0) return text(`run ${runId} has no dead-lettered tasks`, { error: "usage" });
		const view = await l.resume({
			cwd: c.cwd,
			runId,
			requeue: ids,
			background: c.p.background === true,
			signal: c.signal,
		});
		return text(render.renderRun(view), api.runJson(view));
	},
	async get(c, api) {
		if (!c.p.name) return text("team get needs `name` (an agent, team or workflow).", { error: "usage" });
		const found = await api.getResource(c.cwd, c.p.name);
		if (found.length === 0) return text(`no agent, team or workflow named "${c.p.name}"`, { error: "not-found" });
		return text(found.map((r) => `${r.kind} ${r.name} (${r.scope}, ${r.file})\n\n${r.text}`).join("\n\n---\n\n"), {
			resources: found,
		});
	},
	create: (c) => write(c, "create"),
	update: (c) => write(c, "update"),
	async delete(c) {
		if (!c.p.kind || !c.p.name) return text("team delete needs `kind` and `name`.", { error: "usage" });
		const file = await (await import("../api/edit.js")).deleteResource(
			c.cwd,
			c.p.kind,
			c.p.name,
			c.p.scope ?? "project",
		);
		return text(`deleted ${file}`, { file });
	},
	async validate(c, api) {
		const { problems } = await api.validateResources(c.cwd);
		return text(problems.map(api.formatProblem).join("\n") || "all resources valid", { problems });
	},
	async doctor(c) {
		const report = await (await import("../api/doctor.js")).doctor(c.cwd);
		const lines = report.checks.map((k) => `${k.level} ${k.name}: ${k.detail}${k.hint ? ` (fix: ${k.hint})` : ""}`);
		return text(lines.join("\n"), report);
	},
	async config(c, api) {
		const effective = await api.effectiveConfig(c.cwd);
		return text(JSON.stringify(effective, null, 2), effective);
	},
	export: notYet("export"),
	import: notYet("import"),
	prune: notYet("prune"),
	forget: notYet("forget"),
	cleanup: notYet("cleanup"),
};

export function registerTeamTool(pi: ExtensionAPI): void {
	pi.registerTool({
		name: "team",
		label: "Team",
		description:
			"Run a team of pi agents (a workflow DAG of role-specific workers) on this repository, and manage runs. " +
			"Actions: run (team + goal; background to return at once), plan (the task graph, nothing runs), recommend " +
			"(a team for a goal), status, list, events, summary, artifacts, cancel, resume, deadletter, requeue, get " +
			"(an agent/team/workflow), create/update/delete (a project or user resource, validated first), validate, doctor, " +
			"config.",
		promptSnippet: "Delegate multi-step work to a team of agents (explore, plan, execute, verify)",
		parameters: Params,
		prepareArguments: dropUnset,
		async execute(_id, params, signal, onUpdate, ctx) {
			const [api, render] = await Promise.all([import("../api/index.js"), import("../cli/render.js")]);
			const call: Call = {
				p: params,
				cwd: ctx.cwd,
				session: ctx.model ? `${ctx.model.provider}/${ctx.model.id}` : undefined,
				signal,
				progress: (line) => onUpdate?.(text(line)),
			};
			try {
				if (STARTS_WORK.has(params.action)) {
					const profile = (await api.effectiveConfig(ctx.cwd)).autonomy;
					const { mayStartRuns, refusal } = await import("./autonomy.js");
					if (!mayStartRuns(profile)) return text(refusal(profile, params.action), { error: "autonomy", profile });
				}
				return await HANDLERS[params.action](call, api, render, () => import("../api/lifecycle.js"));
			} catch (err) {
				return text(`team ${params.action} failed: ${(err as Error).message}`, { error: (err as Error).name });
			}
		},
	});
}
