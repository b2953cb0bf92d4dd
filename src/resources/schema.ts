/** The frontmatter schemas of agents, teams and workflows: the single source of truth for their fields. */
import { type Static, Type } from "typebox";
import { THINKING_LEVELS } from "../config/home.js";
import { MODEL_REF, RESOURCE_NAME } from "../util/names.js";

const Name = Type.String({ pattern: RESOURCE_NAME.source });
const StepId = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" });
const Strings = Type.Array(Type.String());
/**
 * A model: `provider/id`, or a name pi's registry resolves before a run starts (a bare id, a Claude alias such as
 * `sonnet`; api/models.ts), with a did-you-mean when nothing or several match.
 */
const ModelRef = Type.String({
	pattern: MODEL_REF.source,
	description:
		"a model as provider/id, a bare id or an alias, e.g. anthropic/claude-sonnet-4 or sonnet (see: pi --list-models)",
});
/**
 * A pi skill by name: a directory (with its SKILL.md) or `<name>.md` in the user's skill directories, or the
 * repository's when it is trusted (see config/skills.ts). Never a path: a resource cannot point a worker at any file.
 */
export const SKILL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const Skills = Type.Array(
	Type.String({
		pattern: SKILL_NAME.source,
		description: "a skill's name (its directory under ~/.pi/agent/skills or ~/.agents/skills), not a path",
	}),
	{ description: "a list of skill names, e.g. [pdf-tools, review-checklist]" },
);

export const AgentFrontmatter = Type.Object(
	{
		name: Name,
		description: Type.String({ minLength: 1 }),
		model: Type.Optional(Type.String({ minLength: 1 })),
		/** Models tried in order when the task's model is rate-limited or its provider is down (see engine/attempt.ts). */
		fallbackModels: Type.Optional(
			Type.Array(ModelRef, {
				maxItems: 8,
				description: "a list of models, e.g. [openai/gpt-5, google/gemini-2.5-pro]",
			}),
		),
		/** Tool allow-list (pi `--tools`): a list or a comma-separated string. */
		tools: Type.Optional(Type.Union([Strings, Type.String()])),
		maxTurns: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
		thinking: Type.Optional(Type.Enum(THINKING_LEVELS)),
		/** pi skills its workers load, exactly these (none of pi's discovered ones); absent: pi's own discovery. */
		skills: Type.Optional(Skills),
		/**
		 * pi extensions its workers load (`-e`): paths relative to the agent's file (pi packages are refused).
		 * Code: a repository's agent may name them only when the repository is trusted (resources/extensions.ts).
		 */
		extensions: Type.Optional(
			Type.Array(Type.String({ minLength: 1 }), {
				maxItems: 16,
				description: "a list of extension paths (relative to this file), e.g. [../extensions/review.ts]",
			}),
		),
		/** Not available: not run, not recommended; a team using it cannot run. */
		disabled: Type.Optional(Type.Boolean({ description: "true or false" })),
		triggers: Type.Optional(Strings),
		useWhen: Type.Optional(Strings),
		avoidWhen: Type.Optional(Strings),
		cost: Type.Optional(Type.Union([Type.Literal("cheap"), Type.Literal("moderate"), Type.Literal("expensive")])),
		category: Type.Optional(Type.String()),
	},
	{ additionalProperties: false },
);

export const TeamFrontmatter = Type.Object(
	{
		name: Name,
		description: Type.String({ minLength: 1 }),
		roles: Type.Array(
			Type.Object(
				{
					name: Name,
					agent: Name,
					/** The model of this role's tasks, over its agent's (a step's own model is over this). */
					model: Type.Optional(ModelRef),
				},
				{ additionalProperties: false },
			),
			{ minItems: 1 },
		),
		defaultWorkflow: Name,
		/** Opt in to retrying failed tasks (policy from config, or the defaults). */
		autoRetry: Type.Optional(Type.Boolean()),
		/** `worktree`: each writing task works in a git worktree of its own, merged back in order (docs/workspaces.md). */
		isolation: Type.Optional(Type.Enum(["worktree", "shared"])),
		/**
		 * A read-only reviewer agent for each of its writing tasks whose step names no verify of its own
		 * (engine/review.ts), on `model` if set.
		 */
		verify: Type.Optional(
			Type.Object({ agent: Name, model: Type.Optional(ModelRef) }, { additionalProperties: false }),
		),
		/** At most this many of its tasks run at once: lowers the run's concurrency, never raises it. */
		maxConcurrency: Type.Optional(
			Type.Integer({ minimum: 1, maximum: 64, description: "how many of its tasks may run at once: 1 to 64" }),
		),
	},
	{ additionalProperties: false },
);

