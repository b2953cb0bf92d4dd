/**
 * Text the user did not write, given to a model as reference material: labelled with where it came from, cut to a
 * size, and wrapped in a tag it cannot close early. Used for an untrusted repository's role descriptions and context
 * files (AGENTS.md, CLAUDE.md), its workflows' step tasks, and (in any run) one worker's answer given to another.
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
	/** Where the whole text is, named after the fence when it is cut. */
	whole?: string;
}

export function fenced(text: string, { tag, label, maxChars, whole }: FenceOptions): string {
	const more = text.length - maxChars;
	const body = more > 0 ? `${text.slice(0, maxChars)}\n[... cut: ${more} more characters]` : text;
	const fence = [...label, "", `<${tag}>`, stripTag(body, tag).trim(), `</${tag}>`];
	if (more > 0 && whole) fence.push(`[read the whole of it at ${whole}]`);
	return fence.join("\n");
}
