/**
 * The `team` tool's actions (registered in team-tool.ts), loaded on its first call: each a thin call into the api,
 * returning compact text for the model and structured `details`.
 */
import type { ExtensionContext } from "../host.js";
import { inert } from "../util/inert.js";
import { applyRun } from "./apply.js";
import { type Confirm, confirmRemoval, confirmUserScope } from "./confirm.js";
import { inertUi } from "./inert-ui.js";
import { lazy } from "./lazy.js";
import { type Action, API_OPERATIONS, type TeamParams, type TeamToolHooks } from "./team-tool.js";
import type { Starter } from "./wake.js";

/** The events action shows the model the last ones only: a long run's log would flood its context. */
const EVENTS_SHOWN = 50;

/** Actions that start or stop agents or change resources: the autonomy profile decides if the model may call them. */
const NEEDS_AUTONOMY: Partial<Record<Action, string>> = {
	run: "start runs",
	resume: "resume runs",
	requeue: "requeue tasks",
	cancel: "cancel runs",
	steer: "steer agents",
	respond: "answer workers' questions",
	approve: "approve or reject plans",
	create: "create resources",
	update: "change resources",
	delete: "delete resources",
	import: "import runs",
	prune: "prune runs",
	forget: "forget runs",
	cleanup: "clean up run files",
	apply: "apply runs' work",
};

/** Actions that delete run data: besides the autonomy profile, the user confirms each (no dry run needs either). */
const DESTRUCTIVE = new Set<Action>(["prune", "forget", "cleanup"]);

interface Result {
	content: { type: "text"; text: string }[];
	details: unknown;
}

/** A result: its text (answers, goals, names, reasons from runs) reaches pi's screen, which keeps C1 and bidi marks. */
function text(value: string, details: unknown = {}): Result {
	return { content: [{ type: "text", text: inert(value) }], details };
}

interface Call {
	p: TeamParams;
	cwd: string;
	session?: string;
	signal?: AbortSignal;
	progress: (line: string) => void;
	/** Asks the user (interactive sessions only). */
	confirm?: Confirm;
	resourcesChanged: () => void;
	/**
	 * The live view follows a run this call started or resumed (`since`: notify only what happens from then;
	 * `background`: the run wakes the session's agent when it ends or asks).
	 */
	runStarted: (runId: string, since?: string, background?: Starter) => void;
}

type Api = Awaited<ReturnType<typeof lazy.api>>;
type Render = Awaited<ReturnType<typeof lazy.render>>;
type Lifecycle = Awaited<ReturnType<typeof lazy.lifecycle>>;

/** `kind` as a resource kind (`run` and `diagnostics` belong to export). */
function resourceKind(kind: TeamParams["kind"]): "agent" | "team" | "workflow" | undefined {
	if (kind === "diagnostics" || kind === "run")
		throw new Error(`kind ${kind} is for export; resources are agent, team or workflow.`);
	return kind;
}

async function write(c: Call, mode: "create" | "update"): Promise<Result> {
	const { name, content } = c.p;
	const kind = resourceKind(c.p.kind);
	if (!kind || !name || !content)
		return text(`team ${mode} needs \`kind\`, \`name\` and \`content\`.`, { error: "usage" });
	await confirmUserScope(c.confirm, c.p.scope, `${mode} ${kind} "${name}"`);
	const edit = await lazy.edit();
	const file = await edit.writeResource({ cwd: c.cwd, kind, name, content, scope: c.p.scope ?? "project", mode });
	c.resourcesChanged();
	return text(`${mode === "create" ? "created" : "updated"} ${file}`, { file });
}

async function latest(api: Api, c: Call): Promise<string> {
	return c.p.runId ?? (await api.runStatus(c.cwd)).state.runId;
}

/** Cancel, steer, respond, approve, resume and requeue act on one run the model names: never "the latest", which may be the user's. */
function named(c: Call, action: string): string {
	if (!c.p.runId) throw new Error(`team ${action} needs \`runId\` (see action list).`);
	return c.p.runId;
}

type Handler = (c: Call, api: Api, render: Render, lifecycle: () => Promise<Lifecycle>) => Promise<Result>;

