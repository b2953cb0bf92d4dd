/**
 * Bringing existing agent files, as a migrating user would: real-format Claude Code subagents copied into
 * `~/.claude/agents/` run in a team; a tree of earlier pi-crew agents, teams and workflows is imported and runs; our
 * agents are written in Claude Code's, Codex's and Cursor's formats, and Claude's comes back as the same agent.
 */
import assert from "node:assert/strict";
import { cp, mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, projectTeam, ROOT, runJson, type Sandbox, SCRIPTED, sandbox } from "../support/index.js";

const FIXTURES = join(ROOT, "test", "fixtures");

interface AgentJson {
	name: string;
	scope: string;
	description: string;
}

async function agents(box: Sandbox): Promise<AgentJson[]> {
	return JSON.parse((await cli(["agents", "--json"], box)).stdout) as AgentJson[];
}

test("Claude Code agents in ~/.claude/agents run in a team: tools mapped, model aliases through the config, the rest noted", async () => {
	const box = await sandbox();
	await cp(join(FIXTURES, "claude-agents"), join(box.env.HOME ?? "", ".claude", "agents"), { recursive: true });
	await box.write("../crew-home/config.yaml", "claude:\n  models:\n    sonnet: crew-scripted/scripted\n");
	const listed = await agents(box);
	for (const name of ["code-reviewer", "test-runner", "doc-writer"])
		assert.equal(listed.find((a) => a.name === name)?.scope, "user", name);
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 0, validate.stderr);
	assert.match(
		validate.stderr,
		/doc-writer\.md:\d+ \[model\]: warning: model "haiku": the newest Claude haiku \(\S+\) has no provider with credentials: anthropic\/claude-haiku-\S+ \(set .*ANTHROPIC_API_KEY.*; or pin it in your config \(claude\.models\.haiku: provider\/id\)/,
	);
	assert.match(
		validate.stderr,
		/code-reviewer\.md:\d+ \[color\]: warning: ignored: color \(a Claude Code presentation/,
	);
	assert.match(
		validate.stderr,
		/test-runner\.md:\d+ \[tools\]: warning: ignored: tools: TodoWrite \(no pi builtin tool does it\)/,
	);

	await box.write(
		".crew/teams/claude-pair.team.md",
		"---\nname: claude-pair\ndescription: d\nroles:\n  - name: reviewer\n    agent: code-reviewer\n  - name: tester\n    agent: test-runner\ndefaultWorkflow: claude-pair\n---\n",
	);
	await box.write(
		".crew/workflows/claude-pair.workflow.md",
		"---\nname: claude-pair\ndescription: d\nsteps:\n  - id: review\n    role: reviewer\n    task: review {goal}\n  - id: test\n    role: tester\n    dependsOn: [review]\n    task: test {goal}\n---\n",
	);
	const scenario = await box.write("../scenario.yaml", 'default:\n  - say: "{system}"\n');
	// No --model: the reviewer's `model: sonnet` maps to the scripted model through the config.
	const run = await runJson(["claude-pair", "the change", "--scenario", scenario], box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const system = await readFile(join(run.json.runDir, "artifacts", "tasks", "review", "result.md"), "utf8");
	assert.match(system, /- read: /);
	assert.match(system, /- grep: /);
	assert.match(system, /- find: /);
	assert.match(system, /- bash: /);
	assert.doesNotMatch(system, /- edit: /, "Read, Grep, Glob, Bash and nothing else");
	assert.match(system, /You are a senior code reviewer\./);
});

test("a repository's .claude/agents are read only when the user trusts the repository", async () => {
	const box = await sandbox();
	await cp(join(FIXTURES, "claude-agents"), join(box.repo, ".claude", "agents"), { recursive: true });
	assert.equal(
		(await agents(box)).find((a) => a.name === "code-reviewer"),
		undefined,
	);
	const validate = await cli(["validate"], box);
	assert.match(
		validate.stderr,
		/\.claude\/agents: warning: ignored: not trusted: .*its Claude Code agents are not read/,
	);
	await cli(["trust", "yes"], box);
	assert.equal((await agents(box)).find((a) => a.name === "code-reviewer")?.scope, "project");
});

test("import --from pi-crew converts body-line roles and ## step sections; the result validates, plans the same graph and runs", async () => {
	const box = await sandbox();
	const dir = join(FIXTURES, "earlier-pi-crew");
	const dry = await cli(["import", "--from", "pi-crew", dir, "--user", "--dry-run", "--json"], box);
	assert.equal(dry.code, 0, dry.stderr);
	const report = JSON.parse(dry.stdout) as {
		kind: string;
		name: string;
		outcome: string;
		converted: string[];
		dropped: { field: string; why: string }[];
	}[];
	assert.equal(report.length, 8);
	assert.ok(
		report.every((f) => f.outcome === "would write"),
		JSON.stringify(report, null, 1),
	);
	assert.deepEqual(await readdir(box.env.PI_CREW_HOME ?? "").catch(() => []), [], "a dry run writes nothing");
	const executor = report.find((f) => f.name === "executor");
	assert.deepEqual(
		executor?.dropped.map((d) => d.field),
		[
			"model: false",
			"systemPromptMode",
			"inheritProjectContext",
			"inheritSkills",
			"tools: scratchpad",
			"tools: ask",
			"tools: delegate",
		],
	);
	assert.ok(
		executor?.converted.includes(
			"tools: read, grep, find, ls, glob, bash, edit, write, scratchpad, ask, delegate -> read, grep, find, ls, bash, edit, write",
		),
	);
	const build = report.find((f) => f.name === "build" && f.kind === "team");
	assert.ok(build?.converted.includes("workspaceMode: worktree -> isolation: worktree"));
	const fastFix = report.find((f) => f.name === "fast-fix" && f.kind === "workflow");
	assert.deepEqual(
		fastFix?.dropped.map((d) => d.field),
		["steps.verify.verify", "topology"],
	);

	const done = await cli(["import", "--from", "pi-crew", dir, "--user"], box);
	assert.equal(done.code, 0, done.stdout);
	assert.match(done.stdout, /^written +team fast-fix: .*fast-fix\.team\.md -> /m);
	const again = await cli(["import", "--from", "pi-crew", dir, "--user"], box);
	assert.match(again.stdout, /^kept \(exists\) +agent explorer/m, "never overwrites without --force");
	const validate = await cli(["validate", "--json"], box);
	assert.equal(validate.code, 0, validate.stdout);
	// The imported workflows plan into the graphs their sections described.
	const plan = (team: string) =>
		cli(["plan", team, "--json"], box).then(
			(r) => (JSON.parse(r.stdout) as { tasks: { id: string; role: string; dependsOn: string[] }[] }).tasks,
		);
	assert.deepEqual(
		(await plan("fast-fix")).map((t) => [t.id, t.role, t.dependsOn]),
		[
			["explore", "explorer", []],
			["execute", "executor", ["explore"]],
			["verify", "verifier", ["execute"]],
		],
	);
	assert.deepEqual(
		(await plan("build")).map((t) => [t.id, t.dependsOn]),
		[
			["explore", []],
			["core", ["explore"]],
			["tests", ["explore"]],
			["verify", ["core", "tests"]],
			["report", ["verify"]],
		],
	);
	const run = await runJson(["build", "a feature", "--isolation", "shared", "--model", SCRIPTED], box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	assert.equal(run.json.tasks.length, 5);
});

test("import --from claude writes pi-crew agents into .crew/ with a report", async () => {
	const box = await sandbox();
	const res = await cli(["import", "--from", "claude", join(FIXTURES, "claude-agents"), "--json"], box);
	assert.equal(res.code, 0, res.stderr);
	const text = await readFile(join(box.repo, ".crew", "agents", "code-reviewer.md"), "utf8");
	assert.match(
		text,
		/^---\nname: code-reviewer\ndescription: Reviews code .*\ntools: read, grep, find, bash\n---\n\nYou are a senior code reviewer\./,
	);
	const listed = await agents(box);
	assert.equal(listed.find((a) => a.name === "test-runner")?.scope, "project");
});

test("export-agents writes each format's documented fields; Claude's comes back as the same agent", async () => {
	const box = await sandbox();
	await projectTeam(box, "x", [{ id: "a", role: "explorer" }]);
	const out = join(box.dir, "exported");
	const claude = await cli(["export-agents", "--format", "claude", "--out", out, "explorer", "executor"], box);
	assert.equal(claude.code, 0, claude.stderr);
	const explorer = await readFile(join(out, ".claude", "agents", "explorer.md"), "utf8");
	// Claude Code subagent fields: name, description, tools (its own names), model (optional); the body is the prompt.
	assert.match(explorer, /^---\nname: explorer\ndescription: .+\ntools: Read, LS, Grep, Glob\n---\n\n\S/);
	// Round trip: the exported files, discovered as Claude Code agents, are the same agents.
	await mkdir(join(box.env.HOME ?? "", ".claude"), { recursive: true });
	await cp(join(out, ".claude", "agents"), join(box.env.HOME ?? "", ".claude", "agents"), { recursive: true });
	const home = join(box.dir, "empty-crew-home");
	await mkdir(home);
	const { loadCatalog } = await import("../../src/resources/catalog.js");
	const original = await loadCatalog({ repo: box.repo, trustProject: false, home });
	const back = await loadCatalog({
		repo: box.repo,
		trustProject: false,
		home,
		builtinDir: join(box.dir, "no-builtins"),
		claude: { userAgents: true, projectAgents: false, userDir: join(box.env.HOME ?? "", ".claude") },
	});
	for (const name of ["explorer", "executor"]) {
		const a = original.agents.get(name);
		const b = back.agents.get(name);
		assert.deepEqual(
			[b?.name, b?.description, b?.tools, b?.prompt.trim()],
			[a?.name, a?.description, a?.tools, a?.prompt.trim()],
		);
	}

	await cli(["export-agents", "--format", "cursor", "--out", out, "explorer"], box);
	// Cursor project rules (.cursor/rules/*.mdc): description, globs, alwaysApply; the body is the rule.
	assert.match(
		await readFile(join(out, ".cursor", "rules", "explorer.mdc"), "utf8"),
		/^---\ndescription: .+\nglobs: ""\nalwaysApply: false\n---\n\n\S/,
	);
	// Nothing the user has is replaced unless asked.
	const again = await cli(["export-agents", "--format", "claude", "--out", out, "explorer"], box);
	assert.equal(again.code, 2);
	assert.match(again.stderr, /explorer\.md exist\(s\): pass --force to replace, or --out DIR/);
	assert.equal((await cli(["export-agents", "--format", "claude", "--out", out, "explorer", "--force"], box)).code, 0);
	await cli(["export-agents", "--format", "codex", "--out", out], box);
	// Codex reads AGENTS.md: one section per agent.
	const agentsMd = await readFile(join(out, "AGENTS.md"), "utf8");
	for (const name of ["explorer", "executor", "verifier"])
		assert.match(agentsMd, new RegExp(`^## ${name}\\n\\n.+\\n\\nTools: `, "m"));
});
