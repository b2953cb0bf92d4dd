/** Bad input to the CLI: exit 2 with a message that says what to do, and nothing touched. */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, projectTeam, ROOT, runJson, SCRIPTED, sandbox, startCli } from "../support/index.js";

test("--version says which pi-crew this is", async () => {
	const box = await sandbox();
	const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
	const said = await cli(["--version"], box);
	assert.equal(said.code, 0, said.stderr);
	assert.equal(said.stdout, `pi-crew ${version}\n`);
});

test("on the system's older Node, bin/pi-crew.js says to run the same command on Node 22 through npx", (t) => {
	const system = ["/usr/local/bin", "/usr/bin", "/bin"].map((dir) => join(dir, "node")).find((f) => existsSync(f));
	const version = system && execFileSync(system, ["-p", "process.versions.node"]).toString().trim();
	const [major = 0, minor = 0] = (version ?? "").split(".").map(Number);
	if (!system || major > 22 || (major === 22 && minor >= 19))
		return t.skip(`the system's node (${system ?? "none"} ${version ?? ""}) is not older than 22.19`);
	const bin = join(ROOT, "bin", "pi-crew.js");
	const said = spawnSync(system, [bin, "run", "fast-fix", "it's broken"], { encoding: "utf8" });
	assert.equal(said.status, 2);
	assert.equal(said.stdout, "");
	assert.ok(said.stderr.startsWith(`pi-crew: needs Node 22.19 or later, as pi 1.x does; this is Node v${version}.`));
	assert.ok(
		said.stderr.includes(`npx -y -p node@22 node ${bin} run fast-fix 'it'\\''s broken'\n`),
		`the command again, quoted, on npx's Node 22:\n${said.stderr}`,
	);
});

test("bad input exits 2 with an actionable message", async () => {
	const box = await sandbox();
	const cases: [string[], RegExp][] = [
		[["status", "../../etc"], /invalid run id "\.\.\/\.\.\/etc": use letters, digits/],
		[["status", "nope"], /no run nope in this repository \(see: pi-crew list\)/],
		[["run", "default", "goal", "--concurrency", "0"], /--concurrency must be an integer from 1 to 64, got "0"/],
		[["run", "default", "goal", "--timeout", "abc"], /--timeout must be an integer from 1 to \d+, got "abc"/],
		[["run", "default", "goal", "--max-tokens="], /--max-tokens must be an integer from 1/],
		[
			["run", "default", "goal", "--runtime", "docker"],
			/--runtime must be one of child, inprocess, auto, scaffold, got "docker"/,
		],
		[["run", "default", "   "], /the goal is empty/],
		[["run", "default", "goal", "--bogus"], /unknown option --bogus for run \(pi-crew run --help lists its options\)/],
		[["resume", "nope"], /no run nope/],
		[["deadletter", "nope"], /no run nope/],
		[["frobnicate"], /^pi-crew: unknown command "frobnicate" \(pi-crew --help lists them\)\n$/],
	];
	for (const [args, message] of cases) {
		const res = await cli(args, box);
		assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
		assert.match(res.stderr, message, args.join(" "));
		assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
	}
});

test("an invalid config is exit 2 for runs and a FAIL line (exit 1) for doctor", async () => {
	const box = await sandbox();
	await box.write("../crew-home/config.yaml", "concurrency: many\nautonomy: yolo\n");
	const run = await cli(["run", "default", "goal", "--runtime", "scaffold"], box);
	assert.equal(run.code, 2);
	assert.match(run.stderr, /config\.yaml:1 \[concurrency\]: must be integer/);
	assert.match(run.stderr, /config\.yaml:2 \[autonomy\]/);
	const doctor = await cli(["doctor"], box);
	assert.equal(doctor.code, 1);
	assert.match(doctor.stdout, /FAIL {2}config: .*config\.yaml:1 \[concurrency\]/);
});

test("a symlinked .crew/runs is refused", async () => {
	const box = await sandbox();
	await box.write(".crew/.keep", "");
	await symlink(box.dir, join(box.repo, ".crew", "runs"));
	const res = await cli(["run", "default", "goal", "--runtime", "scaffold"], box);
	assert.equal(res.code, 2, "a link is bad input: exit 2");
	assert.match(res.stderr, /refusing to use .*\.crew\/runs: pi-crew paths may not be symlinks/);
});

