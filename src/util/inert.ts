/**
 * Text from outside (repository files, file names, config values, run records, model output) made inert for a
 * terminal: every character a terminal could act on is shown as the escape `\u` and four hex digits in plain text, so an OSC 52
 * clipboard write, a screen clear or a bidi override reads as text and does nothing. Applied where such text meets
 * the terminal (the CLI's output, the board, the dashboard and viewers, pi's notices and widgets), never to what is
 * stored: the log keeps the exact bytes. The form is JSON's own escape, so JSON output made inert parses to the same
 * value.
 */

/**
 * Whether a terminal may act on the UTF-16 code unit `c`: C0 controls, DEL, C1 controls (U+0080-U+009F: U+009B is a
 * CSI, U+009D an OSC, in terminals that read 8-bit controls), and the bidirectional marks, embeddings, overrides and
 * isolates that reorder what is shown (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
 */
function acts(c: number): boolean {
	return (
		c < 0x20 ||
		(c >= 0x7f && c <= 0x9f) ||
		c === 0x061c ||
		c === 0x200e ||
		c === 0x200f ||
		(c >= 0x202a && c <= 0x202e) ||
		(c >= 0x2066 && c <= 0x2069)
	);
}

const escaped = (c: number) => `\\u${c.toString(16).padStart(4, "0")}`;

/**
 * One pass over `text`, in linear time: characters a terminal acts on become `\u` and four hex digits. Newlines and tabs stay in
 * multi-line text (`\r\n` becomes `\n`; a lone `\r` would return to the line's start and overwrite it, so it is shown);
 * in one line (`oneLine`: a name, an id, a reason in a table cell) newlines, carriage returns and tabs become spaces.
 */
function sanitize(text: string, oneLine: boolean): string {
	let out = "";
	let from = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (!acts(c)) continue;
		let shown: string;
		if (c === 0x0a || c === 0x09) shown = oneLine ? " " : (text[i] as string);
		else if (c === 0x0d) shown = oneLine ? " " : text.charCodeAt(i + 1) === 0x0a ? "" : escaped(c);
		else shown = escaped(c);
		if (shown === text[i]) continue;
		out += text.slice(from, i) + shown;
		from = i + 1;
	}
	return from === 0 ? text : out + text.slice(from);
}

/** Multi-line text made inert: a result, a transcript, a whole line of output. Newlines and tabs stay. */
export function inert(text: string): string {
	return sanitize(text, false);
}

/** One-line text made inert: line breaks and tabs become spaces too, so a field cannot start a line of its own. */
export function inertLine(text: string): string {
	return sanitize(text, true);
}
