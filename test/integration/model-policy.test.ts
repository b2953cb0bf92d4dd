/**
 * The model policy as a user meets it, on the offline scripted model: a run outside `models.allow` is refused with
 * exit 2 before any process starts (no run directory, pi never spawned), naming each task's models and the config
 * (file and line) that refuses them; a repository's config only narrows; the config's `agents.<name>` override changes
 * the model a real worker runs on and is recorded for a resume; `config --team` and `doctor` say each model and why;
 * fuzzy model names in a workflow step resolve against pi's registry, with a did-you-mean.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { EventLogWriter } from "../../src/store/event-log.js";
import { cli, fixtures, interruptedRun, ROOT, type RunJson, type Sandbox, sandbox } from "../support/index.js";
import { eventsOf } from "../support/questions.js";

const userConfig = (box: Sandbox, yaml: string) => box.write("../crew-home/config.yaml", yaml);

/** `pi` for the workers through a spy that notes each start: the proof that a refused run spawned none. */
async function spyPi(box: Sandbox): Promise<string> {
	const log = join(box.dir, "pi-starts.log");
	const real = join(ROOT, "node_modules", ".bin", "pi");
	const spy = await box.write("../pi-spy.sh", `#!/bin/sh\necho "$@" >> '${log}'\nexec '${real}' "$@"\n`);
	await chmod(spy, 0o755);
	box.env.PI_CREW_PI_BIN = spy;
	return log;
}

/** Every agent answers with its model; fast-fix's verifier first gives its verdict (its step loops until clean). */
const VERIFIED_ON_MODEL =
	"default:\n  - say: on {model}\nverifier:\n  - tool: verdict\n    args: { clean: true, findings: none }\n  - say: on {model}\n";

