/** The frontmatter schemas of agents, teams and workflows: the single source of truth for their fields. */
import { type Static, Type } from "typebox";
import { RESOURCE_NAME } from "../util/names.js";

const Name = Type.String({ pattern: RESOURCE_NAME.source });
const StepId = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" });
const Strings = Type.Array(Type.String());

export const THINKING_LEVELS = ["off", "minimal", "low", "medium", "high", "xhigh"] as const;

export const AgentFrontmatter = Type.Object(
	{
		name: Name,
		description: Type.String({ minLength: 1 }),
		model: Type.Optional(Type.String({ minLength: 1 })),
		/** Tool allow-list (pi `--tools`): a list or a comma-separated string. */
		tools: Type.Optional(Type.Union([Strings, Type.String()])),
		maxTurns: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
		thinking: Type.Optional(Type.Enum(THINKING_LEVELS)),
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
		roles: Type.Array(Type.Object({ name: Name, agent: Name }, { additionalProperties: false }), { minItems: 1 }),
		defaultWorkflow: Name,
		/** Opt in to retrying failed tasks (policy from config, or the defaults). */
		autoRetry: Type.Optional(Type.Boolean()),
		/** `worktree`: each writing task works in a git worktree of its own, merged back in order (docs/workspaces.md). */
		isolation: Type.Optional(Type.Enum(["worktree", "shared"])),
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
