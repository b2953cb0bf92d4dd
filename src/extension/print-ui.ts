/**
 * A command's text in pi's print mode (`pi -p "/team-status"`). There pi's UI does nothing (a notice or a widget goes
 * nowhere) and pi guards stdout for the final answer (what the process writes through `process.stdout` goes to
 * stderr). A command that answers without the model has no answer for pi to print: its notices and line widgets are
 * its answer, written straight to stdout; its errors go to stderr. JSON and RPC modes keep stdout for their protocol.
 */
import { writeSync } from "node:fs";

type Fn = (...args: unknown[]) => unknown;

/** Writes all of `text` to file descriptor `fd` (past pi's guard of `process.stdout`). */
function writeAll(fd: number, text: string): void {
	const bytes = Buffer.from(text);
	for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
}

const PRINTED = new Map<PropertyKey, Fn>([
	["notify", (message, level) => writeAll(level === "error" ? 2 : 1, `${String(message)}\n`)],
	// Lines only: a component (the TUI's) or `undefined` (clearing the widget) shows nothing in print.
	["setWidget", (_key, content) => Array.isArray(content) && writeAll(1, `${content.join("\n")}\n`)],
]);

/** In print mode, `ctx` whose notices and line widgets are written out; otherwise `ctx` itself. */
export function printingContext<C extends { ui: object; mode: string }>(ctx: C): C {
	if (ctx.mode !== "print") return ctx;
	const ui = new Proxy(ctx.ui, {
		get(target, key) {
			const value = Reflect.get(target, key, target);
			return PRINTED.get(key) ?? (typeof value === "function" ? (value as Fn).bind(target) : value);
		},
	});
	return new Proxy(ctx, {
		get(target, key) {
			if (key === "ui") return ui;
			const value = Reflect.get(target, key, target);
			return typeof value === "function" ? (value as Fn).bind(target) : value;
		},
	});
}
