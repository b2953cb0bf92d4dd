/**
 * A repository's `.crew/config.yaml` may only tighten the user's config: driven through the real CLI in a real git
 * repository whose committed config tries both to loosen (runtime, model, autonomy, metrics, a higher concurrency)
 * and to tighten (concurrency 1, a budget, a denied tool).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ownerMark } from "../../src/config/owner.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import type { CrewEvent } from "../../src/store/events.js";
import { createRunDir } from "../../src/store/run-store.js";
import { cli, deadPid, fixtures, ms, projectTeam, runJson, type Sandbox, sandbox } from "../support/index.js";

/** The sandbox's repository as a real git repository with `files` committed (as a clone would bring them). */
async function gitRepo(box: Sandbox, files: Record<string, string>) {
	await rm(join(box.repo, ".git"), { recursive: true, force: true });
	execFileSync("git", ["init", "-q", box.repo]);
	for (const [rel, text] of Object.entries(files)) await box.write(rel, text);
	execFileSync("git", ["-C", box.repo, "add", "-A"]);
	execFileSync("git", ["-C", box.repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "repo"]);
}

async function events(box: Sandbox, runId: string): Promise<CrewEvent[]> {
	const res = await cli(["events", runId, "--json"], box);
	assert.equal(res.code, 0, res.stderr);
	return (JSON.parse(res.stdout) as { events: CrewEvent[] }).events;
}

interface ConfigJson {
	concurrency: number;
	runtime: string;
	model?: string;
	autonomy: string;
	maxDepth: number;
	budget: Record<string, number>;
	tools: { deny: string[] };
	metrics: { otlp?: unknown };
	sources: Record<string, { layer: string; file?: string; line?: number }>;
	ignored: { file: string; line?: number; field?: string; message: string }[];
}

const PROJECT_CONFIG = [
	"# this repository's pi-crew settings", // 1
	"concurrency: 1", // 2: tighter than the user's 3
	"runtime: inprocess", // 3: only the user's config may choose
	"model: attacker/model", // 4
	"autonomy: aggressive", // 5: looser than the user's suggested
	"maxDepth: 9", // 6: looser than the default 2
	"budget:", // 7
	"  maxTasks: 5", // 8: the user has no budget: applies
	"metrics:", // 9
	"  otlp: { endpoint: http://127.0.0.1:9/v1/metrics }", // 10
	"tools:", // 11
	"  deny: [bash]", // 12
	"",
].join("\n");

test("a repository's config: what loosens is listed with file and line and never applied; what tightens is, in the run too", async () => {
	const box = await sandbox();
	await box.write("../crew-home/config.yaml", "concurrency: 3\nautonomy: suggested\n");
	await gitRepo(box, { ".crew/config.yaml": PROJECT_CONFIG });
	const file = join(box.repo, ".crew", "config.yaml");
	const ignored = [
		[3, "runtime", "ignored: a repository may not set runtime, only your own config can"],
		[4, "model", "ignored: a repository may not set model, only your own config can"],
		[5, "autonomy", "ignored: looser than your config (autonomy is suggested: user "],
		[6, "maxDepth", "ignored: looser than your config (maxDepth is 2: default)"],
		[9, "metrics", "ignored: a repository may not set metrics, only your own config can"],
	] as const;
	const line = (l: number, field: string, message: string) => `${file}:${l} [${field}]: warning: ${message}`;

	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 0, "the project's config never makes the resources invalid");
	for (const [l, field, message] of ignored)
		assert.ok(validate.stderr.includes(line(l, field, message)), validate.stderr);
	assert.match(validate.stdout, /^ok: .*, 5 warning\(s\)$/m);

	const doctor = JSON.parse((await cli(["doctor", "--json"], box)).stdout) as {
		checks: { name: string; level: string; detail: string }[];
	};
	const check = doctor.checks.find((c) => c.name === "project config");
	assert.equal(check?.level, "warning");
	assert.ok(
		check?.detail.startsWith(`${file}: tightens concurrency (line 2), budget.maxTasks (line 8), tools.deny (line 12)`),
	);
	for (const [l, field, message] of ignored) assert.ok(check?.detail.includes(line(l, field, message)), check?.detail);

	const config = JSON.parse((await cli(["config", "--json"], box)).stdout) as ConfigJson;
	assert.equal(config.concurrency, 1);
	assert.deepEqual(config.sources.concurrency, { layer: "project", file, line: 2 });
	assert.equal(config.runtime, "child");
	assert.deepEqual(config.sources.runtime, { layer: "default" });
	assert.equal(config.model, undefined);
	assert.equal(config.autonomy, "suggested");
	assert.deepEqual(config.sources.autonomy, {
		layer: "user",
		file: join(box.dir, "crew-home", "config.yaml"),
		line: 2,
	});
	assert.equal(config.maxDepth, 2);
	assert.deepEqual(config.budget, { maxTasks: 5 });
	assert.deepEqual(config.tools.deny, ["bash"]);
	assert.equal(config.metrics.otlp, undefined);
	assert.deepEqual(
		config.ignored.map((p) => [p.line, p.field]),
		ignored.map(([l, field]) => [l, field]),
	);
	const text = await cli(["config"], box);
	assert.match(text.stdout, new RegExp(`^concurrency +1 +project ${file}:2$`, "m"));
	assert.match(text.stdout, /^runtime +child +default$/m);

	// Two independent tasks that each try bash: with concurrency 1 they never overlap, and bash is not theirs.
	await projectTeam(box, "pair", [
		{ id: "a", role: "executor" },
		{ id: "b", role: "executor" },
	]);
	const flag = (task: string) => join(box.dir, `${task}.flag`);
	const scenario = await box.write(
		"scenario.yaml",
		`default:\n  - tool: bash\n    args: { command: "touch ${join(box.dir, "{task}.flag")}" }\n  - say: "{task} done"\n`,
	);
	const { code, json } = await runJson(["pair", "go", "--scenario", scenario], box);
	assert.equal(code, 0);
	const [a, b] = ["a", "b"].map((id) => json.tasks.find((t) => t.id === id));
	assert.ok(a && b);
	assert.ok(
		ms(a.endedAt) <= ms(b.startedAt) || ms(b.endedAt) <= ms(a.startedAt),
		`one task at a time: ${JSON.stringify([a, b])}`,
	);
	const log = await events(box, json.runId);
	const created = log.find((e) => e.type === "run.created");
	assert.ok(created?.type === "run.created");
	const { settings } = created.data;
	assert.equal(settings.concurrency, 1);
	assert.equal(settings.runtime, "child");
	// The scenario's offline model, never the repository's `model: attacker/model`.
	assert.equal(settings.defaultModel, "crew-scripted/scripted");
	assert.equal(settings.model, undefined);
	assert.deepEqual(settings.budget, { maxTasks: 5 });
	assert.deepEqual(settings.denyTools, ["bash"]);
	const bash = log.filter((e) => e.type === "task.tool" && e.data.tool === "bash" && e.data.phase === "end");
	assert.equal(bash.length, 2);
	assert.ok(
		bash.every((e) => e.type === "task.tool" && e.data.isError),
		"bash is not a tool of these workers",
	);
	assert.ok(!existsSync(flag("a")) && !existsSync(flag("b")), "bash never ran");
});