test("a run outside models.allow exits 2 before any process starts; a repository narrows, never loosens", async () => {
	const box = await sandbox();
	const starts = await spyPi(box);
	const runs = join(box.repo, ".crew", "runs");
	// The spy notes starts outside the repository, where a sandboxed worker cannot write.
	await userConfig(box, "sandbox: off\nmodels:\n  allow:\n    - crew-scripted/fast\n");
	const userFile = join(box.dir, "crew-home", "config.yaml");
	const scenario = await box.write("scenario.yaml", VERIFIED_ON_MODEL);

	const refused = await cli(["run", "fast-fix", "fix it", "--scenario", scenario], box);
	assert.equal(refused.code, 2, refused.stderr);
	assert.match(refused.stderr, /cannot start the run: it would use models outside the model policy/);
	for (const task of ["explore", "fix", "verify"])
		assert.match(refused.stderr, new RegExp(`task ${task}: crew-scripted/scripted\\n`));
	assert.ok(
		refused.stderr.includes(
			`crew-scripted/scripted: refused by your models.allow [crew-scripted/fast] (user ${userFile}:3)`,
		),
		refused.stderr,
	);
	assert.ok(!existsSync(runs), "no run directory: no task started");
	assert.ok(!existsSync(starts), "pi was never started");

	// The allowed model runs (the spy sees its workers): the policy refuses only what it names.
	const allowed = await cli(
		["run", "fast-fix", "fix it", "--scenario", scenario, "--model", "crew-scripted/fast", "--json"],
		box,
	);
	assert.equal((JSON.parse(allowed.stdout) as RunJson).status, "succeeded", allowed.stderr);
	assert.ok(existsSync(starts));

	// A repository's list that would allow every scripted model does not loosen the user's: still refused, by the user.
	await box.write(".crew/config.yaml", "models:\n  allow: [crew-scripted/*]\n");
	const loose = await cli(["run", "fast-fix", "fix it", "--scenario", scenario, "--model", SCRIPTED_SMART], box);
	assert.equal(loose.code, 2, loose.stderr);
	assert.match(loose.stderr, /crew-scripted\/smart: refused by your models\.allow \[crew-scripted\/fast\] \(user /);
	// ...and one that leaves the user's model out narrows: refused by the repository, with its file and line.
	await box.write(".crew/config.yaml", "# narrower\nmodels:\n  allow: [crew-scripted/smart]\n");
	const narrow = await cli(["run", "fast-fix", "fix it", "--scenario", scenario, "--model", "crew-scripted/fast"], box);
	assert.equal(narrow.code, 2, narrow.stderr);
	assert.ok(
		narrow.stderr.includes(
			`crew-scripted/fast: refused by the repository's models.allow [crew-scripted/smart] (project ${join(box.repo, ".crew", "config.yaml")}:3)`,
		),
		narrow.stderr,
	);
	const listed = (await cli(["list", "--json"], box)).stdout;
	assert.equal((JSON.parse(listed) as { runs: unknown[] }).runs.length, 1, "only the allowed run exists");
});

const SCRIPTED_SMART = "crew-scripted/smart";

test("agents.<name> in the config changes the model a worker runs on, is recorded, and config/doctor say why", async () => {
	const box = await sandbox();
	await userConfig(
		box,
		"models:\n  allow: [crew-scripted/scripted, crew-scripted/fast]\nagents:\n  executor:\n    model: crew-scripted/fast\n",
	);
	const userFile = join(box.dir, "crew-home", "config.yaml");
	const scenario = await box.write("scenario.yaml", VERIFIED_ON_MODEL);
	const run = await cli(["run", "fast-fix", "fix it", "--scenario", scenario, "--json"], box);
	const json = JSON.parse(run.stdout) as RunJson;
	assert.equal(json.status, "succeeded", `${json.reason}\n${run.stderr}`);
	const answer = async (task: string) => (await cli(["result", json.runId, task], box)).stdout;
	assert.match(await answer("fix"), /on crew-scripted\/fast/, "the executor's worker ran on the override");
	assert.match(await answer("explore"), /on crew-scripted\/scripted/);
	const planned = await eventsOf(box, json.runId, "task.planned");
	const fix = planned.find((e) => e.taskId === "fix")?.data.definition as { model?: string };
	assert.equal(fix.model, "crew-scripted/fast", "recorded in task.planned: a resume runs the same model");

	const why = await cli(["config", "--team", "fast-fix", "--json"], box);
	assert.equal(why.code, 0, why.stderr);
	const team = JSON.parse(why.stdout) as { tasks: { task: string; model?: string; why: string; refused: string[] }[] };
	const fixRow = team.tasks.find((t) => t.task === "fix");
	assert.equal(fixRow?.model, "crew-scripted/fast");
	assert.equal(fixRow?.why, `agents.executor.model, user ${userFile}:5`);
	const text = (await cli(["config", "--team", "fast-fix"], box)).stdout;
	assert.match(text, /fix\s+crew-scripted\/fast\s+\(agents\.executor\.model, user \S+config\.yaml:5\)/);
	// pi's default (no model named anywhere, no settings.json default) is refused under a policy: name one.
	assert.match(text, /explore\s+.*\n\s+REFUSED pi's default model: pi picks any model with credentials; name one/);

	const doctor = await cli(["doctor", "--json"], box);
	const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; level: string; detail: string }[] }).checks;
	const models = checks.find((c) => c.name === "team models");
	assert.equal(models?.level, "warning");
	assert.match(models?.detail ?? "", /fast-fix\/explore: pi's default \(pi's default: no model named\)\n\s+REFUSED/);
	assert.doesNotMatch(models?.detail ?? "", /fast-fix\/fix:/, "only what the policy refuses");
});

