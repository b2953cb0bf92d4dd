/**
 * Reading YAML text without a YAML library: a markdown file's frontmatter, and one top-level string in its common
 * one-line shapes. pi's start-up reads team descriptions and the autonomy profile this way (loading the parser costs
 * ~20 ms); any other shape is left to the parser.
 */

/** A markdown file's frontmatter: `{ yaml, body }` where `body` starts after the closing `---`, or undefined. */
export function splitFrontmatter(text: string): { yaml: string; rest: string } | undefined {
	// Files saved on Windows: CRLF line endings, a byte-order mark.
	const normalized = text.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
	const match = /^---\n([\s\S]*?)\n---[ \t]*(?:\n|$)/.exec(normalized);
	return match ? { yaml: match[1] ?? "", rest: normalized.slice(match[0].length) } : undefined;
}

// A top-level key line: in a valid block mapping every unindented line that is not a comment is one.
const KEY_LINE = /^([A-Za-z_][\w-]{0,200}):(?:[ \t]+(.*))?$/;
// A comment after a value needs whitespace before the `#`.
const AFTER_VALUE = /^(?:[ \t]+#.*|[ \t]*)$/;
const DOUBLE = /^"([^"\\]*)"(.*)$/;
const SINGLE = /^'((?:[^']|'')*)'(.*)$/;
// Plain scalars the YAML 1.2 core schema reads as something else than a string (or that need its rules).
const NOT_STRING = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;
// Control characters (tab aside): the parser rejects or escapes them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is deferred here
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * The string value of top-level `key` in the YAML mapping `yaml`:
 * a string; null when there is no string there (no such key, an empty value); undefined when the text takes a
 * parser to read (a block or multi-line scalar, escapes, a number, an anchor, a key spelt in quotes, a duplicate key,
 * a document that is not a plain block mapping). Exact for valid YAML: a valid document reads as the parser reads it.
 */
export function topLevelString(yaml: string, key: string): string | null | undefined {
	const lines = yaml.split(/\r?\n/);
	const content = (l: string) => l.trim() !== "" && !l.trimStart().startsWith("#");
	// A mapping indented as a whole is valid YAML too, but not the plain block mapping read here.
	if (/^[ \t]/.test(lines.find(content) ?? "")) return undefined;
	const seen = new Set<string>();
	let found: string | null = null;
	for (let i = 0; i < lines.length; i++) {
		const line = lines[i] ?? "";
		if (line === "" || /^[ \t]/.test(line) || line.startsWith("#")) continue;
		const match = KEY_LINE.exec(line);
		if (!match || CONTROL.test(line)) return undefined;
		const [, name = "", raw = ""] = match;
		if (seen.has(name)) return undefined; // the parser refuses duplicate keys
		seen.add(name);
		if (name !== key) continue;
		// A value may go on over indented lines (or start on the next one): the parser's to read.
		const next = lines.slice(i + 1).find(content);
		if (next !== undefined && /^[ \t]/.test(next)) return undefined;
		const value = scalar(raw);
		if (value === undefined) return undefined;
		found = value;
	}
	return found;
}

/** A one-line scalar: its string, null for none, undefined for what only the parser may read. */
function scalar(raw: string): string | null | undefined {
	if (raw === "" || /^#/.test(raw)) return null;
	const quoted = DOUBLE.exec(raw) ?? SINGLE.exec(raw);
	if (quoted) {
		const [, body = "", after = ""] = quoted;
		if (!AFTER_VALUE.test(after)) return undefined;
		return raw.startsWith("'") ? body.replace(/''/g, "'") : body;
	}
	// Plain: it starts with a letter (no indicator, number, anchor or tag) and ends at a comment.
	if (!/^[A-Za-z]/.test(raw)) return undefined;
	const text = raw.replace(/[ \t]+#.*$/, "").trimEnd();
	if (NOT_STRING.test(text) || /:(?:[ \t]|$)/.test(text)) return undefined;
	return text;
}
