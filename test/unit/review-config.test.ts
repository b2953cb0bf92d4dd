/** The config's reviewer (`verify`): a repository's config may name one where yours names none, never replace yours. */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../../src/config/resolve.js";
import { tempDir } from "../support/index.js";

async function resolved(user: string | undefined, project: string) {
	const dir = await tempDir("pi-crew-review-config-");
	const repo = join(dir, "repo");
	const home = join(dir, "home");
	await mkdir(join(repo, ".crew"), { recursive: true });
	await mkdir(join(repo, ".git"));
	await mkdir(home);
	if (user !== undefined) await writeFile(join(home, "config.yaml"), user);
	await writeFile(join(repo, ".crew", "config.yaml"), project);
	return resolveConfig(repo, home);
}

test("a repository's reviewer applies where your config names none, with its file and line as the source", async () => {
	const config = await resolved(undefined, "concurrency: 1\nverify: { agent: security-reviewer }\n");
	assert.deepEqual(config.values.verify, { agent: "security-reviewer" });
	assert.equal(config.sources["verify.agent"]?.layer, "project");
	assert.equal(config.sources["verify.agent"]?.line, 2);
	assert.deepEqual(config.problems, []);
	assert.equal(config.values.verifyRounds, 3);
});

test("your reviewer wins over a repository's, which is reported as ignored", async () => {
	const config = await resolved("verify:\n  agent: reviewer\nverifyRounds: 2\n", "verify: { agent: critic }\n");
	assert.deepEqual(config.values.verify, { agent: "reviewer" });
	assert.equal(config.sources["verify.agent"]?.layer, "user");
	assert.equal(config.values.verifyRounds, 2);
	assert.deepEqual(
		config.problems.map((p) => [p.field, p.line, p.message]),
		[["verify", 1, `ignored: your config names a reviewer (verify.agent is reviewer: user ${config.userFile}:2)`]],
	);
});

test("a repository's reviewer runs on its own agent's model: the repository's verify.model is ignored, with its line", async () => {
	const config = await resolved(undefined, "verify:\n  agent: critic\n  model: paid/opus\n");
	assert.deepEqual(config.values.verify, { agent: "critic" });
	assert.equal(config.sources["verify.model"], undefined);
	assert.deepEqual(
		config.problems.map((p) => [p.severity, p.field, p.line, p.message]),
		[
			[
				"warning",
				"verify.model",
				3,
				"ignored: a repository's config does not choose the model its reviewer runs on (paid/opus)",
			],
		],
	);
});

test("one rule for agent names and model references: verify, merge and agents.* take what a workflow takes", async () => {
	const fuzzy = await resolved(
		"verify: { agent: reviewer, model: sonnet }\nmerge: { resolver: merger, model: haiku }\nagents:\n  executor: { model: opus }\n",
		"concurrency: 1\n",
	);
	assert.deepEqual(fuzzy.problems, []);
	assert.deepEqual(fuzzy.values.verify, { agent: "reviewer", model: "sonnet" });
	assert.deepEqual(fuzzy.values.merge, { resolver: "merger", model: "haiku" });
	// A name no agent can have (agents' names are lower-case) is refused where it is set, as verify.agent's is.
	await assert.rejects(
		resolved("merge: { resolver: Merger.v2 }\nverify: { agent: Reviewer }\n", "concurrency: 1\n"),
		/config\.yaml:1 \[merge\.resolver\]: must match pattern "\^\[a-z0-9\][^\n]*\n.*config\.yaml:2 \[verify\.agent\]: must match/,
	);
});
