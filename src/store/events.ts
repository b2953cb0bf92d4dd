/**
 * The closed vocabulary of a run: event types and their payloads, statuses, legal transitions and the state a log
 * folds to (the fold itself is store/fold.ts).
 */

import { type Static, Type } from "typebox";
import { BoundSetting, HEARTBEAT_LEVELS, type HeartbeatLevel, RunSettings } from "./settings.js";

export const EVENT_VERSION = 1;

export const TASK_STATUSES = ["pending", "running", "succeeded", "failed", "skipped", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_TASK: ReadonlySet<TaskStatus> = new Set(["succeeded", "failed", "skipped", "cancelled"]);

/** `interrupted` is never written: it is how a non-terminal run reads when its coordinator is gone. */
export type RunStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled" | "interrupted";
export const TERMINAL_RUN: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "cancelled"]);
/** Statuses a run may be removed in (prune): ended, or interrupted; never running or pending. */
export const REMOVABLE_RUN_STATUSES = [
	"succeeded",
	"failed",
	"cancelled",
	"interrupted",
] as const satisfies RunStatus[];

/** Ordinary transitions. Reopening (resume, requeue) is explicit: only `run.resumed` and `task.requeued` do it. */
export const TASK_TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
	pending: ["running", "skipped", "cancelled"],
	running: ["succeeded", "failed", "cancelled"],
	succeeded: [],
	failed: [],
	skipped: [],
	cancelled: [],
};

const Usage = Type.Object({
	input: Type.Number(),
	output: Type.Number(),
	cacheRead: Type.Number(),
	cacheWrite: Type.Number(),
	total: Type.Number(),
	/** What the provider says it cost, in US dollars (pi's usage.cost.total), when it says. */
	cost: Type.Optional(Type.Number()),
});
export type Usage = Static<typeof Usage>;

/** A closed set of strings (`{"enum": [...]}`), typed as their union. */
const literals = <const T extends string[]>(values: readonly [...T]) => Type.Enum(values);

const FINAL_RUN_STATUSES = ["succeeded", "failed", "cancelled"] as const;
export type FinalRunStatus = (typeof FINAL_RUN_STATUSES)[number];
/** How a message reaches a worker: see `task.message`. */
export const MESSAGE_MODES = ["steer", "follow-up", "message"] as const;
export type MessageMode = (typeof MESSAGE_MODES)[number];
const ApprovalPlanStep = Type.Object({
	id: Type.String(),
	role: Type.String(),
	task: Type.String(),
	dependsOn: Type.Array(Type.String()),
});
const DEAD_LETTER_REASONS = ["max-retries", "heartbeat-dead", "manual"] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** An agent as a worker needs it (see resources/schema.ts AgentDef), recorded in the log. */
const AgentDefinition = Type.Object({
	/** Where it came from: a repository's agent the user has not trusted stays fenced when the run resumes. */
	scope: literals(["builtin", "user", "project"] as const),
	untrusted: Type.Optional(Type.Boolean()),
	description: Type.String(),
	prompt: Type.String(),
	tools: Type.Optional(Type.Array(Type.String())),
	model: Type.Optional(Type.String()),
	thinking: Type.Optional(Type.String()),
	maxTurns: Type.Optional(Type.Integer()),
	/** Models tried in order when the task's model is rate-limited or its provider is down. */
	fallbackModels: Type.Optional(Type.Array(Type.String())),
	/** pi skills (names) its workers load: exactly these. */
	skills: Type.Optional(Type.Array(Type.String())),
	/** pi extensions its workers load: resolved paths, or package sources. */
	extensions: Type.Optional(Type.Array(Type.String())),
});
export type AgentDefinition = Static<typeof AgentDefinition>;

/**
 * Every event type's payload: the one definition of what a log line may hold. The types below derive from it, and a
 * reader validates each line's data against it (see event-log.ts). Fields are only ever added, as optional ones, so
 * logs of every earlier version stay valid (golden logs in test/golden/ prove it).
 */
