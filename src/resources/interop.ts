/**
 * Other tools' agent files, read and written: Claude Code subagents (`.claude/agents/*.md`) and the earlier pi-crew's
 * agents, teams and workflows become pi-crew files (then parsed and validated like any other, so there is one set of
 * rules), and pi-crew agents are written in Claude Code's, Codex's and Cursor's formats. Each conversion says what it
 * kept, what it mapped and what it dropped, and why (docs/interop.md lists the mappings).
 */
import { stringify } from "yaml";
import { splitFrontmatter } from "../util/frontmatter.js";
import { type Problem, parseYaml } from "../util/yaml-source.js";
import { lenientClaudeFrontmatter } from "./claude-frontmatter.js";
import type { AgentDef } from "./schema.js";

/** Claude Code's tool names and pi's builtin tools that do the same. */
export const CLAUDE_TOOLS: Record<string, string> = {
	Read: "read",
	Grep: "grep",
	Glob: "find",
	Bash: "bash",
	Edit: "edit",
	MultiEdit: "edit",
	Write: "write",
	LS: "ls",
};

/** What a conversion did with a file's fields. */
export interface Conversion {
	/** The file in pi-crew's format (frontmatter and body), or undefined when it cannot be converted. */
	text?: string;
	name?: string;
	kind: "agent" | "team" | "workflow";
	/** Fields carried over, as `field` or `field: old -> new` where the value was mapped. */
	converted: string[];
	/** Fields left out, each with why. */
	dropped: { field: string; why: string }[];
	/** Why the file was not converted at all, being no resource of its kind (then `text` is undefined). */
	skip?: string;
	problems: Problem[];
}

function fileText(fields: Record<string, unknown>, body: string): string {
	const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
	return `---\n${stringify(clean, { lineWidth: 0 }).trimEnd()}\n---\n\n${body.trim()}\n`;
}

function listOf(value: unknown): string[] | undefined {
	if (typeof value === "string")
		return value
			.split(",")
			.map((t) => t.trim())
			.filter(Boolean);
	if (Array.isArray(value)) return value.filter((t): t is string => typeof t === "string").map((t) => t.trim());
	return undefined;
}

/**
 * A conversion of `file`, and its frontmatter and body unless they cannot be read (then `out` says why). `claude`:
 * frontmatter that is not YAML is read as Claude Code users write it, with warnings.
 */
function begin(kind: Conversion["kind"], text: string, file: string, claude = false) {
	const out: Conversion = { kind, converted: [], dropped: [], problems: [] };
	const read = frontmatter(text, file, claude);
	if ("problem" in read) {
		out.problems.push(read.problem as Problem);
		return { out, read: undefined };
	}
	out.problems.push(...read.warnings);
	return { out, read };
}

/** Frontmatter and body of a markdown file, or the problem that stops reading it. */
function frontmatter(text: string, file: string, claude: boolean) {
	const split = splitFrontmatter(text);
	if (!split) return { problem: { file, line: 1, message: "missing YAML frontmatter" } as Problem };
	const strict = parseYaml(split.yaml, file, 1);
	const src =
		strict.problems[0] && claude ? (lenientClaudeFrontmatter(split.yaml, file, strict.problems[0]) ?? strict) : strict;
	const warnings = src === strict ? [] : src.problems;
	if (src === strict && src.problems[0]) return { problem: src.problems[0] };
	if (!src.value || typeof src.value !== "object" || Array.isArray(src.value))
		return { problem: { file, line: 2, message: "frontmatter must be a map of fields" } as Problem };
	return { fields: { ...(src.value as Record<string, unknown>) }, body: split.rest, lineOf: src.lineOf, warnings };
}

/** Claude Code's model aliases: each is the newest model of its family in pi's registry, unless `claude.models` pins it. */
export const CLAUDE_ALIASES = ["sonnet", "opus", "haiku"] as const;

/**
 * A Claude Code model setting as a pi model: an alias (`sonnet`, `opus`, `haiku`) as it is (a run resolves it to the
 * newest model of its family, or the config's `claude.models` pin: api/models.ts), `inherit` as none (the default
 * model), a full Claude model id as Anthropic's.
 */
