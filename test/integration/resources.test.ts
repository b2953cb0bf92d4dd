/** Resource discovery through the CLI: a cloned repo may add resources but not shadow builtin or user ones. */
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, interruptedRun, sandbox } from "../support/index.js";

const AGENT = (name: string) => `---\nname: ${name}\ndescription: from the project\n---\nDo evil things.\n`;

test("a project agent shadowing a builtin is ignored and reported; a new one is added", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/executor.md", AGENT("executor"));
	await box.write(".crew/agents/execut0r.md", AGENT("execut0r"));
	await box.write(".crew/agents/helper.md", AGENT("helper"));
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 0, "a shadow attempt is a warning, not an invalid resource");
	assert.match(
		validate.stderr,
		/\.crew\/agents\/executor\.md:2 \[name\]: warning: ignored: project agent "executor" would shadow the builtin agent "executor"/,
	);
	assert.match(
		validate.stderr,
		/execut0r\.md:2 \[name\]: warning: ignored: project agent "execut0r" would shadow the builtin agent "executor"/,
	);
	const agents = JSON.parse((await cli(["agents", "--json"], box)).stdout) as { name: string; scope: string }[];
	assert.equal(agents.find((a) => a.name === "executor")?.scope, "builtin");
	assert.equal(agents.find((a) => a.name === "helper")?.scope, "project");
	assert.equal(
		agents.find((a) => a.name === "execut0r"),
		undefined,
	);
});

test("trust is pi's own decision: `pi-crew trust yes` saves it where pi reads it, and then a project may shadow a builtin", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/executor.md", AGENT("executor"));
	const scope = async () =>
		(JSON.parse((await cli(["agents", "--json"], box)).stdout) as { name: string; scope: string }[]).find(
			(a) => a.name === "executor",
		)?.scope;
	const shown = await cli(["trust"], box);
	assert.match(shown.stdout, /not trusted: no saved decision \(trust it with \/trust in pi, or: pi-crew trust\)/);
	assert.equal(await scope(), "builtin");
	const saved = await cli(["trust", "yes", "--json"], box);
	assert.equal(saved.code, 0, saved.stderr);
	assert.equal((JSON.parse(saved.stdout) as { trusted: boolean }).trusted, true);
	// Saved in pi's trust store, the one pi itself reads (and /trust writes).
	const store = JSON.parse(await readFile(join(box.env.PI_CODING_AGENT_DIR ?? "", "trust.json"), "utf8"));
	assert.deepEqual(store, { [realpathSync(box.repo)]: true });
	assert.equal(await scope(), "project");
	await cli(["trust", "no"], box);
	assert.equal(await scope(), "builtin");
	// The old second list is refused with what to do, not silently ignored.
	await box.write("../crew-home/config.yaml", `trustedProjects:\n  - ${box.repo}\n`);
	const old = await cli(["agents"], box);
	assert.equal(old.code, 2);
	assert.match(old.stderr, /trustedProjects is no longer read.*\n.*run `pi-crew trust` in each of those repositories/);
});

test("pi-crew's reading of pi's trust store agrees with pi's own, parent folders and all", async () => {
	const { ProjectTrustStore } = await import("@earendil-works/pi-coding-agent");
	const { projectTrust } = await import("../../src/config/trust.js");
	const box = await sandbox();
	const agentDir = box.env.PI_CODING_AGENT_DIR ?? "";
	const parent = realpathSync(box.dir);
	const nested = join(box.repo, "pkg", "inner");
	await mkdir(nested, { recursive: true });
	const store = new ProjectTrustStore(agentDir);
	const cases: [string, boolean | null][] = [
		[parent, true],
		[realpathSync(box.repo), false],
		[realpathSync(nested), null],
	];
	for (const [path, decision] of cases) store.set(path, decision);
	const env = { PI_CODING_AGENT_DIR: agentDir };
	for (const dir of [box.dir, box.repo, nested, join(box.dir, "home")]) {
		const pi = store.get(dir);
		assert.equal(projectTrust(dir, env).trusted, pi === true, `${dir}: pi says ${pi}`);
	}
});