export const EVENT_PAYLOADS = {
	"run.created": Type.Object({
		goal: Type.String(),
		team: Type.String(),
		workflow: Type.String(),
		cwd: Type.String(),
		settings: RunSettings,
		/** Who created the run (see config/owner.ts): a run without this user's mark is foreign here. */
		owner: Type.Optional(Type.String()),
	}),
	"run.started": Type.Object({
		pid: Type.Integer(),
		/** What the run's runtime says once (where its tasks run when that is not what was asked). */
		notes: Type.Optional(Type.Array(Type.String())),
	}),
	/** Continues an interrupted, cancelled or (for a requeue) failed run; `reopened` tasks go back to pending. */
	"run.resumed": Type.Object({
		pid: Type.Integer(),
		reopened: Type.Array(Type.String()),
		/** Agents whose files changed since the run started: it goes on with the definitions it recorded. */
		changedAgents: Type.Optional(Type.Array(Type.String())),
		/** The settings the run goes on with, when the config bounds what its log recorded (see `bounded`). */
		settings: Type.Optional(RunSettings),
		bounded: Type.Optional(Type.Array(BoundSetting)),
		notes: Type.Optional(Type.Array(Type.String())),
	}),
	"run.cancelling": Type.Object({ source: Type.String() }),
	/** The shared rate-limit gate: no task starts before `until`. */
	"run.throttled": Type.Object({ reason: Type.String(), delayMs: Type.Number(), until: Type.String() }),
	/**
	 * Needs a human: a burst of dead-letters, the coordinator stopped on an error (the run stays resumable), or
	 * something other than the coordinator wrote the run's log (the run ends failed).
	 */
	"run.alert": Type.Object({
		/** `sandbox-unavailable`: the config's `sandbox: auto` found no sandbox here; its workers run without one. */
		kind: literals(["deadletter-rate", "coordinator-error", "sandbox-unavailable", "log-tampered"] as const),
		message: Type.String(),
	}),
	"run.finished": Type.Object({
		status: literals(FINAL_RUN_STATUSES),
		reason: Type.Optional(Type.String()),
		summaryPath: Type.String(),
	}),
	"task.planned": Type.Object({
		role: Type.String(),
		agent: Type.String(),
		dependsOn: Type.Array(Type.String()),
		template: Type.String(),
		output: Type.String(),
		/** An adaptive planning step: its answer's plan adds tasks to the run. */
		adaptive: Type.Optional(Type.Boolean()),
		/** Added by the plan of this (adaptive) task. */
		from: Type.Optional(Type.String()),
		/** The step's own isolation (`isolation:` in the workflow), over the run's. */
		isolation: Type.Optional(Type.Enum(["worktree", "shared"])),
		/** The step's model, else its role's (over the agent's; `--model` is over it). */
		model: Type.Optional(Type.String()),
		/** The step's own pi skills, besides its agent's. */
		skills: Type.Optional(Type.Array(Type.String())),
		/** Its verify command, and the scope of the workflow that named it (a repository's runs only while trusted). */
		verify: Type.Optional(
			Type.Object({
				/** Absent: a reviewer agent only (written before reviewers existed, every verify had a command). */
				command: Type.Optional(Type.String()),
				/** A read-only reviewer agent that judges the task's work with a `verdict` call, on `model` if set. */
				agent: Type.Optional(Type.String()),
				model: Type.Optional(Type.String()),
				scope: literals(["builtin", "user", "project"]),
			}),
		),
		/** Its verdict not clean: `to` (a task it depends on) and every task between run again, at most `max` rounds. */
		loop: Type.Optional(
			Type.Object({ to: Type.String(), until: literals(["verify", "verdict"] as const), max: Type.Integer() }),
		),
		/** The scope of the workflow its task text comes from (an adaptive task: its planner's); absent: pi-crew's own. */
		scope: Type.Optional(literals(["builtin", "user", "project"])),
		/** Earlier tasks whose results it is given as inputs (besides those it depends on). */
		reads: Type.Optional(Type.Array(Type.String())),
		/** Its answer waits for a person's approval before the run goes on (`approval: true` of its step). */
		approval: Type.Optional(Type.Boolean()),
		/**
		 * What the agent was when the task was planned: a resumed run uses it, not the agent's file as it is now (the
		 * replay of a run never changes meaning). Absent in logs written before it was recorded.
		 */
		definition: Type.Optional(AgentDefinition),
	}),
	/** A pending task also waits for these (the tasks an adaptive plan added before it). */
	"task.depends": Type.Object({ add: Type.Array(Type.String()) }),
	"task.started": Type.Object({
		attempt: Type.Integer(),
		promptPath: Type.String(),
		/** The model this attempt runs on (`provider/id`); absent: pi's own default, or a log from before it was recorded. */
		model: Type.Optional(Type.String()),
		/** Whether this attempt ran in the OS sandbox (a child worker); absent: in-process, or a log from before. */
		sandboxed: Type.Optional(Type.Boolean()),
	}),
	"task.tool": Type.Object({
		tool: Type.String(),
		phase: literals(["start", "end"] as const),
		isError: Type.Optional(Type.Boolean()),
		/** The command or path it was called with (an end repeats its start's). */
		summary: Type.Optional(Type.String()),
		/** A failed bash call's exit status. */
		exitCode: Type.Optional(Type.Integer()),
		/** A failed call's error (its first line). */
		error: Type.Optional(Type.String()),
	}),
	"task.usage": Usage,
	/**
	 * pi retries a failed model call itself (a rate limit, an overloaded provider): `start` before its wait (its retry
	 * number, of how many, after how long, why), `end` when a retry answered or pi gave up. The attempt goes on.
	 */
	"task.model_retry": Type.Object({
		phase: literals(["start", "end"] as const),
		attempt: Type.Optional(Type.Integer()),
		maxAttempts: Type.Optional(Type.Integer()),
		delayMs: Type.Optional(Type.Number()),
		error: Type.Optional(Type.String()),
		success: Type.Optional(Type.Boolean()),
	}),
	"task.heartbeat": Type.Object({ level: literals(HEARTBEAT_LEVELS), silentMs: Type.Number() }),
	/** An attempt failed and another follows after `delayMs`; the task stays running. */
	"task.retrying": Type.Object({
		attempt: Type.Integer(),
		reason: Type.String(),
		delayMs: Type.Number(),
		rateLimited: Type.Optional(Type.Boolean()),
		/** The next attempt runs on this fallback model of the agent (the model failed with a rate limit or an outage). */
		fallback: Type.Optional(Type.String()),
	}),
	/**
	 * The host ran the step's verify command in the task's directory after the agent succeeded: `code` 0 passes; null
	 * when it did not exit (timed out, killed). Its output, redacted, is at `outputPath`.
	 */
	"task.verified": Type.Object({
		command: Type.String(),
		code: Type.Union([Type.Integer(), Type.Null()]),
		passed: Type.Boolean(),
		outputPath: Type.String(),
		reason: Type.Optional(Type.String()),
	}),
	/**
	 * A structured judgement of the task's work, never guessed from prose: its verify command's exit code (`command`), a
	 * reviewer agent's `verdict` call (`agent`), or its own agent's (`self`). `source`: the command or the reviewer.
	 */
	"task.verdict": Type.Object({
		clean: Type.Boolean(),
		findings: Type.String(),
		by: literals(["command", "agent", "self"] as const),
		source: Type.Optional(Type.String()),
	}),
	/**
	 * Its verdict was not clean and rounds are left: `reopened` (its loop's `to` task, every task between, and itself)
	 * go back to pending for round `round`; the `to` task gets `finding` (as a follow-up to its kept worker, else in
	 * its next prompt).
	 */
	"task.looped": Type.Object({
		round: Type.Integer({ minimum: 2 }),
		to: Type.String(),
		reopened: Type.Array(Type.String()),
		finding: Type.String(),
	}),
	"task.succeeded": Type.Object({
		resultPath: Type.String(),
		chars: Type.Integer(),
		/** The run's integration branch after this task's work was merged into it (isolated runs). */
		merged: Type.Optional(Type.String()),
	}),
	/**
	 * An isolated task's work is committed on its branch (`commit`, its tip; `base`, the commit it was made on: where
	 * the branch started from the integration branch) and waits for its merge.
	 */
	"task.committed": Type.Object({
		resultPath: Type.String(),
		chars: Type.Integer(),
		commit: Type.String(),
		base: Type.Optional(Type.String()),
	}),
	/**
	 * A writing task that worked in the checkout (a shared run, or a step with `isolation: shared`): the checkout's
	 * tree when an attempt started (`from`) and when it ended (`to`), what `diff` shows. Tasks that ran meanwhile, and
	 * the user, may have changed the checkout too. `skipped`: no tree was taken around the attempt, and why.
	 */
	"task.changed": Type.Union([
		Type.Object({ from: Type.String(), to: Type.String() }),
		Type.Object({ skipped: Type.String() }),
	]),
	/**
	 * Its merge conflicts with the integration branch: it needs a person; branch and worktree are kept as they are.
	 * `resolver`: why the resolver agent could not settle it (absent: none ran, config `merge.resolver: none`).
	 */
	"task.conflicted": Type.Object({
		files: Type.Array(Type.String()),
		branch: Type.String(),
		worktree: Type.String(),
		resolver: Type.Optional(Type.String()),
	}),
	/**
	 * Its merge conflicts and the resolver `agent` works on it in the task's worktree: the integration branch (`into`)
	 * merged into the task's branch (at `from`), the conflict markers left in `files` (engine/resolve.ts).
	 */
	"task.resolving": Type.Object({
		files: Type.Array(Type.String()),
		agent: Type.String(),
		from: Type.String(),
		into: Type.String(),
	}),
	/**
	 * The resolution ended: `commit`, the merge commit on the task's branch (both sides as parents), goes to the merge
	 * queue; or `failed`, why not (the task's branch is back at `from`).
	 */
	"task.resolved": Type.Object({ commit: Type.Optional(Type.String()), failed: Type.Optional(Type.String()) }),
	"task.failed": Type.Object({ reason: Type.String() }),
	"task.skipped": Type.Object({ reason: Type.String() }),
	"task.cancelled": Type.Object({ reason: Type.String() }),
	"task.deadlettered": Type.Object({ reason: literals(DEAD_LETTER_REASONS), detail: Type.String() }),
	/**
	 * Something said to the task's worker, logged before it is delivered (who sent what): a steer (read before the
	 * worker's next model call), a follow-up (after its current turn), or a `message` of another task's worker (see
	 * `task.steered` for the delivery; a task not started yet finds its messages in its prompt). `id` is unique in the run.
	 */
	"task.message": Type.Object({
		id: Type.String(),
		from: Type.String(),
		text: Type.String(),
		mode: literals(MESSAGE_MODES),
	}),
	/**
	 * The delivery of a message to the task's worker (`message`: its `task.message` id; absent in logs from before
	 * messages were logged, which kept only `chars`): delivered, or why not; `from`: who sent it.
	 */
	"task.steered": Type.Object({
		delivered: Type.Boolean(),
		chars: Type.Integer(),
		message: Type.Optional(Type.String()),
		from: Type.Optional(Type.String()),
		followUp: Type.Optional(Type.Boolean()),
		reason: Type.Optional(Type.String()),
	}),
	/**
	 * The task's worker asks a person (its `ask` tool) and waits: the task reads `waiting` until `task.answered` with
	 * the same `id`. The waiting counts against neither its timeout nor its heartbeat.
	 */
	"task.asked": Type.Object({
		id: Type.String(),
		text: Type.String(),
		choices: Type.Optional(Type.Array(Type.String())),
		default: Type.Optional(Type.String()),
	}),
	/** The answer to question `id` (`from`: who gave it; `defaulted`: nobody could answer, its default was taken). */
	"task.answered": Type.Object({
		id: Type.String(),
		text: Type.String(),
		from: Type.String(),
		defaulted: Type.Optional(Type.Boolean()),
	}),
	/**
	 * A step with `approval` has answered (its result at `resultPath`; round 1, 2... after each rejection): the run waits
	 * for a person to approve or reject it (`task.approved` / `task.rejected` with the same `id`).
	 */
	"task.awaiting_approval": Type.Object({
		id: Type.String(),
		round: Type.Integer({ minimum: 1 }),
		resultPath: Type.String(),
		/** An adaptive planner's: the tasks its plan would add (what `drop` may name). */
		plan: Type.Optional(Type.Array(ApprovalPlanStep)),
	}),
	/** Approved (`drop`: tasks of its adaptive plan that are not to run). */
	"task.approved": Type.Object({
		id: Type.String(),
		from: Type.String(),
		drop: Type.Optional(Type.Array(Type.String())),
	}),
	/** Rejected with `feedback`, which its worker gets as a follow-up; it answers again for another round. */
	"task.rejected": Type.Object({
		id: Type.String(),
		from: Type.String(),
		feedback: Type.String(),
	}),
	/** A task's worker tells the user something that needs no answer (its `message` tool, to `lead`). */
	"run.message": Type.Object({
		from: Type.String(),
		text: Type.String(),
	}),
	/** A failed or skipped task goes back to pending (dead-letter requeue). */
	"task.requeued": Type.Object({ reason: Type.String() }),
};
export type EventPayloads = { [K in keyof typeof EVENT_PAYLOADS]: Static<(typeof EVENT_PAYLOADS)[K]> };

