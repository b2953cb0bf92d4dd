/** A run's settings as its log records them (`run.created`, `run.resumed`): limits, policies and where each came from. */
import { type Static, Type } from "typebox";

/** Retry of failed attempts (opt-in). Present in a run's settings means autoRetry is on. */
export const RetryPolicy = Type.Object({
	maxAttempts: Type.Integer(),
	backoffMs: Type.Number(),
	factor: Type.Number(),
	/** ± this fraction of the delay, drawn from an injected random source. */
	jitter: Type.Number(),
});
export type RetryPolicy = Static<typeof RetryPolicy>;

export const Budget = Type.Object({
	maxTokens: Type.Optional(Type.Number()),
	/** US dollars, as pi's usage.cost reports them (the model's pricing). */
	maxCost: Type.Optional(Type.Number()),
	maxTasks: Type.Optional(Type.Number()),
	maxWallMs: Type.Optional(Type.Number()),
});
export type Budget = Static<typeof Budget>;

export const HEARTBEAT_LEVELS = ["healthy", "warn", "stale", "dead"] as const;
export type HeartbeatLevel = (typeof HEARTBEAT_LEVELS)[number];
export const HeartbeatPolicy = Type.Object({
	warnMs: Type.Number(),
	staleMs: Type.Number(),
	deadMs: Type.Number(),
	pollMs: Type.Number(),
	/** Consecutive dead polls before the worker is killed and its task dead-lettered. */
	deadTicks: Type.Number(),
});
export type HeartbeatPolicy = Static<typeof HeartbeatPolicy>;

/** Everything a coordinator needs to run (or resume) the run, fixed when it is created. */
export const RunSettings = Type.Object({
	runtime: Type.String(),
	concurrency: Type.Integer({ minimum: 1 }),
	taskTimeoutMs: Type.Number(),
	/** `--model`: every worker's model. */
	model: Type.Optional(Type.String()),
	/** For agents that name no model. */
	defaultModel: Type.Optional(Type.String()),
	/**
	 * What each model the run names (an alias, a bare id) resolved to before it started, as `provider/id`: the
	 * workers run these, so a resume runs what the run began with.
	 */
	models: Type.Optional(Type.Record(Type.String(), Type.String())),
	scenario: Type.Optional(Type.String()),
	retry: Type.Optional(RetryPolicy),
	budget: Type.Optional(Budget),
	heartbeat: HeartbeatPolicy,
	/** Tools no worker of the run gets (the user's and the repository's config: `tools.deny`). */
	denyTools: Type.Optional(Type.Array(Type.String())),
	/** Writing tasks work in git worktrees of their own and are merged into the run's integration branch. */
	isolation: Type.Optional(Type.Literal("worktree")),
	/** The commit an isolated run started from (the checkout's HEAD then). */
	baseCommit: Type.Optional(Type.String()),
	/**
	 * A shared run in a git repository: the checkout's tree when it started, tracked and untracked files (a tree of
	 * objects in the repository, workspace/snapshot.ts): what `diff` compares the run's work with.
	 */
	baseTree: Type.Optional(Type.String()),
	/**
	 * Nobody can answer the run's questions or approve its steps (a headless run without a terminal, `--no-input`):
	 * `fail` the task with the question as its reason, or take the `default` answer (approve), said in the log.
	 * Absent: a person may answer (`pi-crew respond`, pi), however long it takes.
	 */
	unattended: Type.Optional(Type.Enum(["fail", "default"])),
	/** How many times a step's answer may be rejected before its task fails (config `approvalRounds`; absent: 3). */
	approvalRounds: Type.Optional(Type.Integer({ minimum: 1 })),
	/**
	 * An isolated run's conflicted merges go to this resolver agent first (config `merge`; absent: a conflict needs a
	 * person at once, as in runs made before resolvers).
	 */
	merge: Type.Optional(Type.Object({ resolver: Type.String(), model: Type.Optional(Type.String()) })),
	/**
	 * The reviewer agent of every writing task that names none (its team's `verify`, else the config's): given to the
	 * tasks an adaptive plan adds, as to the planned ones.
	 */
	reviewer: Type.Optional(
		Type.Object({
			agent: Type.String(),
			model: Type.Optional(Type.String()),
			scope: Type.Enum(["builtin", "user", "project"]),
		}),
	),
	/** How many times a reviewer agent may send a task's answer back before the task fails (config `verifyRounds`; absent: 3). */
	verifyRounds: Type.Optional(Type.Integer({ minimum: 1 })),
	/** Why a shared run recorded no `baseTree` (no task of its plan writes; no git; the checkout too large to hash). */
	noBaseTree: Type.Optional(Type.String()),
});
export type RunSettings = Static<typeof RunSettings>;

/** Where a setting came from: pi-crew's default, the user's config, the repository's `.crew/config.*`, or the run. */
export const SettingSource = Type.Object({
	layer: Type.Enum(["default", "user", "project", "run"]),
	file: Type.Optional(Type.String()),
	line: Type.Optional(Type.Integer()),
});
export type SettingSource = Static<typeof SettingSource>;

/**
 * A setting the log recorded that a resume did not take as it was: above what the effective config allows now, so the
 * run goes on with `applied` (from `source`). `recorded` is absent where the run had no limit.
 */
export const BoundSetting = Type.Object({
	field: Type.String(),
	recorded: Type.Optional(Type.Union([Type.Number(), Type.Array(Type.String())])),
	applied: Type.Union([Type.Number(), Type.Array(Type.String())]),
	source: SettingSource,
});
export type BoundSetting = Static<typeof BoundSetting>;
