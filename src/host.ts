/**
 * The one module that names the host's packages (`@earendil-works/pi-*` 1.x). It imports no value from pi: pi's modules
 * load only through the functions below, so any module may import this one without paying for pi (inside pi they
 * are the host's own, already loaded: see `shareHostModules`).
 */
import { realpathSync, statSync } from "node:fs";
import { registerHooks } from "node:module";
import { pathToFileURL } from "node:url";

export type {
	Api,
	AssistantMessage,
	JsonObject,
	Message,
	Model,
	Provider,
	TranscriptContext,
} from "@earendil-works/pi-ai";
export type { ExtensionAPI, ExtensionContext, Theme } from "@earendil-works/pi-coding-agent";
export type { Component, MarkdownTheme, TUI } from "@earendil-works/pi-tui";

/** The package of the host's CLI, for finding the pi installed beside pi-crew. */
export const HOST_PACKAGE = "@earendil-works/pi-coding-agent";

/** The SDK, for the in-process runtime: loading it costs ~0.6 s outside pi, so it is imported on first use. */
export function loadSdk() {
	return import("@earendil-works/pi-coding-agent");
}

/** pi-ai (the faux provider and transcript helpers the scripted model is built on). */
export function loadAi() {
	return import("@earendil-works/pi-ai");
}

/**
 * pi-ai's compatibility entry: the one place pi-ai exports which variables hold each provider's key (`findEnvKeys`)
 * and its list of built-in providers. The SDK imports it itself, so inside pi it is already loaded.
 */
export function loadAiCompat() {
	return import("@earendil-works/pi-ai/compat");
}

/**
 * pi-tui: terminal widths, key names and Markdown for the dashboard and the viewers. Inside pi the import resolves to
 * the host's own, already loaded copy (pi aliases it for extensions).
 */
export function loadTui() {
	return import("@earendil-works/pi-tui");
}

/** The packages pi shares with its extensions (pi's docs/extensions.md, "Available Imports"), and their subpaths. */
const SHARED_WITH_EXTENSIONS = /^(?:@earendil-works\/pi-(?:ai|agent-core|coding-agent|tui)|typebox)(?:\/|$)/;
const HOOKED = Symbol.for("pi-crew.shareHostModules");

/**
 * Our modules' imports of the packages pi shares resolve to the copies of the pi whose entry script is `entry`. Inside
 * pi (an extension's entry passes `process.argv[1]`): pi maps those imports only in the files its loader reads; our
 * lazy `import()`s are Node's own, which look in the node_modules around pi-crew: empty when pi installed the package
 * (it installs no peers), a second copy of pi beside a global install. Outside pi (the CLI under a pi session: a
 * background coordinator, a run started from the session's shell) `entry` is the session's pi, for the same reasons.
 * Nothing to do without an entry script (a compiled pi): it loads extensions another way.
 */
export function shareHostModules(entry: string | undefined): void {
	const global = globalThis as { [HOOKED]?: true };
	if (!entry || global[HOOKED] || !statSync(entry, { throwIfNoEntry: false })?.isFile()) return;
	global[HOOKED] = true;
	const host = pathToFileURL(realpathSync(entry)).href;
	const own = new URL("..", import.meta.url).href;
	const ours = (parent: string | undefined) =>
		parent?.startsWith(own) === true && !parent.slice(own.length).startsWith("node_modules/");
	registerHooks({
		resolve: (specifier, context, next) =>
			SHARED_WITH_EXTENSIONS.test(specifier) && ours(context.parentURL)
				? next(specifier, { ...context, parentURL: host })
				: next(specifier, context),
	});
}
