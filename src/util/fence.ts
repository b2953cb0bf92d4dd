/**
 * Text a cloned repository wrote, given to a model as reference material: labelled with where it came from, cut to a
 * size, and wrapped in a tag it cannot close early. Used for an untrusted repository's role descriptions and context
 * files (AGENTS.md, CLAUDE.md).
 */

/**
 * Removes the tag, in any spelling a parser would take (`</tag >`, `<tag x="y">`), until none is left (one pass would
 * let `</ta</tag>g>` rebuild one).
 */
function stripTag(text: string, tag: string): string {
	const pattern = new RegExp(`<\\s*/?\\s*${tag}\\b[^>]*>`, "gi");
	let out = text;
	for (let before = ""; before !== out; ) {
		before = out;
		out = out.replace(pattern, "");
	}
	return out;
}

export interface FenceOptions {
	/** The tag around the text, e.g. `repository-role-description`. */
	tag: string;
	/** Sentences before the tag: what the text is, where it comes from, how much weight it has. */
	label: string[];
	/** At most this many characters of the text are kept. */
	maxChars: number;
}

export function fenced(text: string, { tag, label, maxChars }: FenceOptions): string {
	const body =
		text.length > maxChars ? `${text.slice(0, maxChars)}\n[... cut: ${text.length - maxChars} more characters]` : text;
	return [...label, "", `<${tag}>`, stripTag(body, tag).trim(), `</${tag}>`].join("\n");
}