function claudeModel(model: string): { model?: string; why?: string } {
	if (model === "inherit") return { why: "inherit: the agent uses the run's or the default model" };
	if (model.includes("/") || (CLAUDE_ALIASES as readonly string[]).includes(model)) return { model };
	if (/^claude-/.test(model)) return { model: `anthropic/${model}` };
	return {
		why: `"${model}" is not a Claude model alias (${CLAUDE_ALIASES.join(", ")}) or id: name a pi model (provider/id)`,
	};
}

/** A Claude Code subagent file as a pi-crew agent file. */
export function fromClaudeAgent(text: string, file: string): Conversion {
	const { out, read } = begin("agent", text, file, true);
	if (!read) return out;
	const { fields, body, lineOf } = read;
	const ours: Record<string, unknown> = { name: fields.name, description: fields.description };
	out.name = typeof fields.name === "string" ? fields.name : undefined;
	out.converted.push("name", "description");
	const tools = listOf(fields.tools);
	if (tools) {
		const mapped = [...new Set(tools.flatMap((t) => (CLAUDE_TOOLS[t] ? [CLAUDE_TOOLS[t]] : [])))];
		for (const t of tools.filter((t) => !CLAUDE_TOOLS[t]))
			out.dropped.push({ field: `tools: ${t}`, why: "no pi builtin tool does it" });
		ours.tools = mapped.join(", ");
		out.converted.push(`tools: ${tools.join(", ")} -> ${mapped.join(", ") || "(none)"}`);
	}
	if (typeof fields.model === "string") {
		const { model, why } = claudeModel(fields.model);
		if (model) {
			ours.model = model;
			out.converted.push(`model: ${fields.model} -> ${model}`);
		} else out.dropped.push({ field: `model: ${fields.model}`, why: why ?? "" });
	}
	for (const key of Object.keys(fields).filter((k) => !["name", "description", "tools", "model"].includes(k)))
		out.dropped.push({ field: key, why: "a Claude Code presentation or runtime setting pi-crew does not use" });
	for (const d of out.dropped)
		out.problems.push({
			severity: "warning",
			file,
			line: lineOf([d.field.split(":")[0] ?? d.field]),
			field: d.field.split(":")[0],
			message: `ignored: ${d.field} (${d.why})`,
		});
	out.text = fileText(ours, body);
	return out;
}

/** pi-crew's tools for an earlier pi-crew tool list: its other extra tools have no worker equivalent. */
const EARLIER_TOOLS: Record<string, string | undefined> = {
	ask: "ask",
	read: "read",
	grep: "grep",
	find: "find",
	glob: "find",
	ls: "ls",
	bash: "bash",
	edit: "edit",
	write: "write",
};
const EARLIER_AGENT_DROPS: Record<string, string> = {
	systemPromptMode: "pi-crew always appends the role prompt to pi's own system prompt",
	inheritProjectContext: "context files reach workers by pi's rules and the repository's trust (docs/security.md)",
	inheritSkills: "skills are named per agent or step (`skills:`), never inherited",
};
/** Agent fields both formats share, carried as they are. */
const SHARED_AGENT_FIELDS = ["maxTurns", "thinking", "triggers", "useWhen", "avoidWhen", "cost", "category"];