type TaskDefinition = EventPayloads["task.planned"];

export type EventType = keyof EventPayloads;
/** Every event type: the keys of EVENT_PAYLOADS, so the list and the payloads cannot disagree. */
export const EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(EVENT_PAYLOADS));

export type CrewEvent = {
	[K in EventType]: {
		v: number;
		seq: number;
		ts: string;
		runId: string;
		taskId?: string;
		/** Correlation id `{runId}:{taskId}:{span}` (absent in logs written before it existed). */
		cid?: string;
		/** The loop round its task was in, from 2 on (absent: round 1, or a log written before loops existed). */
		round?: number;
		type: K;
		data: EventPayloads[K];
	};
}[EventType];

export interface Attempt {
	attempt: number;
	startedAt: string;
	endedAt?: string;
	/** Why the attempt ended without success. */
	reason?: string;
	/** The model it ran on, when the log says. */
	model?: string;
	/** Whether its verify command passed, when the step has one and it ran. */
	verified?: boolean;
}

/** A task: what `task.planned` said of it (its definition), and what the events since did to it. */
export interface TaskState extends TaskDefinition {
	id: string;
	status: TaskStatus;
	/** Number of the latest attempt (0 before the first). */
	attempt: number;
	attempts: Attempt[];
	/** Set by task.retrying: the next task.started continues the running task. */
	awaitingRetry: boolean;
	startedAt?: string;
	endedAt?: string;
	reason?: string;
	resultPath?: string;
	promptPath?: string;
	usage: Usage;
	toolCalls: number;
	heartbeat?: HeartbeatLevel;
	deadLetter?: DeadLetterReason;
	/** An isolated task's committed work, waiting for (or past) its merge; `base`: the commit it was made on. */
	committed?: { resultPath: string; chars: number; commit: string; base?: string };
	/** The checkout's tree when its first attempt there started and when its latest one ended (`task.changed`). */
	changed?: { from: string; to: string };
	/** Why an attempt of it in the checkout was not recorded (no tree taken): its diff may miss that attempt's work. */
	unrecorded?: string;
	/** The integration commit that includes the task's work. */
	merged?: string;
	/** Its merge conflicts and the resolver agent is settling it (`task.resolving`, until `task.resolved`). */
	resolving?: { files: string[]; agent: string; from: string };
	/** How many resolutions of its merge were started (`merge-<n>` in its artifacts). */
	resolutions?: number;
	/** Its merge conflicted: where the work is and which files. The task reads as failed, needing attention. */
	conflict?: { files: string[]; branch: string; worktree: string };
	/**
	 * What a running task is doing: a tool call in progress (with its summary), else the model's turn, since when;
	 * `failed`: the tool call before this turn failed (`bash npm test (exit 1)`); `retrying`: pi retries the model call
	 * (its retry number).
	 */
	activity?: { tool?: string; summary?: string; since: string; failed?: string; retrying?: number };
	/** A person's turn: its worker's question (`task.asked`), or its answer to approve (`task.awaiting_approval`). */
	waiting?: Waiting;
	/** What was said to it (`task.message`), oldest first; `delivered` once its delivery is logged. */
	messages?: TaskMessage[];
	/** The loop round it is in (`task.looped`); absent: 1. */
	round?: number;
	/** What its latest round was sent back for (it is the `to` task of a loop): its next attempt must address it. */
	finding?: string;
	/** Its latest verdict (`task.verdict`). */
	verdict?: Verdict;
}

