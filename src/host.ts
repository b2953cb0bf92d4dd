/**
 * The one module that names the host's packages (`@earendil-works/pi-*` 1.x). It has no value imports: pi's modules
 * load only through the functions below, so any module may import this one without paying for pi (inside pi they
 * are the host's own, already loaded).
 */
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
