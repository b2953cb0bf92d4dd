/**
 * Model preflight: before any worker starts, resolve each task's model the way its worker's pi will (the run's
 * `--model`, else the agent's, else the config's or the session's default, else pi's own default) and refuse, with
 * what to do, a model pi does not know or one whose provider has no credentials. A run that would fail in every
 * worker fails here, once, with the reason.
 */
import { join } from "node:path";
import { piAgentDir } from "../config/home.js";
import { loadSdk } from "../host.js";
import { isScripted, SCRIPTED_MODEL_IDS, SCRIPTED_PROVIDER } from "../scripted/scenario.js";
import { UsageError } from "../util/errors.js";

/** Who needs a model: the tasks (by id) that would run with it; `undefined` is pi's default. */
export type ModelNeeds = Map<string | undefined, string[]>;

const REHEARSE = `or rehearse offline with --model ${SCRIPTED_PROVIDER}/scripted`;

export async function preflightModels(needs: ModelNeeds, cwd: string): Promise<void> {
	const problems: string[] = [];
	const real = [...needs].filter(([model]) => !isScripted(model));
	for (const [model, tasks] of needs) {
		const id = isScripted(model) ? model?.slice(SCRIPTED_PROVIDER.length + 1) : undefined;
		if (id !== undefined && !(SCRIPTED_MODEL_IDS as readonly string[]).includes(id))
			problems.push(
				`model "${model}" (${who(tasks)}): the scripted models are ${SCRIPTED_MODEL_IDS.map((m) => `${SCRIPTED_PROVIDER}/${m}`).join(", ")}`,
			);
	}
	if (real.length > 0) problems.push(...(await checkWithPi(real, cwd)));
	if (problems.length > 0) throw new UsageError(`cannot start the run:\n${problems.map((p) => `  ${p}`).join("\n")}`);
}

async function checkWithPi(needs: [string | undefined, string[]][], cwd: string): Promise<string[]> {
	const sdk = await loadSdk();
	const agentDir = piAgentDir();
	const runtime = await sdk.ModelRuntime.create({
		authPath: join(agentDir, "auth.json"),
		modelsPath: join(agentDir, "models.json"),
	});
	const problems: string[] = [];
	for (const [model, tasks] of needs) {
		let reference = model;
		if (reference === undefined) {
			// pi's default: the settings' default model, else the first model that has credentials.
			const settings = sdk.SettingsManager.create(cwd, agentDir, { projectTrusted: false });
			const [provider, id] = [settings.getDefaultProvider(), settings.getDefaultModel()];
			if (provider && id) reference = `${provider}/${id}`;
			else if ((await runtime.getAvailable()).length > 0) continue;
			else {
				problems.push(
					`no model is configured (${who(tasks)}): pass --model provider/id, log in with /login in pi or set the provider's API key, ${REHEARSE}`,
				);
				continue;
			}
		}
		const resolved = sdk.resolveCliModel({ cliModel: reference, modelRuntime: runtime });
		if (!resolved.model) {
			problems.push(
				`model "${reference}" (${who(tasks)}): ${resolved.error ?? "not found"}; see: pi --list-models, ${REHEARSE}`,
			);
			continue;
		}
		const provider = resolved.model.provider;
		if (!runtime.hasConfiguredAuth(provider))
			problems.push(
				`model "${reference}" (${who(tasks)}): no credentials for provider "${provider}": log in with /login in pi, or set its API key in the environment (see pi's docs/providers.md), ${REHEARSE}`,
			);
	}
	return problems;
}

function who(tasks: string[]): string {
	const shown = tasks.slice(0, 3).join(", ");
	return `task${tasks.length > 1 ? "s" : ""} ${shown}${tasks.length > 3 ? ` and ${tasks.length - 3} more` : ""}`;
}