test("requeue and dead-letter refuse tasks that did not fail", async () => {
	const box = await sandbox();
	const run = JSON.parse((await cli(["run", "fast-fix", "goal", "--runtime", "scaffold", "--json"], box)).stdout) as {
		runId: string;
	};
	const add = await cli(["deadletter", "add", run.runId, "fix"], box);
	assert.equal(add.code, 2);
	assert.match(add.stderr, /task "fix" is succeeded; only failed tasks can be dead-lettered/);
	const requeue = await cli(["deadletter", "requeue", run.runId], box);
	assert.equal(requeue.code, 2);
	assert.match(requeue.stderr, /has no dead-lettered tasks; name failed tasks to requeue them/);
	const resume = await cli(["resume", run.runId], box);
	assert.equal(resume.code, 2);
	assert.match(resume.stderr, /succeeded: nothing to resume/);
});

test("read-only commands as a user types them: plan (--workflow), recommend, teams, workflows, events, summary, --cwd", async () => {
	const box = await sandbox();
	const elsewhere = (await sandbox()).dir;
	const at = ["--cwd", box.repo];
	const run = (args: string[]) => startCli([...args, ...at], { ...box, repo: elsewhere }).done;
	const plan = await run(["plan", "research", "--workflow", "parallel-research"]);
	assert.equal(plan.code, 0, plan.stderr);
	assert.match(plan.stdout, /^Plan: team research, workflow parallel-research, 4 tasks \(nothing runs\)/);
	assert.match(plan.stdout, /synthesize\s+analyst \(analyst\)\s+after code, tests, docs/);
	const recommended = await run(["recommend", "fix the login bug"]);
	assert.equal(recommended.code, 0, recommended.stderr);
	assert.match(recommended.stdout, /^fast-fix\s+score \d+/);
	const teams = JSON.parse((await run(["teams", "--json"])).stdout) as { name: string; scope: string }[];
	assert.ok(teams.some((t) => t.name === "implementation" && t.scope === "builtin"));
	const workflows = await run(["workflows"]);
	assert.match(workflows.stdout, /^parallel-research\s+builtin/m);
	const seeded = await run(["run", "review", "look", "--runtime", "scaffold"]);
	assert.equal(seeded.code, 0, seeded.stderr);
	const { runId } = JSON.parse((await run(["status", "--json"])).stdout) as { runId: string };
	const events = await run(["events", runId]);
	assert.equal(events.code, 0, events.stderr);
	assert.match(events.stdout, /^\s+1 \S+ run\.created\s/);
	assert.match(events.stdout, /run\.finished\s+\{"status":"succeeded"/);
	// Without a run id, events and summary take the latest run, as status does.
	const latest = await run(["events"]);
	assert.equal(latest.stdout, events.stdout);
	const summary = await run(["summary"]);
	assert.equal(summary.code, 0, summary.stderr);
	assert.match(summary.stdout, new RegExp(`^# Run ${runId}`));
	assert.match(summary.stdout, new RegExp(`\\(${box.repo}/\\.crew/runs/${runId}/artifacts/summary\\.md\\)\\n$`));
	const byId = JSON.parse((await run(["summary", runId, "--json"])).stdout) as { summary: string; path: string };
	assert.equal(byId.path, join(box.repo, ".crew", "runs", runId, "artifacts", "summary.md"));
});

test("a first run explains itself: no model, an unknown model, a scenario for another model, a missing --cwd", async () => {
	const box = await sandbox(); // an empty pi agent dir: no key, no default model
	const runs = join(box.repo, ".crew", "runs");
	const cases: [string[], RegExp][] = [
		[
			["run", "default", "goal"],
			/no model is configured \(tasks .*\): pass --model provider\/id, log in with \/login.*--model crew-scripted\/scripted/,
		],
		[
			["run", "default", "goal", "--model", "nosuch/model"],
			/model "nosuch\/model" \(tasks .*\): pi has no provider "nosuch"/,
		],
		[["run", "default", "goal", "--model", "crew-scripted/huge"], /the scripted models are crew-scripted\/scripted/],
		[
			["run", "default", "goal", "--model", "anthropic/claude-sonnet-4-5"],
			/no credentials for provider "anthropic": set .*ANTHROPIC_API_KEY, or log in with \/login in pi/,
		],
		[
			["run", "default", "goal", "--model", "anthropic/claude-sonnet-4-5", "--scenario", "s.yaml"],
			/a scenario scripts the offline model, not "anthropic\/claude-sonnet-4-5": drop the model \(--model/,
		],
		[["run", "default", "goal", "--cwd", join(box.dir, "nope")], /--cwd .*nope: no such directory/],
		[["doctor", "--export", join(box.dir, "missing", "report.json")], /missing is not a directory/],
	];
	await box.write("s.yaml", 'default:\n  - say: "ok"\n');
	for (const [args, message] of cases) {
		const res = await cli(args, box);
		assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
		assert.match(res.stderr, message, args.join(" "));
	}
	assert.ok(!existsSync(runs), "no run was created");
	assert.ok(!existsSync(join(box.dir, "nope")) && !existsSync(join(box.dir, "missing")), "nothing was created");
	// A scenario alone selects the scripted model.
	const scripted = await cli(["run", "research", "goal", "--scenario", "s.yaml", "--json"], box);
	assert.equal(scripted.code, 0, scripted.stderr);
	// doctor checks the same model resolution.
	const doctor = await cli(["doctor", "--json"], box);
	const model = (
		JSON.parse(doctor.stdout) as { checks: { name: string; level: string; detail: string }[] }
	).checks.find((c) => c.name === "model");
	assert.equal(model?.level, "error");
	assert.match(model?.detail ?? "", /no model is configured/);
});

test("run ends with the team's answer on stdout (the tree on stderr); --json has it as answer; result and transcript show a task's", async () => {
	const box = await sandbox();
	await projectTeam(box, "pair", [
		{ id: "look", role: "explorer" },
		{ id: "write", role: "writer", dependsOn: ["look"] },
	]);
	const scenario = await box.write(
		"../scenario.yaml",
		'"task:look":\n  - say: "the layout is flat"\n"task:write":\n  - say: "FINAL ANSWER: add a src/ directory"\n',
	);
	const run = await cli(["run", "pair", "go", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(run.code, 0, run.stderr);
	assert.equal(run.stdout, "\nFINAL ANSWER: add a src/ directory\n", "only the final task's answer, on stdout");
	assert.match(run.stderr, /Run \S+: succeeded/);
	const json = await runJson(["pair", "go", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(json.json.answer, "FINAL ANSWER: add a src/ directory");
	// A task's result and transcript, as /team-result and /team-transcript show them in pi.
	const result = await cli(["result"], box);
	assert.equal(result.code, 0, result.stderr);
	assert.match(
		result.stdout,
		new RegExp(`^result of write · run ${json.json.runId} · succeeded\n\nFINAL ANSWER: add a src/ directory\n$`),
	);
	const look = await cli(["result", json.json.runId, "look"], box);
	assert.match(look.stdout, /the layout is flat/);
	const transcript = await cli(["transcript", "look"], box);
	assert.equal(transcript.code, 0, transcript.stderr);
	assert.match(transcript.stdout, /^transcript of look, attempt 1 · run /);
	assert.match(transcript.stdout, /\*\*prompt\*\*\n\n## Goal\n\ngo\n[\s\S]*do look for [\s\S]*the layout is flat/);
	const unknown = await cli(["result", json.json.runId, "nope"], box);
	assert.equal(unknown.code, 2);
	assert.match(unknown.stderr, /has no task "nope" \(its tasks: look, write\)/);
});

test("a workflow's error is printed once by plan and run", async () => {
	const box = await sandbox();
	await projectTeam(box, "bad", [{ id: "a", role: "executor" }]);
	await box.write(
		".crew/workflows/bad.workflow.md",
		"---\nname: bad\ndescription: d\nsteps:\n  - id: a\n    role: nobody\n    task: x\n---\n",
	);
	for (const args of [
		["plan", "bad"],
		["run", "bad", "go", "--model", SCRIPTED],
	]) {
		const said = await cli(args, box);
		assert.equal(said.code, 2, said.stderr);
		assert.equal(said.stderr.match(/unknown role "nobody"/g)?.length, 1, said.stderr);
	}
});
