/**
 * Terminal text for the dashboard and the viewers: lines with a tone, fitted to terminal columns by pi-tui (wide
 * characters and ANSI counted as the terminal shows them), markdown rendered by pi-tui's Markdown, and scrolling over
 * content longer than the screen. Each face brings its styling: pi's theme in pi, none in tests and captures.
 */
import type { loadTui, MarkdownTheme } from "../host.js";
import { inert, inertLine } from "../util/inert.js";
import type { Tone } from "./board.js";

export type Tui = Awaited<ReturnType<typeof loadTui>>;

/** A line of a view: plain text with a tone, or (no tone) text already styled, such as rendered markdown. */
export interface Line {
	text: string;
	tone?: Tone;
	/** The row the keys act on: highlighted where the face can. */
	selected?: boolean;
}

/** Rendered once per width and kept: pi-tui's Markdown caches its own lines. */
export interface Block {
	render(width: number): readonly string[];
}

export interface TextKit {
	/** The line as the terminal shows it: styled, at most `width` columns. */
	line(line: Line, width: number): string;
	/** A plain line wrapped to `width` columns: where content scrolls, it is never cut. */
	wrap(line: Line, width: number): Line[];
	markdown(text: string): Block;
}

export interface Styles {
	tone(tone: Tone, text: string): string;
	/** The selected row, already padded to the full width. */
	selected(text: string): string;
	markdown: MarkdownTheme;
}

/** A section heading across the width. */
export function heading(title: string, width: number): Line {
	return { text: `── ${title} ${"─".repeat(Math.max(0, width - title.length - 4))}`, tone: "accent" };
}

const same = (text: string) => text;

/** No styling at all: what tests, benchmarks and the text captures in docs/ui.md see. */
export const PLAIN: Styles = {
	tone: (_tone, text) => text,
	selected: same,
	markdown: {
		heading: same,
		link: same,
		linkUrl: same,
		code: same,
		codeBlock: same,
		codeBlockBorder: same,
		quote: same,
		quoteBorder: same,
		hr: same,
		listBullet: same,
		bold: same,
		italic: same,
		strikethrough: same,
		underline: same,
	},
};

export function textKit(tui: Tui, styles: Styles = PLAIN): TextKit {
	/** Plain text cut to `width` columns (a wide character that would straddle the edge goes too), ending in `…`. */
	const cut = (text: string, width: number) =>
		tui.visibleWidth(text) <= width ? text : `${tui.sliceByColumn(text, 0, Math.max(0, width - 1), true)}…`;
	return {
		line({ text, tone, selected }, width) {
			// Plain text may hold anything a log or a repository wrote: made inert before our styling is added.
			let fitted = tone ? cut(inertLine(text), width) : tui.truncateToWidth(text, width, "…");
			if (selected) fitted += " ".repeat(Math.max(0, width - tui.visibleWidth(fitted)));
			const styled = tone ? styles.tone(tone, fitted) : fitted;
			return selected ? styles.selected(styled) : styled;
		},
		wrap: (line, width) =>
			line.tone ? tui.wrapTextWithAnsi(inertLine(line.text), width).map((text) => ({ ...line, text })) : [line],
		// pi-tui's Markdown passes ESC and the rest through to the terminal: its source is made inert first.
		markdown: (text) => new tui.Markdown(inert(text), 0, 0, styles.markdown),
	};
}

/**
 * Where a movement key takes a position (a selected row, or the first line shown) that may range over 0 to `last`:
 * a line for arrows and j/k, a page for PgUp/PgDn and space, the ends for g/G and Home/End. Other keys: undefined.
 */
export function moved(key: string, at: number, page: number, last: number): number | undefined {
	const to: Record<string, number> = {
		up: at - 1,
		k: at - 1,
		down: at + 1,
		j: at + 1,
		pageUp: at - page,
		pageDown: at + page,
		space: at + page,
		g: 0,
		home: 0,
		G: last,
		end: last,
	};
	const target = to[key];
	return target === undefined ? undefined : Math.max(0, Math.min(last, target));
}

/** The first row to show so that `selected` is on screen, keeping the previous first row when it still is. */
export function windowStart(selected: number, top: number, height: number, total: number): number {
	const start = selected < top ? selected : selected >= top + height ? selected - height + 1 : top;
	return Math.max(0, Math.min(start, Math.max(0, total - height)));
}

/** A text field after a key: backspace, space, or a printable character added; other keys change nothing. */
export function typed(text: string, key: string): string {
	if (key === "backspace") return [...text].slice(0, -1).join("");
	if (key === "space") return `${text} `;
	return [...key].length === 1 ? text + key : text;
}
