/** The sanitizer for terminal sinks: each class of character it acts on, what it keeps, and linear work on big input. */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { inert, inertLine } from "../../src/util/inert.js";
import { ROOT } from "../support/index.js";

test("every character a terminal acts on shows as \\uXXXX; text, tabs and newlines stay", () => {
	const table: [string, string, string][] = [
		["ESC (an OSC 52 clipboard write)", "\x1b]52;c;Y3VybA==\x07", "\\u001b]52;c;Y3VybA==\\u0007"],
		["other C0 controls", "a\x00b\x08c\x0bd\x0ce\x1f", "a\\u0000b\\u0008c\\u000bd\\u000ce\\u001f"],
		["DEL", "a\x7fb", "a\\u007fb"],
		["C1: CSI and OSC", "\x9b2J \x9d52;c;QQ==\x9c \x80 \x9f", "\\u009b2J \\u009d52;c;QQ==\\u009c \\u0080 \\u009f"],
		["bidi overrides and embeddings", "\u202a\u202b\u202c\u202d\u202e", "\\u202a\\u202b\\u202c\\u202d\\u202e"],
		["bidi isolates", "\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"],
		["bidi marks", "\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"],
		["a lone carriage return (it would overwrite the line)", "ok\rFAIL", "ok\\u000dFAIL"],
		["CRLF line ends", "a\r\nb\r\n", "a\nb\n"],
		["newlines and tabs", "a\tb\nc", "a\tb\nc"],
		["text around them: wide, emoji, accents, box drawing", "日本 🙂 é ✓ ── ›", "日本 🙂 é ✓ ── ›"],
		["characters next to the ranges", "\xa0\u2010\u202f\u2065\u206a", "\xa0\u2010\u202f\u2065\u206a"],
	];
	for (const [what, input, shown] of table) assert.equal(inert(input), shown, what);
});

test("one-line text: newlines, carriage returns and tabs become spaces; the rest as in multi-line text", () => {
	assert.equal(inertLine("reason\nfirst\r\nsecond\tthird"), "reason first  second third");
	assert.equal(inertLine("a\x1b[2Jb\u202e"), "a\\u001b[2Jb\\u202e");
	assert.equal(inertLine("plain"), "plain");
});

test("JSON made inert parses to the same value", () => {
	const value = { s: "\x1b]52;c;QQ==\x07 \x9b31m \u202eevil \x7f\n", n: 1 };
	const text = inert(JSON.stringify(value, null, 2));
	assert.doesNotMatch(text, /[\x7f-\x9f\u202e]/);
	assert.deepEqual(JSON.parse(text), value);
});

test("linear: megabytes of controls, or of text with none, come out in one pass of predictable size", () => {
	const n = 4 * 1024 * 1024;
	// Every character escaped: exactly six output characters each.
	assert.equal(inert("\x1b".repeat(n)).length, 6 * n);
	assert.equal(inertLine("\u202e\n".repeat(n / 2)).length, (6 + 1) * (n / 2));
	// Nothing to escape: the same string back.
	const clean = "a".repeat(n);
	assert.equal(inert(clean), clean);
	// Alternating, the worst case for slicing: still proportional.
	assert.equal(inert("a\x9b".repeat(n / 2)).length, 7 * (n / 2));
});

test("the CLI writes to the terminal only through its print helpers (the live board's own codes aside)", async () => {
	const dir = join(ROOT, "src", "cli");
	for (const file of await readdir(dir)) {
		if (file === "print.ts" || file === "watch.ts") continue;
		const text = await readFile(join(dir, file), "utf8");
		assert.doesNotMatch(text, /(process\.std(out|err)|console)\.(write|log|error|warn)\(/, `src/cli/${file}`);
	}
});