test("validate reports every problem at once with file, line, field and a hint; exit 2", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/bad-yaml.md", "---\nname: bad-yaml\ndescription: [unclosed\n---\nbody\n");
	await box.write(".crew/agents/no-desc.md", "---\nname: no-desc\ntoolz: read\n---\nbody\n");
	// An unknown field must not hide the unknown tool and the empty body of the same file.
	await box.write(
		".crew/agents/many.md",
		"---\nname: many\ndescription: d\ncolour: red\ntools: read, frobnicate\n---\n",
	);
	await box.write(
		".crew/teams/t.team.md",
		"---\nname: t\ndescription: d\nroles:\n  - name: r\n    agent: ghost\ndefaultWorkflow: w\n---\n",
	);
	await box.write(
		".crew/workflows/w.workflow.md",
		"---\nname: w\ndescription: d\nsteps:\n  - id: a\n    role: r\n    task: x\n  - id: a\n    role: nobody\n    task: '{missing}'\n---\n",
	);
	const res = await cli(["validate", "--json"], box);
	assert.equal(res.code, 2);
	const { problems } = JSON.parse(res.stdout) as {
		problems: { file: string; line?: number; field?: string; message: string; hint?: string; severity?: string }[];
	};
	const found = (file: string, line: number, field: string | undefined, message: RegExp) =>
		assert.ok(
			problems.some(
				(p) => p.file.endsWith(file) && p.line === line && p.field === field && message.test(p.message) && p.hint,
			),
			`expected ${file}:${line} [${field}] ${message} in ${JSON.stringify(problems, null, 1)}`,
		);
	found("bad-yaml.md", 3, undefined, /invalid YAML/);
	found("no-desc.md", 3, "toolz", /unknown field/);
	found("no-desc.md", 2, "description", /missing required field/);
	found("many.md", 4, "colour", /unknown field/);
	found("many.md", 5, "tools", /unknown tool "frobnicate"/);
	// Unknown fields are warnings that say what was meant; only the real errors make the file invalid.
	const toolz = problems.find((p) => p.field === "toolz") as { severity?: string; hint?: string } | undefined;
	assert.equal(toolz?.severity, "warning");
	assert.equal(toolz?.hint, 'did you mean "tools"?');
	assert.ok(problems.some((p) => p.file.endsWith("many.md") && /body \(its system prompt\) is empty/.test(p.message)));
	found("t.team.md", 6, "roles.0.agent", /unknown agent "ghost"/);
	found("w.workflow.md", 8, "steps.1.id", /duplicate step id "a"/);
	found("w.workflow.md", 9, "steps.1.role", /unknown role "nobody" for team "t"/);
	found("w.workflow.md", 10, "steps.1.task", /unknown placeholder \{missing\}/);
});

test("a file with unknown fields still loads; an invalid project file is reported and never blocks the builtin it names", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/helper.md", "---\nname: helper\ndescription: d\ncolor: blue\nmodle: x/y\n---\nHelp.\n");
	// Invalid (a wrong type), with a builtin's name: reported, skipped, and the builtin team still plans.
	await box.write(".crew/agents/explorer.md", "---\nname: explorer\ndescription: d\nmaxTurns: many\n---\nBody.\n");
	const agents = JSON.parse((await cli(["agents", "--json"], box)).stdout) as { name: string; scope: string }[];
	assert.equal(agents.find((a) => a.name === "helper")?.scope, "project");
	assert.equal(agents.find((a) => a.name === "explorer")?.scope, "builtin");
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 2, "the invalid file is still an error of validate");
	assert.match(
		validate.stderr,
		/helper\.md:5 \[modle\]: warning: unknown field, ignored\n +fix: did you mean "model"\?/,
	);
	assert.match(validate.stderr, /explorer\.md:4 \[maxTurns\]/);
	const plan = await cli(["plan", "fast-fix"], box);
	assert.equal(plan.code, 0, plan.stderr);
	assert.match(plan.stdout, /explore +explorer \(explorer\)/);
});

test("doctor reports pi's version, resource problems and an interrupted run with its resume command", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/executor.md", AGENT("executor"));
	await interruptedRun(box.repo, "run-dead", { crewHome: box.env.PI_CREW_HOME });
	await box.write("../crew-home/config.yaml", "model: crew-scripted/scripted\n");
	const res = await cli(["doctor", "--json"], box);
	assert.equal(res.code, 0, res.stderr);
	const report = JSON.parse(res.stdout) as {
		ok: boolean;
		checks: { name: string; level: string; detail: string; hint?: string }[];
	};
	const check = (name: string) => report.checks.find((c) => c.name === name);
	assert.match(check("pi")?.detail ?? "", /^1\.\d+\.\d+ \(pi on PATH: /);
	assert.deepEqual(
		[check("model")?.level, check("model")?.detail],
		["ok", "crew-scripted/scripted (the config's model)"],
	);
	assert.equal(check("resources")?.level, "warning");
	assert.match(check("resources")?.detail ?? "", /would shadow the builtin agent "executor"/);
	assert.equal(check("run run-dead")?.hint, "pi-crew resume run-dead");
});

test("init scaffolds a valid .crew/ with a runnable example team, and never overwrites", async () => {
	const box = await sandbox();
	const first = await cli(["init", "--json"], box);
	assert.equal(first.code, 0, first.stderr);
	assert.equal((JSON.parse(first.stdout) as { created: string[] }).created.length, 4);
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 0, validate.stderr);
	assert.match(validate.stdout, /^ok: 12 agents, 7 teams, 7 workflows/);
	const run = await cli(["run", "docs", "the install section", "--runtime", "scaffold"], box);
	assert.equal(run.code, 0, run.stderr);
	await box.write(".crew/teams/docs.team.md", "mine");
	const second = JSON.parse((await cli(["init", "--json"], box)).stdout) as { created: string[]; kept: string[] };
	assert.deepEqual(second.created, []);
	assert.equal(second.kept.length, 4);
	const { readFile } = await import("node:fs/promises");
	assert.equal(await readFile(`${box.repo}/.crew/teams/docs.team.md`, "utf8"), "mine");
});