/** The most steps a workflow may have (checked in parse.ts, before the schema, with the count in the problem). */
export const MAX_WORKFLOW_STEPS = 500;

const VerifyCommand = Type.String({
	minLength: 1,
	maxLength: 4000,
	description: 'a shell command, e.g. "npm test" (quote it when it holds a colon or #)',
});
/**
 * A read-only reviewer agent that judges the task's work (its diff and its answer) with a `verdict` call, on its own
 * model if named; with `command`, that command must pass too (it runs first).
 */
const AgentVerify = Type.Object(
	{ agent: Name, model: Type.Optional(ModelRef), command: Type.Optional(VerifyCommand) },
	{ additionalProperties: false },
);
/** What a verdict is taken from, for a loop: the step's `verify` (command or reviewer), or its own agent's `verdict` call. */
const LOOP_UNTIL = ["verify", "verdict"] as const;
const MAX_LOOP_ROUNDS = 10;
const Loop = Type.Object(
	{
		to: StepId,
		until: Type.Optional(Type.Enum(LOOP_UNTIL)),
		max: Type.Integer({ minimum: 1, maximum: MAX_LOOP_ROUNDS, description: "the most rounds: 1 to 10" }),
	},
	{ additionalProperties: false },
);

export const WorkflowFrontmatter = Type.Object(
	{
		name: Name,
		description: Type.String({ minLength: 1 }),
		steps: Type.Array(
			Type.Object(
				{
					id: StepId,
					role: Name,
					task: Type.String({ minLength: 1 }),
					dependsOn: Type.Optional(Type.Array(StepId)),
					output: Type.Optional(StepId),
					/** The step's answer is a plan (a fenced JSON block) whose tasks are added to the run. */
					adaptive: Type.Optional(Type.Boolean()),
					/**
					 * `worktree`: the step works in a worktree of its own (and so the run is isolated); `shared`: it works in
					 * the checkout even when the run is isolated (read what is there, write nothing the merge would miss).
					 */
					isolation: Type.Optional(Type.Enum(["worktree", "shared"])),
					/** This step's model, over its role's and its agent's (`--model` is over it). */
					model: Type.Optional(ModelRef),
					/** pi skills for this step, besides its agent's (naming any means exactly these and the agent's). */
					skills: Type.Optional(Skills),
					/**
					 * A shell command the host runs in the task's directory after the agent succeeds: the task succeeds only
					 * if it exits 0. A repository's workflow may name one only when the repository is trusted.
					 */
					verify: Type.Optional(Type.Union([VerifyCommand, AgentVerify])),
					/**
					 * Send the work back while this step's verdict is not clean: the `to` step (one it depends on) runs
					 * again with the finding, then every step between, at most `max` rounds in all (engine/loop.ts).
					 */
					loop: Type.Optional(Loop),
					/** Its answer waits for a person's approval (`pi-crew approve`) before the run goes on. */
					approval: Type.Optional(Type.Boolean()),
					/** Earlier steps (ones it depends on, directly or not) whose results it is given as inputs. */
					reads: Type.Optional(Type.Array(StepId, { description: "a list of step ids, e.g. [explore, plan]" })),
				},
				{ additionalProperties: false },
			),
			{ minItems: 1 },
		),
	},
	{ additionalProperties: false },
);

export type Scope = "builtin" | "user" | "project";
export interface Source {
	file: string;
	scope: Scope;
	/** From a repository the user has not trusted: its text reaches workers fenced as reference material. */
	untrusted?: boolean;
	/** Line of each frontmatter path (for cross-reference problems found after parsing). */
	lineOf(path: (string | number)[]): number | undefined;
}

export type AgentDef = Omit<Static<typeof AgentFrontmatter>, "tools"> & {
	tools?: string[];
	prompt: string;
	source: Source;
};
export type TeamDef = Static<typeof TeamFrontmatter> & { body: string; source: Source };
export type WorkflowDef = Static<typeof WorkflowFrontmatter> & { body: string; source: Source };
