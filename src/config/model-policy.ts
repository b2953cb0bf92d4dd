/** The model policy (`models.allow`): which `provider/id` a run may use, and which config refuses one it may not. */
import type { SettingSource } from "../store/settings.js";
import { globMatch } from "../util/glob.js";
import { formatSource, THINKING_LEVELS } from "./home.js";
import type { AllowLayer } from "./resolve.js";

/** The first layer that allows none of `model` (`provider/id`, a `:thinking` suffix ignored), if one refuses it. */
export function refusedBy(model: string, layers: readonly AllowLayer[]): AllowLayer | undefined {
	const colon = model.lastIndexOf(":");
	const level = model.slice(colon + 1);
	const bare = colon > 0 && (THINKING_LEVELS as readonly string[]).includes(level) ? model.slice(0, colon) : model;
	return layers.find((layer) => !layer.allow.some((glob) => globMatch(glob, bare)));
}

/** `models.allow [a, b] (user ~/.crew/config.yaml:3)`: one layer, with where it is set. */
export function formatLayer(layer: { allow: string[]; source: SettingSource }): string {
	return `models.allow [${layer.allow.join(", ")}] (${formatSource(layer.source)})`;
}