test("a resume bounds the settings its log recorded by the config now: concurrency 64 resumes with the user's", async () => {
	const box = await sandbox();
	await box.write("../crew-home/config.yaml", "concurrency: 2\n");
	await gitRepo(box, { ".crew/config.yaml": "concurrency: 64\nbudget:\n  maxTokens: 100000\n" });
	const config = JSON.parse((await cli(["config", "--json"], box)).stdout) as ConfigJson;
	assert.equal(config.concurrency, 2, "the repository cannot raise it");
	assert.match(config.ignored[0]?.message ?? "", /^ignored: looser than your config \(concurrency is 2: user /);

	// A run of this user's (its mark), interrupted, whose log records concurrency 64 and no budget.
	const runId = "20260101-000000-abc123";
	const paths = await createRunDir(box.repo, runId);
	const writer = await EventLogWriter.create(paths.events, runId, { home: box.env.PI_CREW_HOME });
	await writer.append("run.created", {
		...fixtures.created,
		cwd: box.repo,
		owner: await ownerMark(runId, box.env.PI_CREW_HOME),
		settings: { ...fixtures.created.settings, runtime: "scaffold", concurrency: 64 },
	});
	for (const id of ["t1", "t2"])
		await writer.append(
			"task.planned",
			{ ...fixtures.planned(), definition: { scope: "builtin", description: "d", prompt: "p" } },
			id,
		);
	await writer.append("run.started", { pid: 1 });
	await writer.close();
	await writeFile(
		paths.lease,
		JSON.stringify({ pid: deadPid(), startTime: 1, host: hostname(), token: "t", since: "" }),
	);

	const resumed = await cli(["resume", runId], box);
	assert.equal(resumed.code, 0, resumed.stderr);
	const home = join(box.dir, "crew-home", "config.yaml");
	const project = join(box.repo, ".crew", "config.yaml");
	assert.ok(
		resumed.stderr.includes(
			`note: bounded by your config now: concurrency 64 -> 2 (user ${home}:1); budget.maxTokens none -> 100000 (project ${project}:3)`,
		),
		resumed.stderr,
	);
	const log = await events(box, runId);
	const resume = log.find((e) => e.type === "run.resumed");
	assert.ok(resume?.type === "run.resumed");
	assert.equal(resume.data.settings?.concurrency, 2);
	assert.deepEqual(resume.data.settings?.budget, { maxTokens: 100_000 });
	assert.deepEqual(
		resume.data.bounded?.map((b) => [b.field, b.recorded, b.applied, b.source.layer]),
		[
			["concurrency", 64, 2, "user"],
			["budget.maxTokens", undefined, 100_000, "project"],
		],
	);
	const summary = await readFile(join(paths.dir, "artifacts", "summary.md"), "utf8");
	assert.match(summary, /succeeded/);
});
