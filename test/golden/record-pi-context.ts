/**
 * Records the transcript context pi hands a provider, as a golden fixture for the scripted model. A pi extension:
 *   pi -ne -e test/golden/record-pi-context.ts --model recorder/rec --append-system-prompt "<identity line>" \
 *     -p @pixel.png "
 * First call: thinking plus a `read` of the image; second call: writes context.messages to RECORD_TO and answers.
 */
import { writeFileSync } from "node:fs";
import { fauxAssistantMessage, fauxProvider, fauxText, fauxThinking, fauxToolCall } from "@earendil-works/pi-ai";
import type { ExtensionAPI } from "@earendil-works/pi-coding-agent";

export default function recorder(pi: ExtensionAPI): void {
	const faux = fauxProvider({
		api: "recorder",
		provider: "recorder",
		models: [{ id: "rec", input: ["text", "image"], contextWindow: 200_000 }],
	});
	faux.setResponses([
		fauxAssistantMessage([fauxThinking("I should look at the image."), fauxToolCall("read", { path: "pixel.png" })], {
			stopReason: "toolUse",
		}),
		(context) => {
			writeFileSync(process.env.RECORD_TO ?? "context.json", `${JSON.stringify(context.messages, null, "\t")}\n`);
			return fauxAssistantMessage([fauxText("recorded")]);
		},
	]);
	pi.registerProvider(faux.provider);
}
