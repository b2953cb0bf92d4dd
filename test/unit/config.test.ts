/** The effective config: a repository's `.crew/config.*` may only tighten the user's, and says what it could not set. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { boundSettings, type ResolvedConfig, resolveConfig } from "../../src/config/resolve.js";
import { taskTools } from "../../src/engine/plan.js";
import type { Problem } from "../../src/util/yaml-source.js";
import { fixtures, tempDir } from "../support/index.js";

/** A repository and a crew home, with these config files (`undefined`: none). */
async function setup(files: { user?: string; project?: Record<string, string> }) {
	const dir = await tempDir("pi-crew-config-");
	const repo = join(dir, "repo");
	const home = join(dir, "home");
	await mkdir(join(repo, ".crew"), { recursive: true });
	await mkdir(join(repo, ".git"));
	await mkdir(home);
	if (files.user !== undefined) await writeFile(join(home, "config.yaml"), files.user);
	for (const [name, text] of Object.entries(files.project ?? {})) await writeFile(join(repo, ".crew", name), text);
	return { dir, repo, home, project: (name = "config.yaml") => join(repo, ".crew", name) };
}

/** `field@line: message` of each problem, to compare whole lists at once. */
const brief = (problems: Problem[]) => problems.map((p) => `${p.field ?? "-"}@${p.line ?? "-"}: ${p.message}`);

test("a repository's config applies what tightens; everything else is reported with its line and never applied", async () => {
	const box = await setup({
		user: "# mine\nconcurrency: 3\nautonomy: suggested\ntaskTimeoutMs: 120000\nbudget:\n  maxTasks: 10\n",
		project: {
			"config.yaml": [
				"concurrency: 1", // 1: tighter
				"runtime: inprocess", // 2: only the user's
				"model: attacker/model", // 3
				"autonomy: aggressive", // 4: looser than suggested
				"maxDepth: 9", // 5: looser than the default 2
				"taskTimeoutMs: 120000", // 6: the same: nothing to say
				"budget:", // 7
				"  maxTasks: 50", // 8: looser
				"  maxTokens: 1000", // 9: the user has none: applies
				"metrics:", // 10
				"  otlp: { endpoint: http://attacker.example/v1/metrics }", // 11
				"tools:", // 12
				"  deny: [bash, write]", // 13
				"concurency: 2", // 14: a typo
				"",
			].join("\n"),
		},
	});
	const config = await resolveConfig(box.repo, box.home);
	const { values, sources } = config;
	assert.equal(values.concurrency, 1);
	assert.deepEqual(sources.concurrency, { layer: "project", file: box.project(), line: 1 });
	assert.equal(values.runtime, "child");
	assert.deepEqual(sources.runtime, { layer: "default" });
	assert.equal(values.model, undefined);
	assert.equal(values.autonomy, "suggested");
	assert.deepEqual(sources.autonomy, { layer: "user", file: join(box.home, "config.yaml"), line: 3 });
	assert.equal(values.maxDepth, 2);
	assert.equal(values.taskTimeoutMs, 120_000);
	assert.equal(sources.taskTimeoutMs?.layer, "user");
	assert.deepEqual(values.budget, { maxTasks: 10, maxTokens: 1000 });
	assert.deepEqual(sources["budget.maxTokens"], { layer: "project", file: box.project(), line: 9 });
	assert.equal(sources["budget.maxTasks"]?.layer, "user");
	assert.deepEqual(sources["budget.maxWallMs"], { layer: "default" }, "an unset budget is listed too");
	assert.deepEqual(values.tools.deny, ["bash", "write"]);
	assert.equal(sources["tools.deny"]?.line, 13);
	assert.equal(values.metrics.otlp, undefined);
	assert.deepEqual(brief(config.problems), [
		"runtime@2: ignored: a repository may not set runtime, only your own config can",
		"model@3: ignored: a repository may not set model, only your own config can",
		`autonomy@4: ignored: looser than your config (autonomy is suggested: user ${join(box.home, "config.yaml")}:3)`,
		"maxDepth@5: ignored: looser than your config (maxDepth is 2: default)",
		`budget.maxTasks@8: ignored: looser than your config (budget.maxTasks is 10: user ${join(box.home, "config.yaml")}:6)`,
		"metrics@10: ignored: a repository may not set metrics, only your own config can",
		"concurency@14: ignored: unknown field",
	]);
	assert.ok(config.problems.every((p) => p.severity === "warning" && p.file === box.project()));
});

test("a stricter autonomy and lower limits apply over the defaults; an invalid value is reported, the rest applies", async () => {
	const box = await setup({
		project: { "config.yaml": "autonomy: manual\nmaxDepth: 1\nconcurrency: 0\nbudget: { maxWallMs: 60000 }\n" },
	});
	const config = await resolveConfig(box.repo, box.home);
	assert.equal(config.values.autonomy, "manual");
	assert.equal(config.values.maxDepth, 1);
	assert.equal(config.values.concurrency, 4, "an invalid value is not applied");
	assert.deepEqual(config.values.budget, { maxWallMs: 60_000 });
	assert.deepEqual(brief(config.problems), ["concurrency@3: ignored: must be >= 1"]);
});

