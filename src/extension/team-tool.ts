/**
 * The `team` tool's registration: one tool, one `action` field. Registered at every pi start, so it holds the schema
 * and the description only; the actions (team-actions.ts) load on the first call.
 */
import type { XStatic } from "typebox/schema";
import type { ExtensionAPI } from "../host.js";
import { dropUnset } from "../util/tool-args.js";
import { lazy } from "./lazy.js";
import type { Starter } from "./wake.js";

/** The `api` action: raw JSON of the read operations, for scripts and other extensions driving the tool. */
export const API_OPERATIONS = [
	"status",
	"list",
	"events",
	"deadletters",
	"plan",
	"recommend",
	"config",
	"metrics-snapshot",
] as const;

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
	"steer",
	"respond",
	"approve",
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
	"api",
	"metrics",
	"export",
	"import",
	"prune",
	"forget",
	"cleanup",
	"apply",
] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * The tool's parameters as plain JSON Schema (what pi validates tool calls with), typed by TypeBox's inference from
 * it: importing TypeBox itself would cost pi ~140 ms at every start. Enums are plain `enum` lists, which every
 * provider accepts.
 */
const Params = {
	type: "object",
	properties: {
		action: {
			type: "string",
			enum: ACTIONS,
			description: "what to do (run a team, plan one, inspect runs and resources)",
		},
		team: { type: "string", description: "run/plan: the team (e.g. default, fast-fix, review, research)" },
		goal: { type: "string", description: "run/recommend: what the team should achieve" },
		workflow: { type: "string", description: "run/plan: a workflow other than the team's default" },
		runId: { type: "string", description: "a run (default: the latest)" },
		taskId: {
			type: "string",
			description:
				"requeue: one dead-lettered task (default: all of the run's); steer: the running task; respond: the task that asks; approve: the task waiting for approval (default: the only one)",
		},
		answer: {
			type: "string",
			description: "respond: the answer to the task's question (a choice, when it lists choices)",
		},
		drop: {
			type: "array",
			items: { type: "string" },
			description: "approve: tasks of the adaptive plan not to run",
		},
		reject: { type: "string", description: "approve: reject the answer with this feedback; the worker revises it" },
		message: { type: "string", description: "steer: what to tell the task's worker" },
		followUp: {
			type: "boolean",
			description: "steer: deliver after the worker's current turn (default: before its next model call)",
		},
		name: { type: "string", description: "get/create/update/delete: the agent, team or workflow" },
		kind: {
			type: "string",
			enum: ["agent", "team", "workflow", "run", "diagnostics"],
			description:
				"create/update/delete: agent, team or workflow; export: run (a run's bundle, with runId) or diagnostics",
		},
		filter: {
			type: "string",
			description: "metrics, api metrics-snapshot: metric names to show, `*` as wildcard (crew.task.*)",
		},
		file: {
			type: "string",
			description:
				"export: where to write, inside the repository (default .crew/exports/<runId>.tar.gz for a run, .crew/diagnostics-<time>.json); import: the bundle, inside the repository",
		},
		olderThan: { type: "string", description: "prune: remove runs whose last event is older than this (7d, 12h, 30m)" },
		statuses: {
			type: "array",
			items: { type: "string", enum: ["succeeded", "failed", "cancelled", "interrupted"] },
			description: "prune: the statuses to remove (default succeeded, failed, cancelled)",
		},
		dryRun: { type: "boolean", description: "prune/forget/cleanup: list what would be removed; remove nothing" },
		content: { type: "string", description: "create/update: the whole markdown file (YAML frontmatter + body)" },
		operation: { type: "string", enum: API_OPERATIONS, description: "api: which read operation's raw JSON to return" },
		scope: {
			type: "string",
			enum: ["project", "user"],
			description: "create/update/delete: this repository's .crew/ (default) or the user's resources",
		},
		background: {
			type: "boolean",
			description: "run/resume/requeue: keep going in a detached process; returns at once",
		},
		model: { type: "string", description: "run: model for every worker (provider/id)" },
		scenario: {
			type: "string",
			description:
				"run: rehearse offline: every worker on the scripted model (crew-scripted/scripted), acting out this scenario file (YAML, inside the repository); no real model is called",
		},
		isolation: {
			type: "string",
			enum: ["worktree", "shared"],
			description:
				"run: worktree = each writing task in a git worktree of its own, merged into the run's integration branch (the user's checkout is untouched); shared = all in the checkout. Default: the team's",
		},
		branch: { type: "string", description: "apply: make this branch with the run's work (else: fast-forward)" },
		squash: { type: "boolean", description: "apply with branch: the run's work as one commit" },
		push: { type: "string", description: "apply with branch: push it to this git remote" },
	},
	required: ["action"],
} as const;
export type TeamParams = XStatic<typeof Params>;

/** What the tool tells the extension: resources changed (the policy is read again), a run started (the live view). */
export interface TeamToolHooks {
	resourcesChanged(): void;
	runStarted(runId: string, since?: string, background?: Starter): void;
}

export function registerTeamTool(pi: ExtensionAPI, hooks: TeamToolHooks): void {
	pi.registerTool({
		name: "team",
		label: "Team",
		description:
			"Run a team of pi agents (a workflow DAG of role-specific workers) on this repository, and manage runs. " +
			"Actions: run (team + goal; background to return at once), plan (the task graph, nothing runs), recommend " +
			"(a team for a goal), status, list, events, summary, artifacts, cancel, steer (runId + message [+ taskId, " +
			"followUp]: tell a running task's worker something), respond (runId + taskId + answer: a task's question), " +
			"approve (runId [+ taskId, drop, or reject with feedback]: an answer waiting for approval), resume, deadletter, requeue, get " +
			"(an agent/team/workflow), create/update/delete (a project or user resource, validated first), validate, doctor, " +
			"config, metrics (counts, durations, tokens; filter by name), export (kind run: a run's redacted bundle; kind " +
			"diagnostics: a redacted report file), import (a bundle, as a foreign read-only run), prune (olderThan), forget, " +
			"cleanup (these three need the user's confirmation; dryRun lists only), apply (runId: fast-forward the " +
			"checkout, or with branch [+ squash, push] make that branch with the run's work and a pr.md description), " +
			"api (raw JSON of a read operation, metrics-snapshot included).",
		promptSnippet: "Delegate multi-step work to a team of agents (explore, plan, execute, verify)",
		parameters: Params,
		prepareArguments: (args) => dropUnset<TeamParams>(args),
		async execute(_id, params, signal, onUpdate, ctx) {
			return (await lazy.teamActions()).execute(params, { signal, onUpdate, ctx, hooks });
		},
	});
}
