/**
 * Models resolved against pi's registry before anything runs, as a user meets them: a typo in `--model`, a bare id
 * one or two credentialed providers offer, Claude aliases (newest of the family, or pinned in the config), and
 * `/team-doctor` in a pi session on a custom provider's model. pi's agent dir holds a models.json custom provider and
 * an auth.json with fake keys: resolution only, no model is called.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cli, hasTool, type Sandbox, sandbox, tmuxPi } from "../support/index.js";

/** Two custom providers offering `m1` (only `gw` with a key unless `gw2Key`), and an Anthropic key when asked. */
async function registry(box: Sandbox, opts: { gw2Key?: boolean; anthropic?: boolean } = {}) {
	const provider = (apiKey?: string) => ({
		baseUrl: "http://127.0.0.1:9/v1",
		api: "openai-completions",
		...(apiKey ? { apiKey } : {}),
		models: [
			{ id: "m1", contextWindow: 100_000, maxTokens: 4096 },
			{ id: "m2-large", contextWindow: 100_000, maxTokens: 4096 },
		],
	});
	await box.write(
		"../pi-agent/models.json",
		JSON.stringify({ providers: { gw: provider("gw-key-0123456789"), gw2: provider() } }),
	);
	const auth = {
		...(opts.gw2Key ? { gw2: { type: "api_key", key: "gw2-key-0123456789" } } : {}),
		...(opts.anthropic ? { anthropic: { type: "api_key", key: "sk-ant-fake-0123456789" } } : {}),
	};
	await box.write("../pi-agent/auth.json", JSON.stringify(auth));
}

const config = (box: Sandbox, yaml: string) => box.write("../crew-home/config.yaml", yaml);

test("models resolve before any worker: typos with did-you-mean, bare ids by credentials, Claude aliases newest or pinned", async () => {
	const box = await sandbox();
	await registry(box);
	const runs = join(box.repo, ".crew", "runs");
	const refused: [string, RegExp][] = [
		[
			"anthropic/claude-sonet-4",
			/model "anthropic\/claude-sonet-4" \(tasks .*\): provider "anthropic" has no model "claude-sonet-4"; did you mean anthropic\/claude-sonnet-\S+/,
		],
		["gw/m2-lrge", /provider "gw" has no model "m2-lrge"; did you mean gw\/m2-large\?/],
		["antropic/claude-sonnet-4-5", /pi has no provider "antropic"; did you mean "anthropic"\?/],
		// Bare, with no credentials for any provider that offers it: each candidate with what to set.
		[
			"claude-sonnet-4-5",
			/no provider that offers it has credentials: anthropic\/claude-sonnet-4-5 \(set .*ANTHROPIC_API_KEY/,
		],
	];
	for (const [model, message] of refused) {
		const res = await cli(["run", "default", "goal", "--model", model], box);
		assert.equal(res.code, 2, `${model}: ${res.stderr}`);
		assert.match(res.stderr, message, model);
	}
	assert.ok(!existsSync(runs), "no run directory: no worker started");

	// A bare id: the one provider with credentials that offers it; plan shows it per task.
	await config(box, "model: m1\n");
	const one = await cli(["plan", "default"], box);
	assert.equal(one.code, 0, one.stderr);
	assert.match(one.stdout, /explore\s+explorer \(explorer\)\s+starts at once\s+gw\/m1\n/);
	// Two providers with credentials offer it: a run names both and starts nothing.
	await registry(box, { gw2Key: true });
	const two = await cli(["run", "default", "goal"], box);
	assert.equal(two.code, 2, two.stderr);
	assert.match(
		two.stderr,
		/model "m1" \(tasks .*\): several providers with credentials offer it: gw\/m1, gw2\/m1; pass one/,
	);
	assert.ok(!existsSync(runs));

	// A Claude alias: the newest of its family at the provider with credentials; a pin in the config wins.
	await registry(box, { anthropic: true });
	await config(box, "model: sonnet\n");
	const alias = await cli(["plan", "default", "--json"], box);
	const planned = JSON.parse(alias.stdout) as { tasks: { model?: string }[]; modelProblems: string[] };
	assert.deepEqual(planned.modelProblems, []);
	assert.match(
		planned.tasks[0]?.model ?? "",
		/^anthropic\/claude-sonnet-5-5$/,
		"Claude Sonnet 5.5: the newest pi 1.6 lists",
	);
	await config(box, "model: sonnet\nclaude:\n  models:\n    sonnet: gw/m2-large\n");
	const pinned = await cli(["plan", "default"], box);
	assert.match(pinned.stdout, /explore\s+.*\s+gw\/m2-large\n/);
});

test("/team-doctor in pi on a custom provider's model checks that model and shows each fix whole", async (t) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	await registry(box);
	const pi = await tmuxPi(t, box, { x: 70, y: 60 }, "gw/m1");
	pi.keys("/team-doctor", "Enter");
	const screen = await pi.until("the doctor's report", (s) => /\btrust:/.test(s) && /search tools/.test(s));
	assert.match(screen, /ok\s+model: gw\/m1 \(this pi session's model\)/);
	// A fix longer than the 70 columns is wrapped, never cut.
	const flat = screen.replace(/\s+/g, " ");
	assert.match(flat, /fix: the repository may add agents, teams and workflows; its settings and code never run/);
});