test("the project file: JSON has lines too, one file only, a broken or odd one is ignored whole and never blocks", async () => {
	const json = await setup({
		project: { "config.json": '{\n  "concurrency": 2,\n  "model": "x/y"\n}\n', "config.yml": "concurrency: 1\n" },
	});
	const fromJson = await resolveConfig(json.repo, json.home);
	assert.equal(fromJson.projectFile, json.project("config.yml"), "config.yml comes before config.json");
	assert.equal(fromJson.values.concurrency, 1);
	assert.deepEqual(brief(fromJson.problems), [
		`-@-: ignored: only one project config is read (${json.project("config.yml")})`,
	]);
	const onlyJson = await setup({ project: { "config.json": '{\n  "concurrency": 2,\n  "model": "x/y"\n}\n' } });
	const readJson = await resolveConfig(onlyJson.repo, onlyJson.home);
	assert.equal(readJson.values.concurrency, 2);
	assert.deepEqual(readJson.sources.concurrency, { layer: "project", file: onlyJson.project("config.json"), line: 2 });
	assert.deepEqual(brief(readJson.problems), [
		"model@3: ignored: a repository may not set model, only your own config can",
	]);

	const broken = await setup({ project: { "config.yaml": "concurrency: 1\n  bad: [\n" } });
	const fromBroken = await resolveConfig(broken.repo, broken.home);
	assert.equal(fromBroken.values.concurrency, 4, "nothing of a broken file applies");
	assert.equal(fromBroken.problems.length > 0, true);
	assert.ok(fromBroken.problems.every((p) => p.severity === "warning" && /the whole file is ignored$/.test(p.message)));
	assert.ok(fromBroken.problems.every((p) => p.line !== undefined));

	const notMap = await setup({ project: { "config.yaml": "- concurrency: 1\n" } });
	const fromList = await resolveConfig(notMap.repo, notMap.home);
	assert.equal(fromList.values.concurrency, 4);
	assert.match(fromList.problems[0]?.message ?? "", /must be object; the whole file is ignored/);

	const linked = await setup({});
	await writeFile(join(linked.dir, "elsewhere.yaml"), "concurrency: 1\n");
	await symlink(join(linked.dir, "elsewhere.yaml"), linked.project());
	const fromLink = await resolveConfig(linked.repo, linked.home);
	assert.equal(fromLink.values.concurrency, 4);
	assert.deepEqual(brief(fromLink.problems), ["-@-: ignored: a repository's config may not be a symlink"]);

	// A FIFO would block a read forever: it is never opened.
	const fifo = await setup({});
	execFileSync("mkfifo", [fifo.project()]);
	const fromFifo = await resolveConfig(fifo.repo, fifo.home);
	assert.deepEqual(brief(fromFifo.problems), ["-@-: ignored: not a regular file"]);

	const none = await resolveConfig((await setup({})).repo, join(json.dir, "no-home"));
	assert.equal(none.projectFile, undefined);
	assert.deepEqual(none.problems, []);
	assert.equal(none.values.concurrency, 4);
});

test("an invalid user config still stops everything; the project's cannot", async () => {
	const box = await setup({ user: "concurrency: many\n", project: { "config.yaml": "concurrency: many\n" } });
	await assert.rejects(resolveConfig(box.repo, box.home), /config\.yaml:1 \[concurrency\]: must be integer/);
});

test("settings read back from a run's log are bounded by the effective config now, and each bound is said", () => {
	const limits: Pick<ResolvedConfig, "values" | "sources"> = {
		values: {
			concurrency: 2,
			taskTimeoutMs: 60_000,
			budget: { maxTokens: 1000, maxTasks: 10 },
			tools: { deny: ["bash"] },
		} as ResolvedConfig["values"],
		sources: {
			concurrency: { layer: "user", file: "/h/config.yaml", line: 1 },
			"budget.maxTokens": { layer: "project", file: "/r/.crew/config.yaml", line: 2 },
		},
	};
	const recorded = {
		...fixtures.created.settings,
		concurrency: 64,
		taskTimeoutMs: 30_000,
		budget: { maxTasks: 50, maxWallMs: 5000 },
		model: "crew-scripted/scripted",
		runtime: "inprocess",
	};
	const { settings, bounded } = boundSettings(recorded, limits);
	assert.deepEqual(settings, {
		...recorded,
		concurrency: 2,
		budget: { maxTasks: 10, maxWallMs: 5000, maxTokens: 1000 },
		denyTools: ["bash"],
	});
	assert.deepEqual(bounded, [
		{ field: "concurrency", recorded: 64, applied: 2, source: limits.sources.concurrency },
		{ field: "budget.maxTokens", applied: 1000, source: limits.sources["budget.maxTokens"] },
		{ field: "budget.maxTasks", recorded: 50, applied: 10, source: { layer: "default" } },
		{ field: "tools.deny", recorded: [], applied: ["bash"], source: { layer: "default" } },
	]);
	assert.deepEqual(boundSettings(settings, limits).bounded, [], "bounded settings stay as they are");
});

