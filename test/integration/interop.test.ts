/**
 * Bringing existing agent files, as a migrating user would: real-format Claude Code subagents copied into
 * `~/.claude/agents/` run in a team; a tree of earlier pi-crew agents, teams and workflows is imported and runs; our
 * agents are written in Claude Code's, Codex's and Cursor's formats, and Claude's comes back as the same agent.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
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
			"tools: delegate",
		],
	);
	assert.ok(
		executor?.converted.includes(
			"tools: read, grep, find, ls, glob, bash, edit, write, scratchpad, ask, delegate -> read, grep, find, ls, bash, edit, write, ask",
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
		/^---\nname: code-reviewer\ndescription: Reviews code .*\ntools: read, grep, find, bash\nmodel: sonnet\n---\n\nYou are a senior code reviewer\./,
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

test("Claude Code agents as the collections write them load with a warning that says what was assumed: read in place and imported", async () => {
	const box = await sandbox();
	const dir = join(box.env.HOME ?? "", ".claude", "agents");
	await cp(join(FIXTURES, "claude-collections"), dir, { recursive: true });
	// Saved on Windows: CRLF line endings and a byte-order mark.
	const planner = join(dir, "migration-planner.md");
	await writeFile(planner, `\uFEFF${(await readFile(planner, "utf8")).replace(/\n/g, "\r\n")}`);
	const listed = JSON.parse((await cli(["agents", "--json"], box)).stdout) as AgentJson[];
	for (const name of ["api-designer", "migration-planner", "changelog-writer"])
		assert.equal(listed.find((a) => a.name === name)?.scope, "user", name);
	const description = (name: string) => listed.find((a) => a.name === name)?.description ?? "";
	// Unindented continuation lines, `Context:` and `user:` among them, are the description's text.
	assert.match(description("migration-planner"), /safe steps\.\n\n<example>\nContext: The team is splitting/);
	assert.match(description("migration-planner"), /\nuser: "We need to move addresses/);
	assert.match(description("api-designer"), /^Use this agent when .* Examples: <example>Context: The user added/);
	assert.match(description("changelog-writer"), /Examples:\n\n<example>\nContext: A release is being cut\.\n/);
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 0, validate.stderr);
	assert.match(
		validate.stderr,
		/migration-planner\.md:3 \[description\]: warning: not valid YAML \(line 4: [^)]+\); read as Claude Code users write it: lines 3-13 are the text of "description"/,
	);
	assert.match(validate.stderr, /api-designer\.md:3 \[description\]: warning: .*line 3 is the text of "description"/);
	assert.match(validate.stderr, /changelog-writer\.md:3 \[description\]: .*, its "\\n" as line breaks/);
	assert.match(
		validate.stderr,
		/fix: assumed: only Claude Code's own fields \(name, description, tools, model, color…\)/,
	);

	const imported = await cli(["import", "--from", "claude", dir, "--json"], box);
	assert.equal(imported.code, 0, imported.stdout);
	const report = JSON.parse(imported.stdout) as { name: string; outcome: string; problems: string[] }[];
	assert.deepEqual(
		report.map((f) => [f.name, f.outcome]),
		[
			["api-designer", "written"],
			["changelog-writer", "written"],
			["migration-planner", "written"],
		],
	);
	assert.ok(report.every((f) => f.problems.some((p) => p.includes("read as Claude Code users write it"))));
	const written = await readFile(join(box.repo, ".crew", "agents", "migration-planner.md"), "utf8");
	assert.match(written, /^description: \|-\n {2}Use this agent to plan/m, "written back as a YAML block");
	assert.match(written, /^tools: read, grep, find, bash$/m);
	// The first pi-crew files of this repository: its runs stay out of git, as after `init`.
	assert.match(await readFile(join(box.repo, ".crew", ".gitignore"), "utf8"), /^runs\/$/m);
	assert.equal((await cli(["validate"], box)).code, 0);
});

test("the earlier pi-crew's builtin workflows import and plan: output file names, non-step workflows skipped", async () => {
	const box = await sandbox();
	const dir = join(FIXTURES, "pi-crew-0.2");
	const res = await cli(["import", "--from", "pi-crew", dir, "--user", "--json"], box);
	assert.equal(res.code, 0, res.stdout);
	const report = JSON.parse(res.stdout) as {
		kind: string;
		name: string;
		outcome: string;
		skip?: string;
		converted: string[];
	}[];
	const outcome = (name: string) => report.find((f) => f.kind === "workflow" && f.name === name);
	for (const name of ["default", "research", "implementation"]) assert.equal(outcome(name)?.outcome, "written", name);
	assert.ok(outcome("default")?.converted.includes("steps.plan.output: plan.md -> plan"));
	assert.ok(outcome("research")?.converted.includes("steps.write.output: research-summary.md -> research-summary"));
	assert.ok(outcome("implementation")?.converted.includes("steps.assess.output: adaptive-plan.json -> adaptive-plan"));
	assert.equal(outcome("chain")?.outcome, "skipped");
	assert.match(outcome("chain")?.skip ?? "", /^not a step workflow \(topology: dynamic/);
	assert.equal(outcome("notes")?.outcome, "skipped");
	assert.match(outcome("notes")?.skip ?? "", /no "## <step>" section names a role/);
	const text = await cli(["import", "--from", "pi-crew", dir, "--user", "--dry-run"], box);
	assert.equal(text.code, 0);
	assert.match(text.stdout, /^skipped +workflow chain: .*chain\.workflow\.md\n {2}not a step workflow/m);

	assert.equal((await cli(["validate"], box)).code, 0);
	const plan = async (team: string) => {
		const r = await cli(["plan", team, "--json"], box);
		assert.equal(r.code, 0, r.stderr);
		return (JSON.parse(r.stdout) as { tasks: { id: string; dependsOn: string[] }[] }).tasks;
	};
	assert.deepEqual(
		(await plan("default")).map((t) => [t.id, t.dependsOn]),
		[
			["explore", []],
			["plan", ["explore"]],
			["execute", ["plan"]],
			["verify", ["execute"]],
		],
	);
	assert.deepEqual(
		(await plan("research")).map((t) => t.id),
		["explore", "analyze", "write"],
	);
	assert.deepEqual(
		(await plan("implementation")).map((t) => t.id),
		["assess"],
	);
});

test("export-agents writes where it says: into an agents directory named by --out, the repository's by default", async () => {
	const box = await sandbox();
	const claudeDir = join(box.env.HOME ?? "", ".claude", "agents");
	const res = await cli(["export-agents", "--format", "claude", "--out", claudeDir, "explorer"], box);
	assert.equal(res.code, 0, res.stderr);
	assert.match(res.stdout, new RegExp(`^wrote ${claudeDir}/explorer\\.md$`, "m"));
	await readFile(join(claudeDir, "explorer.md"), "utf8");
	await mkdir(join(box.repo, "src", "app"), { recursive: true });
	const inRepo = await cli(
		["export-agents", "--format", "cursor", "--cwd", join(box.repo, "src", "app"), "verifier"],
		box,
	);
	assert.equal(inRepo.code, 0, inRepo.stderr);
	await readFile(join(box.repo, ".cursor", "rules", "verifier.mdc"), "utf8");
});

/** A pi extension that shows in every system prompt of a session that loads it. */
const MARKER_EXTENSION = `export default function (pi: any) {
	pi.on("before_agent_start", (event: any) => ({ systemPrompt: \`\${event.systemPrompt}\\n\\nMARKER-EXTENSION-LOADED\` }));
}
`;

