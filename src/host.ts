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