test("a workflow step's fuzzy model resolves against pi's registry; a near miss gets a did-you-mean", async () => {
	const box = await sandbox();
	await box.write(
		"../pi-agent/models.json",
		JSON.stringify({
			providers: {
				gw: {
					baseUrl: "http://127.0.0.1:9/v1",
					api: "openai-completions",
					apiKey: "gw-key-0123456789",
					models: [{ id: "m2-large", contextWindow: 100_000, maxTokens: 4096 }],
				},
			},
		}),
	);
	const workflow = (model: string) =>
		box.write(
			".crew/workflows/one.workflow.md",
			`---\nname: one\ndescription: one step\nsteps:\n  - id: a\n    role: explorer\n    model: ${model}\n    task: look\n---\n`,
		);
	await box.write(
		".crew/teams/one.team.md",
		"---\nname: one\ndescription: one\nroles:\n  - name: explorer\n    agent: explorer\ndefaultWorkflow: one\n---\n",
	);
	await workflow("m2-large");
	const plan = await cli(["config", "--team", "one", "--json"], box);
	assert.equal(plan.code, 0, plan.stderr);
	const row = (JSON.parse(plan.stdout) as { tasks: { model?: string; why: string }[] }).tasks[0];
	assert.equal(row?.model, "gw/m2-large");
	assert.match(row?.why ?? "", /^step model, \S+one\.workflow\.md:7$/);
	await workflow("m2-lrge");
	const miss = await cli(["run", "one", "look"], box);
	assert.equal(miss.code, 2, miss.stderr);
	assert.match(miss.stderr, /model "m2-lrge" \(task a\): pi knows no model "m2-lrge"; did you mean m2-large\?/);
	// validate says where: the step's file, line and field.
	const validate = await cli(["validate"], box);
	assert.match(
		validate.stdout + validate.stderr,
		/one\.workflow\.md:7 \[steps\.0\.model\]: warning: model "m2-lrge": pi knows no model "m2-lrge"; did you mean m2-large\?/,
	);
	assert.ok(!existsSync(join(box.repo, ".crew", "runs")));
});

/** An agent as a run's log records it, on the scripted model. */
const recorded = { scope: "builtin" as const, description: "looks", prompt: "Look.", model: "crew-scripted/scripted" };

test("a resume is held to the policy as it is now: refused before any worker, the log unchanged", async () => {
	const box = await sandbox();
	const starts = await spyPi(box);
	const runId = "20260101-000000-abc123";
	const paths = await interruptedRun(box.repo, runId, { crewHome: box.env.PI_CREW_HOME });
	// Its plan: one task on the model the run recorded (`defaultModel`), as a run started before the policy was set.
	const log = await EventLogWriter.resume(paths.events, runId, { home: box.env.PI_CREW_HOME });
	await log.append("task.planned", { ...fixtures.planned(), definition: recorded }, "look");
	await log.close();
	const before = await readFile(paths.events, "utf8");
	await userConfig(box, "models:\n  allow: [crew-scripted/fast]\n");
	const resumed = await cli(["resume", runId], box);
	assert.equal(resumed.code, 2, resumed.stderr);
	assert.match(
		resumed.stderr,
		/task look: crew-scripted\/scripted\n\s+crew-scripted\/scripted: refused by your models\.allow/,
	);
	assert.equal(await readFile(paths.events, "utf8"), before, "no task.started: nothing ran");
	assert.ok(!existsSync(starts), "pi was never started");
});

test("a resumed run's merge resolver is held to the policy too: its merge.model refused before any worker", async () => {
	const box = await sandbox();
	const starts = await spyPi(box);
	const runId = "20260101-000000-def456";
	const merge = { resolver: "merger", model: SCRIPTED_SMART };
	const paths = await interruptedRun(box.repo, runId, { crewHome: box.env.PI_CREW_HOME, settings: { merge } });
	const log = await EventLogWriter.resume(paths.events, runId, { home: box.env.PI_CREW_HOME });
	await log.append("task.planned", { ...fixtures.planned(), definition: recorded }, "look");
	await log.close();
	await userConfig(box, "models:\n  allow: [crew-scripted/scripted]\n");
	const resumed = await cli(["resume", runId], box);
	assert.equal(resumed.code, 2, resumed.stderr);
	assert.match(
		resumed.stderr,
		/merge resolver: crew-scripted\/smart\n\s+crew-scripted\/smart: refused by your models\.allow/,
	);
	assert.ok(!existsSync(starts), "pi was never started");
});