/** An agent of the earlier pi-crew (0.2 and later) as a pi-crew agent file. */
export function fromEarlierAgent(text: string, file: string): Conversion {
	const { out, read } = begin("agent", text, file);
	if (!read) return out;
	const { fields, body } = read;
	out.name = typeof fields.name === "string" ? fields.name : undefined;
	const description = typeof fields.description === "string" ? fields.description.trim() : fields.description;
	const ours: Record<string, unknown> = { name: fields.name, description };
	out.converted.push("name", "description");
	for (const [key, value] of Object.entries(fields)) {
		if (key === "name" || key === "description") continue;
		if (key === "model") {
			if (value === false) out.dropped.push({ field: "model: false", why: "no model of its own: the default applies" });
			else if (typeof value === "string") {
				ours.model = value;
				out.converted.push("model");
			} else out.dropped.push({ field: "model", why: "not a provider/id" });
		} else if (key === "tools") {
			const tools = listOf(value) ?? [];
			const mapped = [...new Set(tools.flatMap((t) => (EARLIER_TOOLS[t] ? [EARLIER_TOOLS[t]] : [])))];
			for (const t of tools.filter((t) => !EARLIER_TOOLS[t]))
				out.dropped.push({
					field: `tools: ${t}`,
					why: "no worker tool does it (workers run pi's tools and pi-crew's ask and message only)",
				});
			ours.tools = mapped.join(", ");
			out.converted.push(`tools: ${tools.join(", ")} -> ${mapped.join(", ")}`);
		} else if (EARLIER_AGENT_DROPS[key]) out.dropped.push({ field: key, why: EARLIER_AGENT_DROPS[key] });
		else if (SHARED_AGENT_FIELDS.includes(key)) {
			ours[key] = value;
			out.converted.push(key);
		} else out.dropped.push({ field: key, why: "not an agent field of pi-crew" });
	}
	out.text = fileText(ours, body);
	return out;
}

/** A team of the earlier pi-crew, whose roles are body lines (`- explorer: agent=explorer what it does`). */
export function fromEarlierTeam(text: string, file: string): Conversion {
	const { out, read } = begin("team", text, file);
	if (!read) return out;
	const { fields, body } = read;
	out.name = typeof fields.name === "string" ? fields.name : undefined;
	const roles: { name: string; agent: string }[] = [];
	const rest: string[] = [];
	for (const line of body.split("\n")) {
		const m = /^\s*[-*]\s+([A-Za-z0-9][\w-]*)\s*:\s*agent=([A-Za-z0-9][\w-]*)\b\s*(.*)$/.exec(line);
		if (m?.[1] && m[2]) roles.push({ name: m[1], agent: m[2] });
		else rest.push(line);
	}
	const ours: Record<string, unknown> = {
		name: fields.name,
		description: fields.description,
		roles: Array.isArray(fields.roles) ? fields.roles : roles,
		defaultWorkflow: fields.defaultWorkflow ?? fields.name,
	};
	out.converted.push("name", "description", `roles: ${roles.length} body line(s) -> roles`, "defaultWorkflow");
	for (const [key, value] of Object.entries(fields)) {
		if (["name", "description", "roles", "defaultWorkflow"].includes(key)) continue;
		if (key === "workspaceMode") {
			if (value === "worktree") {
				ours.isolation = "worktree";
				out.converted.push("workspaceMode: worktree -> isolation: worktree");
			} else
				out.dropped.push({
					field: `workspaceMode: ${value}`,
					why: "the checkout is pi-crew's default (isolation: shared)",
				});
		} else if (key === "maxConcurrency" || key === "autoRetry") {
			ours[key] = value;
			out.converted.push(key);
		} else
			out.dropped.push({
				field: key,
				why: "a team setting pi-crew does not have (recommendation reads the agents' triggers)",
			});
	}
	out.text = fileText(ours, rest.join("\n").trim() || String(fields.description ?? ""));
	return out;
}

