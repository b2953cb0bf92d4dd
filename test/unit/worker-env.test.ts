/**
 * A worker's environment: the essentials, exactly its model's credentials as pi resolves them (the provider's
 * standard variables, what the user's models.json and auth.json name, pi's default provider), and the config's
 * allow-list; never another secret of the coordinator's environment.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { workerEnv } from "../../src/workers/worker-env.js";
import { tempDir } from "../support/index.js";

const spec = {
	runId: "r1",
	taskId: "t1",
	cwd: "/repo",
	repo: "/repo",
	projectTrusted: true,
	model: "crew-scripted/scripted",
};

/** The coordinator's environment: essentials, every kind of credential, and secrets no model needs. */
async function coordinator(files: Record<string, unknown> = {}): Promise<NodeJS.ProcessEnv> {
	const agentDir = await tempDir("pi-crew-agent-");
	for (const [name, json] of Object.entries(files)) await writeFile(join(agentDir, name), JSON.stringify(json));
	return {
		PATH: "/bin",
		HOME: "/h",
		LANG: "C.UTF-8",
		TMPDIR: "/tmp",
		HTTPS_PROXY: "http://proxy:3128",
		NODE_EXTRA_CA_CERTS: "/ca.pem",
		PI_CODING_AGENT_DIR: agentDir,
		PI_OFFLINE: "1",
		PI_CREW_HOME: "/crew",
		PI_CREW_SCENARIO: "/evil",
		ANTHROPIC_API_KEY: "a",
		ANTHROPIC_WORKSPACE_ID: "w",
		OPENAI_API_KEY: "o",
		AWS_PROFILE: "p",
		AWS_REGION: "eu-west-1",
		AWS_SECRET_ACCESS_KEY: "s",
		MY_GATEWAY_TOKEN: "g",
		ORG_ID: "org",
		VAULT_KEY: "v",
		GITHUB_TOKEN: "ghp",
		SOME_OTHER_API_KEY: "x",
		DATABASE_PASSWORD: "db",
		CORP_USER: "u",
	};
}

/** pi's braced reference to a variable, `${NAME}`. */
const braced = (name: string) => `\${${name}}`;
const names = (env: NodeJS.ProcessEnv) => Object.keys(env).sort();
const UNRELATED = ["GITHUB_TOKEN", "SOME_OTHER_API_KEY", "DATABASE_PASSWORD", "CORP_USER"];
const absent = (env: NodeJS.ProcessEnv, list: string[]) =>
	assert.deepEqual(
		list.filter((n) => n in env),
		[],
	);

