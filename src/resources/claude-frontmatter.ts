/**
 * Claude Code agent frontmatter as the popular collections write it: descriptions with unquoted `: ` (example
 * dialogues, `Context:`), continuation lines that are not indented. Such files are not YAML, and Claude Code itself
 * refuses some; this reads them the way their authors meant, and says what it assumed.
 */
import { type Problem, parseYaml, type YamlSource } from "../util/yaml-source.js";

/** The fields of a Claude Code subagent: one of these at column 0 starts a field; any other line continues one. */
const CLAUDE_FIELDS = new Set([
	"name",
	"description",
	"tools",
	"disallowedTools",
	"model",
	"permissionMode",
	"maxTurns",
	"skills",
	"mcpServers",
	"hooks",
	"memory",
	"background",
	"isolation",
	"effort",
	"color",
]);

interface Field {
	key: string;
	/** Index of its first line in the frontmatter. */
	at: number;
	lines: string[];
}

/**
 * The frontmatter `yaml` (lines from 2 on in `file`) read field by field, after strict YAML refused it with `strict`;
 * undefined when even this reading finds no field (then the strict problem stands). Each field whose value is not
 * YAML becomes its text as written, with a warning naming its lines.
 */
export function lenientClaudeFrontmatter(yaml: string, file: string, strict: Problem): YamlSource | undefined {
	const fields: Field[] = [];
	const lines = yaml.split("\n");
	for (const [i, line] of lines.entries()) {
		const key = /^([A-Za-z][\w-]*):(?:\s|$)/.exec(line)?.[1];
		if (key && CLAUDE_FIELDS.has(key) && !fields.some((f) => f.key === key)) fields.push({ key, at: i, lines: [line] });
		else if (fields.length > 0) fields[fields.length - 1]?.lines.push(line);
		else if (line.trim() && !line.trimStart().startsWith("#")) return undefined;
	}
	if (fields.length === 0) return undefined;
	const value: Record<string, unknown> = {};
	const problems: Problem[] = [];
	const why = strict.message.replace(/^invalid YAML: /, "");
	for (const field of fields) {
		const own = parseYaml(field.lines.join("\n"), file, field.at + 1);
		if (own.problems.length === 0 && own.value && typeof own.value === "object") {
			value[field.key] = (own.value as Record<string, unknown>)[field.key];
			continue;
		}
		const text = asText(field);
		value[field.key] = text.value;
		const last = field.at + 1 + trimmedLength(field.lines);
		const where = last > field.at + 2 ? `lines ${field.at + 2}-${last} are` : `line ${last} is`;
		problems.push({
			severity: "warning",
			file,
			line: field.at + 2,
			field: field.key,
			message: `not valid YAML (line ${strict.line}: ${why}); read as Claude Code users write it: ${where} the text of "${field.key}"${text.escapes ? ', its "\\n" as line breaks' : ""}`,
			hint: `assumed: only Claude Code's own fields (name, description, tools, model, color…) at column 0 start a field; to say it exactly, write the text as a YAML block (${field.key}: |, its lines indented)`,
		});
	}
	const lineOf = (path: (string | number)[]) => {
		const at = fields.find((f) => f.key === path[0])?.at;
		return at === undefined ? strict.line : at + 2;
	};
	return { value, lineOf, problems };
}

/** A field's lines as its text: the rest of its first line and the lines below, as written (`\n` read as breaks). */
function asText(field: Field): { value: string; escapes: boolean } {
	const [first = "", ...rest] = field.lines.slice(0, trimmedLength(field.lines));
	let text = [first.slice(field.key.length + 1).trim(), ...rest].join("\n").trim();
	const quoted = /^(["'])([\s\S]*)\1$/.exec(text);
	if (quoted) text = quoted[2] ?? "";
	// Some collections write a whole multi-line description on one line, its breaks as the two characters `\n`.
	const escapes = !text.includes("\n") && text.includes("\\n");
	return { value: escapes ? text.replace(/\\n/g, "\n") : text, escapes };
}

/** How many of `lines` remain without the blank lines at the end. */
function trimmedLength(lines: string[]): number {
	let n = lines.length;
	while (n > 1 && !lines[n - 1]?.trim()) n--;
	return n;
}