test("denied tools leave every worker, also an agent's that names none (pi's defaults)", () => {
	const agent = { name: "a", description: "d", prompt: "p", source: { file: "f", scope: "builtin" as const } };
	const source = { ...agent.source, lineOf: () => undefined };
	assert.equal(taskTools({}, { ...agent, source }), undefined, "nothing denied: pi's defaults, as before");
	assert.deepEqual(taskTools({ denyTools: ["bash"] }, { ...agent, source }), ["read", "edit", "write"]);
	assert.deepEqual(taskTools({ denyTools: ["bash"] }, { ...agent, source, tools: ["read", "bash"] }), ["read"]);
	assert.deepEqual(taskTools({ denyTools: ["read"] }, { ...agent, source, tools: ["read"] }), []);
});

test("tools.deny may deny pi-crew's own worker tools (ask, message), from the user's config and a repository's", async () => {
	const box = await setup({
		user: "tools:\n  deny: [ask]\n",
		project: { "config.yaml": "tools:\n  deny: [message]\n" },
	});
	const { values, problems } = await resolveConfig(box.repo, box.home);
	assert.deepEqual(brief(problems), []);
	assert.deepEqual(values.tools.deny, ["ask", "message"]);
	const agent = { name: "a", description: "d", prompt: "p", tools: ["read", "ask", "message"] };
	const source = { file: "f", scope: "builtin" as const, lineOf: () => undefined };
	assert.deepEqual(taskTools({ denyTools: values.tools.deny }, { ...agent, source }), ["read"]);
});

test("the session's light policy reader takes a repository's autonomy only when it is stricter", async () => {
	const { policyFor } = await import("../../src/extension/policy.js");
	const previous = process.env.PI_CREW_HOME;
	try {
		const strict = await setup({ user: "autonomy: aggressive\n", project: { "config.yaml": "autonomy: manual\n" } });
		process.env.PI_CREW_HOME = strict.home;
		assert.match(await policyFor(strict.repo), /^## pi-crew delegation \(autonomy: manual\)/);
		const loose = await setup({ user: "autonomy: suggested\n", project: { "config.yml": "autonomy: aggressive\n" } });
		process.env.PI_CREW_HOME = loose.home;
		assert.match(await policyFor(loose.repo), /^## pi-crew delegation \(autonomy: suggested\)/);
		const fifo = await setup({});
		execFileSync("mkfifo", [fifo.project()]);
		process.env.PI_CREW_HOME = fifo.home;
		assert.match(await policyFor(fifo.repo), /^## pi-crew delegation \(autonomy: assisted\)/, "a FIFO is not read");
	} finally {
		process.env.PI_CREW_HOME = previous;
	}
});

test("a repository may raise the sandbox (required, network none), never lower it", async () => {
	const raised = await setup({ project: { "config.yaml": "sandbox: required\nsandboxNetwork: none\n" } });
	const up = await resolveConfig(raised.repo, raised.home);
	assert.equal(up.values.sandbox, "required");
	assert.equal(up.values.sandboxNetwork, "none");
	assert.deepEqual(brief(up.problems), []);
	const lowered = await setup({
		user: "sandbox: required\n",
		project: { "config.yaml": "sandbox: off\nsandboxNetwork: open\n" },
	});
	const down = await resolveConfig(lowered.repo, lowered.home);
	assert.equal(down.values.sandbox, "required");
	assert.equal(down.values.sandboxNetwork, "open");
	assert.deepEqual(brief(down.problems), [
		`sandbox@1: ignored: looser than your config (sandbox is required: user ${join(lowered.home, "config.yaml")}:1)`,
	]);
	const none = await setup({ project: { "config.yaml": "sandbox: off\n" } });
	assert.equal((await resolveConfig(none.repo, none.home)).values.sandbox, "auto", "the default is auto");
});

test("the warm pool's settings: the user's config sets them, checked with file and line; a repository's cannot", async () => {
	const box = await setup({
		user: "concurrency: 3\nworkers: { recycleAfter: 1 }\n",
		project: { "config.yaml": "workers: { recycleAfter: 500, idleSeconds: 600 }\n" },
	});
	const config = await resolveConfig(box.repo, box.home);
	assert.deepEqual(config.values.workers, { recycleAfter: 1, idleSeconds: 30 });
	assert.deepEqual(
		brief(config.problems).map((p) => p.split(":")[0]),
		["workers@1"],
	);
	await writeFile(join(box.home, "config.yaml"), "concurrency: 3\nworkers:\n  recycleAfter: 0\n");
	await assert.rejects(resolveConfig(box.repo, box.home), /config\.yaml:3 \[workers\.recycleAfter\]: must be >= 1/);
});