test("the scripted model needs no credentials: essentials, pi's variables and the task's markers only", async () => {
	const base = await coordinator();
	const env = await workerEnv(spec, { base });
	for (const k of [
		"PATH",
		"HOME",
		"LANG",
		"TMPDIR",
		"HTTPS_PROXY",
		"NODE_EXTRA_CA_CERTS",
		"PI_OFFLINE",
		"PI_CREW_HOME",
	])
		assert.equal(env[k], base[k], k);
	absent(env, [...UNRELATED, "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "AWS_PROFILE", "AWS_SECRET_ACCESS_KEY"]);
	assert.equal(env.PI_CREW_SCENARIO, undefined, "the scenario comes from the run, not the environment");
	assert.deepEqual([env.PI_CREW_RUN_ID, env.PI_CREW_TASK_ID, env.PI_CREW_DEPTH], ["r1", "t1", "1"]);
});

test("a model gets its own provider's credentials and nothing of the other providers", async () => {
	const base = await coordinator();
	const anthropic = await workerEnv({ ...spec, model: "anthropic/claude-sonnet-4-5" }, { base });
	assert.equal(anthropic.ANTHROPIC_API_KEY, "a");
	assert.equal(anthropic.ANTHROPIC_WORKSPACE_ID, "w", "the identity variables pi reads for Anthropic");
	absent(anthropic, [...UNRELATED, "OPENAI_API_KEY", "AWS_PROFILE", "AWS_SECRET_ACCESS_KEY", "MY_GATEWAY_TOKEN"]);
	const bedrock = await workerEnv({ ...spec, model: "amazon-bedrock/anthropic.claude-x" }, { base });
	assert.deepEqual(
		names(bedrock).filter((k) => k.startsWith("AWS_")),
		["AWS_PROFILE", "AWS_REGION", "AWS_SECRET_ACCESS_KEY"],
		"the AWS credential chain",
	);
	absent(bedrock, [...UNRELATED, "ANTHROPIC_API_KEY", "OPENAI_API_KEY"]);
});

test("the variables the user's models.json and auth.json name for the provider pass, of any name", async () => {
	const base = await coordinator({
		"models.json": {
			providers: {
				gw: {
					baseUrl: "http://127.0.0.1:1/v1",
					apiKey: "$MY_GATEWAY_TOKEN",
					// `$$` is a literal dollar: no variable named there.
					headers: { "x-org": braced("ORG_ID"), "x-note": "costs $$DATABASE_PASSWORD" },
				},
			},
		},
		"auth.json": { openai: { type: "api_key", key: `!vault read ${braced("VAULT_KEY")}` } },
	});
	const gw = await workerEnv({ ...spec, model: "gw/m1" }, { base });
	assert.deepEqual([gw.MY_GATEWAY_TOKEN, gw.ORG_ID], ["g", "org"]);
	absent(gw, [...UNRELATED, "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "VAULT_KEY"]);
	const openai = await workerEnv({ ...spec, model: "openai/gpt-5" }, { base });
	assert.deepEqual([openai.OPENAI_API_KEY, openai.VAULT_KEY], ["o", "v"]);
	absent(openai, [...UNRELATED, "ANTHROPIC_API_KEY", "MY_GATEWAY_TOKEN"]);
});

test("with no model, pi's default provider from the user's settings; when none can be told, every provider's keys", async () => {
	const configured = await coordinator({ "settings.json": { defaultProvider: "openai", defaultModel: "gpt-5" } });
	const env = await workerEnv({ ...spec, model: undefined }, { base: configured });
	assert.equal(env.OPENAI_API_KEY, "o");
	absent(env, [...UNRELATED, "ANTHROPIC_API_KEY", "AWS_PROFILE"]);
	for (const model of [undefined, "nowhere/m1"]) {
		const all = await workerEnv({ ...spec, model }, { base: await coordinator() });
		for (const k of ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "AWS_PROFILE", "AWS_SECRET_ACCESS_KEY"])
			assert.ok(k in all, k);
		absent(all, UNRELATED);
	}
});

test("the config's allow-list passes more variables by name or prefix, never pi-crew's own", async () => {
	const base = { ...(await coordinator()), CORP_TOKEN: "t", CORPORATE: "c" };
	const env = await workerEnv(spec, { base, allow: ["DATABASE_PASSWORD", "CORP_*", "PI_CREW_SCENARIO"] });
	assert.deepEqual([env.DATABASE_PASSWORD, env.CORP_USER, env.CORP_TOKEN], ["db", "u", "t"]);
	absent(env, ["GITHUB_TOKEN", "SOME_OTHER_API_KEY", "CORPORATE", "PI_CREW_SCENARIO"]);
});

test("env.allow in the config takes names and PREFIX_*, nothing wider", async () => {
	const home = await tempDir("pi-crew-config-");
	await writeFile(join(home, "config.yaml"), "env:\n  allow: [MY_TOKEN, CORP_*]\n");
	assert.deepEqual((await loadConfig(home)).env, { allow: ["MY_TOKEN", "CORP_*"] });
	for (const bad of ['"*"', "MY-TOKEN", '"A*B"']) {
		await writeFile(join(home, "config.yaml"), `env:\n  allow: [${bad}]\n`);
		await assert.rejects(loadConfig(home), ConfigError, bad);
	}
});
