/**
 * The one module that names the host's packages. Upstream renamed the scope (`@earendil-works/pi-*`); when we move,
 * this file is the only edit. Value imports here load pi's modules, so only code that runs inside pi imports them.
 */
export type { Api, AssistantMessage, Context, Message, Model } from "@mariozechner/pi-ai";
export {
	fauxAssistantMessage,
	fauxText,
	fauxToolCall,
	getApiProvider,
	registerFauxProvider,
	StringEnum,
} from "@mariozechner/pi-ai";
export type { ExtensionAPI } from "@mariozechner/pi-coding-agent";

/** The SDK, for the in-process runtime only: loading it costs ~0.6 s, so it is imported on first use. */
export function loadSdk() {
	return import("@mariozechner/pi-coding-agent");
}
