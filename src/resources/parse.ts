/** Markdown resources: YAML frontmatter (validated by schema, with line numbers) and a markdown body. */
import { basename } from "node:path";
import type { TSchema } from "typebox";
import { WORKER_TOOLS } from "../config/home.js";
import { splitFrontmatter } from "../util/frontmatter.js";
import { checkSchema } from "../util/schema-check.js";
import { suggest } from "../util/suggest.js";
import { type Problem, parseYaml } from "../util/yaml-source.js";
import { resolveExtensions } from "./extensions.js";
import {
	type AgentDef,
	AgentFrontmatter,
	MAX_WORKFLOW_STEPS,
	type Scope,
	type TeamDef,
	TeamFrontmatter,
	type WorkflowDef,
	WorkflowFrontmatter,
} from "./schema.js";

export type Kind = "agent" | "team" | "workflow";

export const KIND_SUFFIX: Record<Kind, string> = { agent: ".md", team: ".team.md", workflow: ".workflow.md" };
const SCHEMAS: Record<Kind, TSchema> = {
	agent: AgentFrontmatter,
	team: TeamFrontmatter,
	workflow: WorkflowFrontmatter,
};

export interface Parsed<T> {
	def?: T;
	problems: Problem[];
}

/**
 * `nameFromFile: false` for files whose name is not the resource's (Claude Code agents); `untrusted` for a
 * repository's files the user has not trusted (their source says so; nothing they name is looked up on disk).
 */
type ParseOptions = { nameFromFile?: boolean; untrusted?: boolean };

export function parseResource(
	kind: "agent",
	text: string,
	file: string,
	scope: Scope,
	o?: ParseOptions,
): Parsed<AgentDef>;
export function parseResource(
	kind: "team",
	text: string,
	file: string,
	scope: Scope,
	o?: ParseOptions,
): Parsed<TeamDef>;
export function parseResource(
	kind: "workflow",
	text: string,
	file: string,
	scope: Scope,
	o?: ParseOptions,
): Parsed<WorkflowDef>;
export function parseResource(
	kind: Kind,
	text: string,
	file: string,
	scope: Scope,
	options: ParseOptions = {},
): Parsed<AgentDef | TeamDef | WorkflowDef> {
	const split = splitFrontmatter(text);
	if (!split) {
		return {
			problems: [
				{
					file,
					line: 1,
					message: "missing YAML frontmatter",
					hint: "start the file with a '---' line, the fields, then '---'",
				},
			],
		};
	}
	const src = parseYaml(split.yaml, file, 1);
	if (src.problems.length > 0) return { problems: src.problems };
	if (typeof src.value !== "object" || src.value === null || Array.isArray(src.value)) {
		return { problems: [{ file, line: 2, message: "frontmatter must be a map of fields" }] };
	}
	const fields = src.value as Record<string, unknown>;
	// Before the schema and the graph checks: their cost grows with the steps.
	if (kind === "workflow" && Array.isArray(fields.steps) && fields.steps.length > MAX_WORKFLOW_STEPS)
		return {
			problems: [
				{
					file,
					line: src.lineOf(["steps"]),
					field: "steps",
					message: `${fields.steps.length} steps; a workflow has at most ${MAX_WORKFLOW_STEPS}`,
					hint: "split it into several workflows, or let an adaptive step plan the rest",
				},
			],
		};
	const problems = softenUnknownFields(checkSchema(SCHEMAS[kind], src, file), SCHEMAS[kind], fields);
	const expected = basename(file).slice(0, -KIND_SUFFIX[kind].length);
	if (options.nameFromFile !== false && typeof fields.name === "string" && fields.name !== expected) {
		problems.push({
			file,
			line: src.lineOf(["name"]),
			field: "name",
			message: `name "${fields.name}" does not match the file name`,
			hint: `rename the file to ${fields.name}${KIND_SUFFIX[kind]} or set name: ${expected}`,
		});
	}
	// Every problem of the file at once: an unknown field above must not hide an unknown tool or an empty body.
	const body = split.rest.trim();
	const source = { file, scope, lineOf: src.lineOf, ...(options.untrusted ? { untrusted: true } : {}) };
	if (kind === "agent") {
		const tools = fields.tools;
		const list =
			typeof tools === "string"
				? tools.split(",").map((t) => t.trim())
				: Array.isArray(tools)
					? tools.filter((t): t is string => typeof t === "string") // other items: the schema's problem
					: undefined;
		for (const tool of list ?? []) {
			if (!(WORKER_TOOLS as readonly string[]).includes(tool))
				problems.push({
					file,
					line: src.lineOf(["tools"]),
					field: "tools",
					message: `unknown tool "${tool}"`,
					hint: `workers run pi's builtin tools and pi-crew's own only: ${WORKER_TOOLS.join(", ")}`,
				});
		}
		const named = Array.isArray(fields.extensions)
			? resolveExtensions(fields.extensions as string[], file, scope, options.untrusted === true, src.lineOf)
			: undefined;
		problems.push(...(named?.problems ?? []));
		if (!body)
			problems.push({
				file,
				message: "the agent's body (its system prompt) is empty",
				hint: "write the role's instructions below the frontmatter",
			});
		if (hasErrors(problems)) return { problems };
		const def = { ...(fields as Omit<AgentDef, "prompt" | "source">), tools: list, prompt: body, source };
		return { def: named ? { ...def, extensions: named.extensions } : def, problems };
	}
	if (hasErrors(problems)) return { problems };
	return {
		def: { ...(fields as Omit<TeamDef & WorkflowDef, "body" | "source">), body, source } as TeamDef | WorkflowDef,
		problems,
	};
}

function hasErrors(problems: Problem[]): boolean {
	return problems.some((p) => p.severity !== "warning");
}

/** The property names a schema allows at `path` (through objects and array items). */
function fieldsAt(schema: TSchema, path: string[]): string[] {
	let at = schema as { properties?: Record<string, TSchema>; items?: TSchema };
	for (const step of path) {
		if (/^\d+$/.test(step)) at = (at.items ?? {}) as typeof at;
		else at = (at.properties?.[step] ?? {}) as typeof at;
	}
	return Object.keys(at.properties ?? {});
}

/**
 * Unknown fields are warnings, never fatal: files written for another version or tool keep working. Each says what
 * was probably meant, and is dropped from the resource (nothing reads a field it does not know).
 */
function softenUnknownFields(problems: Problem[], schema: TSchema, fields: Record<string, unknown>): Problem[] {
	for (const p of problems) {
		if (p.message !== "unknown field" || !p.field) continue;
		const path = p.field.split(".");
		const key = path.pop() ?? "";
		const known = fieldsAt(schema, path);
		const meant = suggest(key, known);
		p.severity = "warning";
		p.message = "unknown field, ignored";
		p.hint = meant ? `did you mean "${meant}"?` : `known fields here: ${known.join(", ")}`;
		let parent: unknown = fields;
		for (const step of path) parent = (parent as Record<string, unknown> | undefined)?.[step];
		if (parent && typeof parent === "object") delete (parent as Record<string, unknown>)[key];
	}
	return problems;
}
