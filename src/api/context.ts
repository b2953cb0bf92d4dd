/** What most api commands start from: the repository, its effective config and its resources. */
import type { ResolvedConfig } from "../config/resolve.js";
import { projectTrust } from "../config/trust.js";
import type { Catalog } from "../resources/catalog.js";
import { findRepo } from "../util/repo.js";

interface Context {
	repo: string;
	/** The effective config here: the user's, with what the repository's `.crew/config.*` tightens. */
	config: ResolvedConfig;
	catalog: Catalog;
}

/** Config and resources load only for commands that need them (not for status, list, events). */
export async function context(cwd?: string): Promise<Context> {
	const { resolveConfig } = await import("../config/resolve.js");
	const { loadCatalog } = await import("../resources/catalog.js");
	const repo = findRepo(cwd);
	const config = await resolveConfig(repo);
	const claude = config.user.claude;
	const catalog = await loadCatalog({
		repo,
		trustProject: projectTrust(repo).trusted,
		claude: {
			userAgents: claude?.userAgents ?? true,
			projectAgents: claude?.projectAgents ?? true,
		},
	});
	// The config's per-agent overrides (model, thinking, fallbacks) are the agents every command plans with.
	if (Object.keys(config.values.agents).length === 0) return { repo, config, catalog };
	return { repo, config, catalog: (await import("./model-policy.js")).withAgentOverrides(catalog, config) };
}