/** A verdict and the `seq` of its event: which verdict it is (an attempt's own, or an earlier round's). */
export type Verdict = Pick<EventPayloads["task.verdict"], "clean" | "findings" | "by"> & { seq: number };

export type Waiting =
	| { kind: "question"; id: string; text: string; choices?: string[]; default?: string; since: string }
	| { kind: "approval"; id: string; round: number; resultPath: string; plan?: PlanStepView[]; since: string };

/** A task an adaptive plan would add, as its approval shows it. */
export type PlanStepView = Static<typeof ApprovalPlanStep>;

export interface TaskMessage {
	id: string;
	from: string;
	text: string;
	mode: MessageMode;
	at: string;
	delivered?: boolean;
}

/** A task's status as people are shown it: a running task whose worker waits for a person reads `waiting`. */
export type ShownTaskStatus = TaskStatus | "waiting";

export function shownStatus(task: Pick<TaskState, "status" | "waiting">): ShownTaskStatus {
	return task.waiting && (task.status === "running" || task.status === "pending") ? "waiting" : task.status;
}

export interface RunState {
	runId: string;
	/** As written in the log; callers that know the coordinator is gone report `interrupted`. */
	status: RunStatus;
	goal: string;
	team: string;
	workflow: string;
	cwd: string;
	settings: RunSettings;
	createdAt: string;
	/** When the current coordinator took the run (run.started or the latest run.resumed): wall budgets count from here. */
	activeSince?: string;
	endedAt?: string;
	reason?: string;
	summaryPath?: string;
	/** While set and in the future, no task starts (rate-limit gate). */
	throttledUntil?: string;
	resumes: number;
	tasks: Map<string, TaskState>;
	usage: Usage;
	lastSeq: number;
	/** An isolated run's integration branch after its latest merge (`task.succeeded`'s `merged`). */
	merged?: string;
	/** The checkout's tree after the latest task that worked in it ended (`task.changed`). */
	tree?: string;
	/** Why the latest attempt that worked in the checkout left no tree: `tree` may miss its changes and later ones. */
	treeUnrecorded?: string;
	/** When the latest event was written: the last sign of life of a coordinator that is gone. */
	lastAt: string;
	/** What tasks' workers told the user (`run.message`), oldest first. */
	messages: { from: string; text: string; at: string }[];
	/** Events the fold refused (illegal transitions, unknown tasks); kept so they are reported, never applied. */
	anomalies: string[];
	/** Whether the fold refused the latest event (it changed nothing). */
	lastRefused: boolean;
}

/**
 * Usage as people are shown it (status --json, summary.md, metrics): `input` is every prompt token. pi's own `input`
 * counts only the prompt tokens its provider's cache did not serve or store (a cached provider, and the scripted
 * model, report 0 there); `cacheRead` and `cacheWrite` are the cached parts of `input`, not added to it.
 */
export function shownUsage(u: Usage): Usage {
	return { ...u, input: u.input + u.cacheRead + u.cacheWrite };
}

export function emptyUsage(): Usage {
	return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 };
}