test("an agent's extensions load into its workers for your own agents; a repository's agent naming one is refused until trusted", async () => {
	const box = await sandbox();
	const agentDir = box.env.PI_CODING_AGENT_DIR ?? "";
	await mkdir(join(agentDir, "extensions"), { recursive: true });
	await writeFile(join(agentDir, "extensions", "marker.ts"), MARKER_EXTENSION);
	const agent = (name: string, extension: string) =>
		`---\nname: ${name}\ndescription: d\ntools: read\nextensions: [${extension}]\n---\n\nYou are marked.\n`;
	// Yours: relative to the agent's file in your pi-crew home, the extension under pi's agent dir.
	await box.write("../crew-home/agents/marked.md", agent("marked", "../../pi-agent/extensions/marker.ts"));
	await projectTeam(box, "mine", [{ id: "a", role: "marked" }]);
	const scenario = await box.write("../scenario.yaml", 'default:\n  - say: "{system}"\n');
	const run = await runJson(["mine", "x", "--scenario", scenario, "--model", SCRIPTED], box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const result = (r: typeof run) => readFile(join(r.json.runDir, "artifacts", "tasks", "a", "result.md"), "utf8");
	assert.match(await result(run), /MARKER-EXTENSION-LOADED/);
	// In-process, through pi's SDK, once the user turned the sandbox off (else it runs as a sandboxed child:
	// agent-extensions.test.ts): the same extension in the session.
	const config = await box.write("../crew-home/config.yaml", "sandbox: off\n");
	const inprocess = await runJson(
		["mine", "x", "--scenario", scenario, "--model", SCRIPTED, "--runtime", "inprocess"],
		box,
	);
	assert.equal(inprocess.json.status, "succeeded", inprocess.stderr);
	assert.match(await result(inprocess), /MARKER-EXTENSION-LOADED/);
	assert.ok(!existsSync(join(inprocess.json.runDir, "artifacts/tasks/a/attempt-1/transcript.jsonl")), "in-process");
	await rm(config);

	// The repository's: code from a clone never runs until the user trusts it.
	await box.write(".crew/extensions/marker.ts", MARKER_EXTENSION);
	await box.write(".crew/agents/repo-marked.md", agent("repo-marked", "../extensions/marker.ts"));
	await projectTeam(box, "theirs", [{ id: "a", role: "repo-marked" }]);
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 0, validate.stderr);
	assert.match(
		validate.stderr,
		/repo-marked\.md:5 \[extensions\]: warning: extensions of a repository the user has not trusted never load/,
	);
	const refused = await cli(["run", "theirs", "x", "--scenario", scenario, "--model", SCRIPTED], box);
	assert.equal(refused.code, 2, refused.stderr);
	assert.match(refused.stderr, /agent "repo-marked" cannot run here\n\s+fix: if you trust this repository/);
	await cli(["trust", "yes"], box);
	const trusted = await runJson(["theirs", "x", "--scenario", scenario, "--model", SCRIPTED], box);
	assert.equal(trusted.json.status, "succeeded", trusted.stderr);
	assert.match(await result(trusted), /MARKER-EXTENSION-LOADED/);

	// A path that is not there, or outside where the agent's scope keeps its files: an error with file, line and field.
	await box.write("../crew-home/agents/broken.md", agent("broken", "../nowhere.ts"));
	await box.write("../crew-home/agents/escaping.md", agent("escaping", "../../outside.ts"));
	await box.write("../outside.ts", MARKER_EXTENSION);
	const invalid = await cli(["validate"], box);
	assert.equal(invalid.code, 2);
	assert.match(invalid.stderr, /broken\.md:5 \[extensions\.0\]: extension \.\.\/nowhere\.ts not found/);
	assert.match(invalid.stderr, /escaping\.md:5 \[extensions\.0\]: extension \.\.\/\.\.\/outside\.ts is outside /);
});
