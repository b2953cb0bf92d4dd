/**
 * The model policy and per-agent overrides, as pure decisions: `models.allow` globs per config layer (a repository's
 * list only narrows the user's), and the order that picks a task's model (step, role, the config's override of the
 * agent, the agent's file, the default).
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { withAgentOverrides } from "../../src/api/model-policy.js";
import { refusedBy } from "../../src/config/model-policy.js";
import { type AllowLayer, resolveConfig } from "../../src/config/resolve.js";
import { taskModels } from "../../src/engine/plan.js";
import type { Catalog } from "../../src/resources/catalog.js";
import type { AgentDef } from "../../src/resources/schema.js";
import { tempDir } from "../support/index.js";

const layer = (allow: string[], layer: "user" | "project" = "user"): AllowLayer => ({ allow, source: { layer } });

test("models.allow: provider/id globs, every layer must allow a model, a thinking suffix is not part of its id", () => {
	const user = layer(["anthropic/*", "openai/gpt-5*"]);
	assert.equal(refusedBy("anthropic/claude-sonnet-4-5", [user]), undefined);
	assert.equal(refusedBy("openai/gpt-5-mini", [user]), undefined);
	assert.equal(refusedBy("openai/gpt-4o", [user]), user);
	// A glob is the whole name: `anthropic/*` is not `anthropic-vertex/...`.
	assert.equal(refusedBy("anthropic-vertex/claude", [user]), user);
	assert.equal(refusedBy("anthropic/claude-opus-4:high", [user]), undefined, "pi's :thinking suffix");
	// `qwen:latest` is an id, not a thinking level.
	assert.equal(refusedBy("ollama/qwen:latest", [layer(["ollama/qwen"])])?.allow[0], "ollama/qwen");
	// Intersection: the repository's list narrows; it is the layer that refuses what only it leaves out.
	const project = layer(["anthropic/claude-sonnet-*", "google/*"], "project");
	assert.equal(refusedBy("anthropic/claude-sonnet-4-5", [user, project]), undefined);
	assert.equal(refusedBy("anthropic/claude-opus-4", [user, project]), project);
	assert.equal(refusedBy("google/gemini-2.5-pro", [user, project]), user, "the project cannot loosen");
});

test("a repository's models.allow is a second list beside the user's (or the only one); it never sets agents", async () => {
	const dir = await tempDir("pi-crew-policy-");
	const [home, repo] = [join(dir, "home"), join(dir, "repo")];
	await mkdir(home, { recursive: true });
	await mkdir(join(repo, ".crew"), { recursive: true });
	const project = (yaml: string) => writeFile(join(repo, ".crew", "config.yaml"), yaml);
	await project("models:\n  allow: [openai/*]\nagents:\n  executor: { model: openai/gpt-5 }\n");
	const only = await resolveConfig(repo, home);
	assert.deepEqual(only.values.models.allow, [
		{ allow: ["openai/*"], source: { layer: "project", file: join(repo, ".crew", "config.yaml"), line: 2 } },
	]);
	assert.deepEqual(only.values.agents, {}, "per-agent overrides are the user's own");
	assert.match(
		only.problems.map((p) => `${p.field}: ${p.message}`).join("\n"),
		/agents: ignored: a repository may not set agents/,
	);

	await writeFile(join(home, "config.yaml"), "models:\n  allow:\n    - anthropic/*\n");
	const both = await resolveConfig(repo, home);
	assert.deepEqual(
		both.values.models.allow.map((l) => [l.allow, l.source.layer, l.source.line]),
		[
			[["anthropic/*"], "user", 2],
			[["openai/*"], "project", 2],
		],
	);
	assert.equal(refusedBy("openai/gpt-5", both.values.models.allow)?.source.layer, "user");
});

const agent = (name: string, extra: Partial<AgentDef> = {}): AgentDef => ({
	name,
	description: name,
	prompt: "",
	source: { file: `${name}.md`, scope: "builtin", lineOf: () => undefined },
	...extra,
});

test("a task's model: --model, then the step's, its role's, the config's agents.<name>, the agent file's, the default", () => {
	const catalog: Catalog = {
		agents: new Map([["executor", agent("executor", { model: "a/file", fallbackModels: ["a/file-fallback"] })]]),
		teams: new Map(),
		workflows: new Map(),
		problems: [],
	};
	const config = {
		values: {
			agents: {
				executor: { model: "a/config", thinking: "high" as const, fallbackModels: ["a/config-fallback"] },
				ghost: { model: "a/x" },
			},
		},
		sources: { "agents.ghost.model": { layer: "user" as const, file: "config.yaml", line: 7 } },
	} as unknown as Parameters<typeof withAgentOverrides>[1];
	const overridden = withAgentOverrides(catalog, config);
	const executor = overridden.agents.get("executor") as AgentDef;
	assert.equal(executor.thinking, "high");
	assert.equal(catalog.agents.get("executor")?.model, "a/file", "the loaded catalog is not changed");
	assert.deepEqual(
		overridden.problems.map((p) => [p.file, p.line, p.field]),
		[["config.yaml", 7, "agents.ghost"]],
	);
	const settings = { defaultModel: "a/default" };
	assert.deepEqual(taskModels(settings, { agent: executor }), ["a/config", "a/config-fallback"]);
	assert.deepEqual(taskModels(settings, { agent: executor, model: "a/step" }), ["a/step", "a/config-fallback"]);
	assert.deepEqual(taskModels({ ...settings, model: "a/cli" }, { agent: executor, model: "a/step" }), ["a/cli"]);
	assert.deepEqual(taskModels(settings, { agent: catalog.agents.get("executor") as AgentDef }), [
		"a/file",
		"a/file-fallback",
	]);
	assert.deepEqual(taskModels(settings, { agent: agent("plain") }), ["a/default"]);
});