/** A workflow of the earlier pi-crew, whose steps are `## <id>` sections with `key: value` attribute lines. */
export function fromEarlierWorkflow(text: string, file: string): Conversion {
	const { out, read } = begin("workflow", text, file);
	if (!read) return out;
	const { fields, body } = read;
	out.name = typeof fields.name === "string" ? fields.name : undefined;
	const sections = body.split(/^## /m).slice(1);
	// A dynamic chain, or documentation with `##` headings: no step names a role, so there is nothing to convert.
	const roles = sections.filter((section) => /^role:/m.test(section.split(/\n\s*\n/, 2)[0] ?? ""));
	if (fields.topology === "dynamic" || roles.length === 0) {
		out.skip = `not a step workflow (${fields.topology === "dynamic" ? "topology: dynamic, steps chosen as it runs" : `no "## <step>" section names a role`}); pi-crew has no equivalent, write a workflow with steps instead`;
		return out;
	}
	const steps = sections.map((section) => earlierStep(section, out));
	out.converted.push(`steps: ${steps.length} "## " section(s) -> steps`);
	for (const key of Object.keys(fields).filter((k) => !["name", "description", "steps"].includes(k)))
		out.dropped.push({
			field: key,
			why: key === "topology" ? "the order comes from each step's dependsOn" : "not a workflow field of pi-crew",
		});
	out.text = fileText(
		{ name: fields.name, description: fields.description, steps: Array.isArray(fields.steps) ? fields.steps : steps },
		String(fields.description ?? ""),
	);
	return out;
}

/** One `## <id>` section of an earlier workflow as a step; what it maps or drops goes into `out`. */
function earlierStep(section: string, out: Conversion): Record<string, unknown> {
	const [head = "", ...lines] = section.split("\n");
	const step: Record<string, unknown> = { id: head.trim() };
	let i = 0;
	for (; i < lines.length; i++) {
		const attr = /^([A-Za-z]+):\s*(.*)$/.exec(lines[i] ?? "");
		if (!attr?.[1]) break;
		const [, key, value = ""] = attr;
		if (key === "role") step.role = value.trim();
		else if (key === "dependsOn")
			step.dependsOn = value
				.replace(/^\[|\]$/g, "")
				.split(",")
				.map((d) => d.trim())
				.filter(Boolean);
		else if (key === "output") {
			const name = outputName(value.trim());
			if (name) step.output = name;
			if (name !== value.trim())
				out.converted.push(`steps.${step.id}.output: ${value.trim()} -> ${name ?? "(the step id)"}`);
		} else if (key === "adaptive") step.adaptive = value.trim() === "true";
		else out.dropped.push({ field: `steps.${step.id}.${key}`, why: stepDropWhy(key) });
	}
	step.task = lines.slice(i).join("\n").trim() || `${step.id}: {goal}`;
	return step;
}

/**
 * An earlier step's `output` (a file name such as `plan.md`) as pi-crew's: the name later steps use for its result
 * (`{plan}`); the result itself is the task's `result.md`. Undefined when nothing of the name is usable.
 */
function outputName(value: string): string | undefined {
	const stem = (value.split("/").pop() ?? "").replace(/\.[A-Za-z0-9]+$/, "");
	const name = stem
		.replace(/[^A-Za-z0-9_-]+/g, "-")
		.replace(/^[^A-Za-z0-9]+/, "")
		.slice(0, 64);
	return name || undefined;
}

function stepDropWhy(key: string): string {
	if (key === "parallelGroup") return "steps run in parallel whenever their dependsOn allows";
	if (key === "verify") return "an earlier marker for verifying steps; in pi-crew `verify:` is a command the host runs";
	return "not a step field of pi-crew";
}

/** pi tools as Claude Code names them. */
const TO_CLAUDE: Record<string, string> = {
	read: "Read",
	grep: "Grep",
	find: "Glob",
	bash: "Bash",
	edit: "Edit",
	write: "Write",
	ls: "LS",
};

/** Writes `agent` in the format of another tool; the file name it goes to, relative to the output directory. */
export function toTool(agent: AgentDef, format: "claude" | "codex" | "cursor"): { path: string; text: string } {
	const tools = agent.tools ?? ["read", "bash", "edit", "write"];
	if (format === "claude") {
		const model = agent.model?.startsWith("anthropic/") ? agent.model.slice("anthropic/".length) : undefined;
		return {
			path: `.claude/agents/${agent.name}.md`,
			text: fileText(
				{
					name: agent.name,
					description: agent.description,
					tools: tools.map((t) => TO_CLAUDE[t] ?? t).join(", "),
					model,
				},
				agent.prompt,
			),
		};
	}
	if (format === "cursor")
		return {
			path: `.cursor/rules/${agent.name}.mdc`,
			text: fileText({ description: agent.description, globs: "", alwaysApply: false }, agent.prompt),
		};
	return {
		path: "AGENTS.md",
		text: `## ${agent.name}\n\n${agent.description}\n\nTools: ${tools.join(", ")}${agent.model ? `. Model: ${agent.model}` : ""}.\n\n${agent.prompt.trim()}\n`,
	};
}