const HANDLERS: Record<Action, Handler> = {
	async run(c, api, render) {
		if (!c.p.team || !c.p.goal) throw new Error("team run needs both `team` and `goal` (see action recommend).");
		let tracked = false;
		const view = await api.runTeam({
			cwd: c.cwd,
			team: c.p.team,
			goal: c.p.goal,
			workflow: c.p.workflow,
			model: c.p.model,
			sessionModel: c.session,
			...(c.p.scenario ? { scenario: c.p.scenario, confineScenario: true } : {}),
			background: c.p.background === true,
			...(c.p.isolation ? { isolation: c.p.isolation } : {}),
			signal: c.signal,
			onEvent: (event, state) => {
				if (!tracked) c.runStarted(event.runId);
				tracked = true;
				const line = render.progressLine(event, state);
				if (line) c.progress(line);
			},
		});
		if (c.p.background === true) {
			c.runStarted(view.state.runId, undefined, "agent");
			return text(`${render.renderRun(view)}\nsummary: ${view.paths.summary}`, api.runJson(view));
		}
		// The team's answer first: what the session's agent acts on. The task tree and files follow.
		const answer = await api.runAnswer(view);
		return text(`${answer}\n\n---\n${render.renderRun(view)}\nsummary: ${view.paths.summary}`, {
			...api.runJson(view),
			answer,
		});
	},
	async plan(c, api, render) {
		if (!c.p.team) throw new Error("team plan needs `team`.");
		const plan = await api.planTeam(c.cwd, c.p.team, c.p.workflow, c.session);
		return text(render.renderPlan(plan), plan);
	},
	async recommend(c, api) {
		if (!c.p.goal) throw new Error("team recommend needs `goal`.");
		const choice = await api.recommend(c.cwd, c.p.goal);
		if (!choice.matched) return text(`${choice.team}: ${choice.why}`, choice);
		const lines = choice.ranked
			.slice(0, 3)
			.map((r) => `${r.team} (score ${r.score}): ${r.reasons.slice(0, 3).join("; ")}`);
		return text(lines.join("\n"), choice);
	},
	async status(c, api, render) {
		const view = await api.runStatus(c.cwd, c.p.runId);
		return text(render.renderRun(view), api.runJson(view));
	},
	async list(c, api) {
		const { runs, broken } = await api.listRuns(c.cwd);
		const lines = [
			...runs.map((v) => `${v.state.runId}  ${api.shownStatus(v)}  ${v.state.team}  ${v.state.goal.split("\n")[0]}`),
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
		const result = await (await lifecycle()).cancel(c.cwd, runId);
		return text(`run ${runId}: ${result.outcome} (${result.view.status})`, api.runJson(result.view));
	},
	async steer(c, _api, _render, lifecycle) {
		const runId = named(c, "steer");
		if (!c.p.message) throw new Error("team steer needs `message` (and `taskId` when several tasks run).");
		const result = await (await lifecycle()).steer(c.cwd, runId, c.p.message, c.p.taskId, {
			followUp: c.p.followUp === true,
		});
		if (!result.delivered) throw new Error(`not delivered to run ${runId}: ${result.reason}`);
		return text(
			`${c.p.followUp ? "follow-up" : "steer message"} delivered to ${result.taskId} of run ${runId}`,
			result,
		);
	},
	async respond(c, _api, _render, lifecycle) {
		const runId = named(c, "respond");
		if (!c.p.taskId || !c.p.answer) throw new Error("team respond needs `taskId` and `answer`.");
		const done = await (await lifecycle()).respond(c.cwd, runId, c.p.taskId, c.p.answer);
		const queued = done.queued ? " (the run is not going: delivered when it is resumed)" : "";
		return text(`answered ${c.p.taskId} of run ${runId}: ${done.text}${queued}`, done);
	},
	async approve(c, _api, _render, lifecycle) {
		const runId = named(c, "approve");
		const result = await (await lifecycle()).approve(c.cwd, runId, {
			taskId: c.p.taskId,
			drop: c.p.drop,
			reject: c.p.reject,
		});
		const dropped = result.drop?.length ? ` (dropped: ${result.drop.join(", ")})` : "";
		return text(
			result.outcome === "approved"
				? `approved ${result.taskId} of run ${runId}${dropped}: the run goes on`
				: `rejected ${result.taskId} of run ${runId}: its worker revises its answer with the feedback`,
			result,
		);
	},
	async resume(c, api, render, lifecycle) {
		const runId = named(c, "resume");
		c.runStarted(runId, new Date().toISOString(), c.p.background === true ? "agent" : undefined);
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
		const ids = c.p.taskId ? [c.p.taskId] : (await l.listDeadLetters(c.cwd, runId)).map((d) => d.taskId);
		if (ids.length === 0) throw new Error(`run ${runId} has no dead-lettered tasks`);
		c.runStarted(runId, new Date().toISOString(), c.p.background === true ? "agent" : undefined);
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
		if (!c.p.name) throw new Error("team get needs `name` (an agent, team or workflow).");
		const found = await api.getResource(c.cwd, c.p.name);
		if (found.length === 0) throw new Error(`no agent, team or workflow named "${c.p.name}"`);
		return text(found.map((r) => `${r.kind} ${r.name} (${r.scope}, ${r.file})\n\n${r.text}`).join("\n\n---\n\n"), {
			resources: found,
		});
	},
	create: (c) => write(c, "create"),
	update: (c) => write(c, "update"),
	async delete(c) {
		const kind = resourceKind(c.p.kind);
		if (!kind || !c.p.name) throw new Error("team delete needs `kind` and `name`.");
		await confirmUserScope(c.confirm, c.p.scope, `delete ${kind} "${c.p.name}"`);
		const edit = await lazy.edit();
		const file = await edit.deleteResource(c.cwd, kind, c.p.name, c.p.scope ?? "project");
		c.resourcesChanged();
		return text(`deleted ${file}`, { file });
	},
	async validate(c, api) {
		const { problems } = await api.validateResources(c.cwd);
		return text(problems.map(api.formatProblem).join("\n") || "all resources valid", { problems });
	},
	async doctor(c) {
		const report = await (await lazy.doctor()).doctor(c.cwd, c.session);
		const lines = report.checks.map((k) => `${k.level} ${k.name}: ${k.detail}${k.hint ? ` (fix: ${k.hint})` : ""}`);
		return text(lines.join("\n"), report);
	},
	async config(c, api) {
		const effective = await api.effectiveConfig(c.cwd);
		return text(JSON.stringify(effective, null, 2), effective);
	},
	async api(c, api, _render, lifecycle) {
		const op = c.p.operation;
		if (!op) throw new Error(`team api needs \`operation\`: one of ${API_OPERATIONS.join(", ")}`);
		const data: unknown = await (async () => {
			switch (op) {
				case "status":
					return api.runJson(await api.runStatus(c.cwd, c.p.runId));
				case "list": {
					const { runs, broken } = await api.listRuns(c.cwd);
					return { runs: runs.map((v) => api.runJson(v)), broken };
				}
				case "events":
					return api.runEvents(c.cwd, await latest(api, c));
				case "deadletters":
					return (await lifecycle()).listDeadLetters(c.cwd, c.p.runId);
				case "plan":
					if (!c.p.team) throw new Error("team api plan needs `team`.");
					return api.planTeam(c.cwd, c.p.team, c.p.workflow, c.session);
				case "recommend":
					if (!c.p.goal) throw new Error("team api recommend needs `goal`.");
					return api.recommend(c.cwd, c.p.goal);
				case "config":
					return api.effectiveConfig(c.cwd);
				case "metrics-snapshot":
					return (await lazy.metrics()).metricsSnapshot({
						cwd: c.cwd,
						runId: c.p.runId,
						filter: c.p.filter,
					});
			}
		})();
		return text(JSON.stringify(data), data);
	},
	async metrics(c, _api, render) {
		const view = await (await lazy.metrics()).metricsSnapshot({
			cwd: c.cwd,
			runId: c.p.runId,
			filter: c.p.filter,
		});
		return text(`${render.renderMetrics(view.metrics)}\n(${view.runs} run(s) replayed)`, view);
	},
	async export(c) {
		if (c.p.kind === "run") {
			const { exportRun } = await lazy.bundle();
			const done = await exportRun(c.cwd, named(c, "export"), c.p.file, { confine: true });
			const skipped = done.manifest.skipped.map((s) => `\nnot exported: ${s.path}: ${s.why}`).join("");
			return text(
				`bundle of run ${done.manifest.runId} (${done.manifest.files.length} files, secrets redacted): ${done.path}${skipped}`,
				{ path: done.path, bytes: done.bytes, manifest: done.manifest },
			);
		}
		if (c.p.kind !== "diagnostics")
			throw new Error("team export needs `kind`: run (a run's bundle, with `runId`) or diagnostics.");
		const { path, report } = await (await lazy.metrics()).exportDiagnostics(c.cwd, c.p.file, {
			confine: true,
		});
		return text(`diagnostic report (schemaVersion ${report.schemaVersion}, secrets redacted): ${path}`, { path });
	},
	async import(c) {
		if (!c.p.file) throw new Error("team import needs `file`: a bundle made by export (kind run).");
		const done = await (await lazy.bundle()).importBundle(c.cwd, c.p.file, { confine: true });
		return text(
			`imported run ${done.runId} (${done.files} files) into ${done.dir}: foreign here, to inspect (status, events, summary); it is never resumed`,
			{ runId: done.runId, dir: done.dir, files: done.files, bytes: done.bytes },
		);
	},
	async prune(c) {
		if (!c.p.olderThan) throw new Error("team prune needs `olderThan` (e.g. 7d, 12h, 30m).");
		const prune = await lazy.prune();
		const req = {
			cwd: c.cwd,
			olderThanMs: prune.parseAge(c.p.olderThan),
			statuses: c.p.statuses ? prune.parseStatuses(c.p.statuses) : undefined,
			by: `team tool prune olderThan ${c.p.olderThan}`,
		};
		const planned = await prune.pruneRuns({ ...req, dryRun: true });
		const ids = planned.removed.map((r) => r.runId);
		let result = planned;
		if (!c.p.dryRun && ids.length > 0) {
			await confirmRemoval(c.confirm, c.p.action, `prune ${ids.length} run(s)`, ids);
			result = await prune.pruneRuns({ ...req, only: ids });
		}
		const lines = [
			...result.removed.map((r) => `${result.dryRun ? "would remove" : "removed"} ${r.runId} (${r.status})`),
			...result.skipped.map((s) => `left ${s.runId}: ${s.why}`),
		];
		return text(lines.join("\n") || `no run to prune (${result.kept} kept)`, result);
	},
	async forget(c) {
		const runId = named(c, "forget");
		const prune = await lazy.prune();
		const planned = await prune.forgetRun(c.cwd, runId, { dryRun: true });
		if (c.p.dryRun) return text(`would forget run ${runId} (${planned.status})`, { dryRun: true, ...planned });
		await confirmRemoval(c.confirm, c.p.action, `forget run ${runId} (${planned.status})`, [runId]);
		const done = await prune.forgetRun(c.cwd, runId);
		return text(`forgot run ${runId}: ${done.entries} files and directories removed`, done);
	},
	async apply(c) {
		const done = await applyRun(c.cwd, named(c, "apply"), c.p, { confirm: c.confirm });
		return text(done.text, done.details);
	},
	async cleanup(c) {
		const { cleanup } = await lazy.cleanup();
		const planned = await cleanup(c.cwd, { dryRun: true });
		const paths = planned.removed.map((r) => r.path);
		let result = planned;
		if (!c.p.dryRun && paths.length > 0) {
			const worktrees = planned.removed.filter((r) => r.kind === "worktree").length;
			const what = `remove ${paths.length - worktrees} leftover file(s)${worktrees ? ` and ${worktrees} merged worktree(s) with their branches` : ""}`;
			await confirmRemoval(c.confirm, c.p.action, what, paths);
			result = await cleanup(c.cwd, { only: paths }); // that very list: nothing found since goes unconfirmed
		}
		const lines = result.removed.map((r) => `${result.dryRun ? "would remove" : "removed"} ${r.path}: ${r.why}`);
		return text(lines.join("\n") || "nothing to clean up", result);
	},
};

/** One call of the tool: the autonomy profile's guard, then the action's handler. */
export async function execute(
	params: TeamParams,
	tool: {
		signal: AbortSignal | undefined;
		onUpdate: ((partial: Result) => void) | undefined;
		ctx: ExtensionContext;
		hooks: TeamToolHooks;
	},
): Promise<Result> {
	const { signal, onUpdate, ctx, hooks } = tool;
	const [api, render] = await Promise.all([lazy.api(), lazy.render()]);
	const call: Call = {
		p: params,
		cwd: ctx.cwd,
		session: ctx.model ? `${ctx.model.provider}/${ctx.model.id}` : undefined,
		signal,
		progress: (line) => onUpdate?.(text(line)),
		confirm: ctx.hasUI ? (title, message) => inertUi(ctx.ui).confirm(title, message) : undefined,
		resourcesChanged: hooks.resourcesChanged,
		runStarted: hooks.runStarted,
	};
	// Failures throw: pi marks the result as an error (a returned object never is).
	// A dry run only lists: it needs neither the profile nor a confirmation.
	const dry = params.dryRun === true && DESTRUCTIVE.has(params.action);
	const guarded = dry ? undefined : NEEDS_AUTONOMY[params.action];
	if (guarded) await (await lazy.autonomy()).assertAllowed(ctx.cwd, guarded);
	return await HANDLERS[params.action](call, api, render, () => lazy.lifecycle());
}
