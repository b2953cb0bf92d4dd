/**
 * pi's UI as pi-crew uses it, with its text made inert: notices, confirmations, the footer's status and widgets given
 * as lines carry run records, repository text and model output, and pi writes them to the terminal as they are
 * (docs/security.md).
 * Widgets given as components are ours and render inert lines already (the board's `fit`, the views' text kit).
 */
import { inert, inertLine } from "../util/inert.js";

type Fn = (...args: unknown[]) => unknown;

/** The same methods, with the text of each argument a terminal shows made inert. */
const SANITIZE = new Map<PropertyKey, (args: unknown[]) => unknown[]>([
	["notify", ([message, ...rest]) => [typeof message === "string" ? inert(message) : message, ...rest]],
	["confirm", ([title, message, ...rest]) => [inertLine(String(title)), inert(String(message)), ...rest]],
	["setStatus", ([key, text, ...rest]) => [key, typeof text === "string" ? inertLine(text) : text, ...rest]],
	[
		"setWidget",
		([key, content, ...rest]) => [
			key,
			Array.isArray(content) ? content.map((l) => (typeof l === "string" ? inertLine(l) : l)) : content,
			...rest,
		],
	],
]);

/** A property of `target`, methods bound to it (pi's objects may hold private state a proxy as `this` would lose). */
function member(target: object, key: PropertyKey): unknown {
	const value = Reflect.get(target, key, target);
	return typeof value === "function" ? (value as Fn).bind(target) : value;
}

/** `ui` whose notify, setStatus and setWidget (lines) sanitize what they are given; everything else as it is. */
export function inertUi<U extends object>(ui: U): U {
	return new Proxy(ui, {
		get(target, key) {
			const value = member(target, key);
			const sanitize = SANITIZE.get(key);
			return sanitize && typeof value === "function" ? (...args: unknown[]) => (value as Fn)(...sanitize(args)) : value;
		},
	});
}

/** A command's or an event's context whose `ui` is `inertUi`. */
export function inertContext<C extends { ui: object }>(ctx: C): C {
	const ui = inertUi(ctx.ui);
	return new Proxy(ctx, {
		get: (target, key) => (key === "ui" ? ui : member(target, key)),
	});
}
