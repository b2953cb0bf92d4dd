/**
 * pi-crew's messages in a session shown as plain text. pi renders a custom message as Markdown by default, and a
 * wake-up quotes a worker's question (a model's text): as Markdown, `[approve](https://…)` would become a link that
 * hides where it goes. Light on purpose: registered at every pi start.
 */

/** The custom message type of a wake-up in pi's session (`pi.sendMessage`; see wake.ts). */
export const WAKE_TYPE = "pi-crew-wake";

/** `text` (control characters already removed) as lines of at most `width` columns, after a `pad` of spaces. */
export function plainLines(text: string, width: number, pad = 1): string[] {
	const room = Math.max(1, width - 2 * pad);
	const indent = " ".repeat(pad);
	const lines: string[] = [];
	for (const line of text.split("\n")) {
		const chars = Array.from(line);
		if (chars.length === 0) lines.push("");
		for (let at = 0; at < chars.length; at += room) lines.push(indent + chars.slice(at, at + room).join(""));
	}
	return lines;
}
