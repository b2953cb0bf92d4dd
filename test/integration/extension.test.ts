/** pi-crew loaded into a real pi as an extension: a scripted parent model calls the `team` tool. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { chmod, readdir, readFile, rm } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { test } from "node:test";
import {
	askPi,
	cli,
	interruptedRun,
	projectTeam,
	ROOT,
	runJson,
	SCRIPTED,
	sandbox,
	spawnPi,
	waitFor,
} from "../support/index.js";

test("pi -e pi-crew: the parent agent runs a team with the team tool and reads the result", async () => {
	const box = await sandbox();
	const scenario = await box.write(
		"parent.yaml",
		// "" and null are what models send for fields they mean to leave unset.
		`default:\n  - tool: team\n    args: { action: run, team: research, goal: "how is this repo laid out", workflow: "", model: null }\n  - tool: team\n    args: { action: status, runId: "" }\n  - say: "STATUS: {result}"\n`,
	);
	const { code, stdout, stderr } = await askPi(box, scenario, "research the layout");
	assert.equal(code, 0, stderr);
	assert.match(stdout, /^STATUS: Run \S+: succeeded {2}\(team research/);
	assert.match(stdout, /✓ write\s+writer\s+succeeded/);
	const runs = await readdir(join(box.repo, ".crew/runs"));
	assert.equal(runs.length, 1);
});

test("workers run the parent session's own pi: same version and entry, even with another pi first on PATH", async () => {
	const box = await sandbox();
	// A pi that the CLI would pick (first on PATH) but a session must not: a worker started with it fails the run.
	await box.write("../fakebin/pi", "#!/bin/sh\necho 'not the session pi' >&2\nexit 3\n");
	await chmod(join(box.dir, "fakebin", "pi"), 0o755);
	const env = { ...box.env, PATH: `${join(box.dir, "fakebin")}${delimiter}${box.env.PATH}` };
	const scenario = await box.write(
		"parent.yaml",
		`default:\n  - tool: team\n    args: { action: run, team: research, goal: "which pi runs me" }\n  - say: "RUN: {result}"\n`,
	);
	const { code, stdout, stderr } = await askPi({ ...box, env }, scenario, "run it");
	assert.equal(code, 0, stderr);
	// The tool result leads with the team's answer (the final task's result), then the task tree.
	assert.match(stdout, /^RUN: Report on: which pi runs me\n/);
	assert.match(stdout, /\n---\nRun \S+: succeeded/);
	const parentPi = join(ROOT, "node_modules", ".bin", "pi");
	const version = execFileSync(parentPi, ["--version"], { encoding: "utf8" }).trim();
	const [runId] = await readdir(join(box.repo, ".crew", "runs"));
	const runDir = join(box.repo, ".crew", "runs", runId ?? "");
	const logs = ((await readdir(runDir, { recursive: true })) as string[]).filter((f) => f.endsWith("stderr.log"));
	assert.equal(logs.length, 3, "one per task of the research team");
	for (const log of logs) {
		const first = (await readFile(join(runDir, log), "utf8")).split("\n")[0];
		assert.equal(first, `pi-crew: worker on pi ${version} (${process.execPath} ${realpathSync(parentPi)})`, log);
	}
});

test("workers never trust more than their session or the user: a repository's .pi/settings.json stays out", async () => {
	const box = await sandbox();
	// A repository that would run a command of its own before every bash call of a worker that trusts it.
	// In the checkout: the shared task's own directory, the one place its sandbox lets it write.
	const marker = join(box.repo, "repository-ran-this");
	await box.write(".pi/settings.json", JSON.stringify({ shellCommandPrefix: `touch ${marker};` }));
	await projectTeam(box, "shell", [{ id: "sh", role: "executor" }]);
	const workers = await box.write(
		"workers.yaml",
		'default:\n  - tool: bash\n    args: { command: "echo hi" }\n  - say: "{result}"\n',
	);
	const agentSettings = (trust: string) =>
		box.write("../pi-agent/settings.json", JSON.stringify({ defaultProjectTrust: trust }));
	// Headless, as the user left it (ask): pi skips the project's protected resources.
	const asked = await runJson(["shell", "x", "--scenario", workers], box);
	assert.equal(asked.json.status, "succeeded", asked.stderr);
	assert.ok(!existsSync(marker), "an undecided repository's settings stayed out of the worker");
	// The user chose to trust projects: the worker inherits that decision (and the marker shows the setup works).
	await agentSettings("always");
	const trusted = await runJson(["shell", "x", "--scenario", workers], box);
	assert.equal(trusted.json.status, "succeeded", trusted.stderr);
	assert.ok(existsSync(marker), "the user's own trust decision applies");
	await rm(marker);
	// A session started with --no-approve did not trust the project: its workers do not either.
	const parent = await box.write(
		"parent.yaml",
		`default:\n  - tool: team\n    args: { action: run, team: shell, goal: "from the session" }\n  - say: "RUN: {result}"\n`,
	);
	const session = await askPi({ ...box, env: { ...box.env, PI_CREW_SCENARIO: parent } }, parent, "run it", "text", [
		"--no-approve",
	]);
	assert.equal(session.code, 0, session.stderr);
	assert.match(session.stdout, /^RUN: Executed the plan for: from the session\n[\s\S]*\n---\nRun \S+: succeeded/);
	assert.ok(!existsSync(marker), "the untrusting session's workers skipped the project's settings");
});

test("at session start, pi offers an interrupted run of this repository for resume", async () => {
	const box = await sandbox();
	await interruptedRun(box.repo, "20260101-000000-dead00", { team: "fast-fix", crewHome: box.env.PI_CREW_HOME });
	const child = spawnPi(["--mode", "rpc"], box);
	const notice = await new Promise<string>((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill();
			reject(new Error("no notification within 60 s"));
		}, 60_000);
		let buffer = "";
		child.stdout.on("data", (d) => {
			buffer += d;
			const line = buffer.split("\n").find((l) => l.includes('"method":"notify"'));
			if (line) {
				clearTimeout(timer);
				resolve(line);
			}
		});
	});
	child.stdin.end(); // EOF: pi quits
	await new Promise((resolve) => child.on("close", resolve));
	const request = JSON.parse(notice) as { message: string; notifyType: string };
	assert.equal(request.notifyType, "warning");
	assert.match(request.message, /run 20260101-000000-dead00 \(fast-fix\) was interrupted/);
	assert.match(request.message, /pi-crew resume 20260101-000000-dead00/);
});

test("the team tool starts a background run and cancels it", async () => {
	const box = await sandbox();
	const scenario = await box.write(
		"parent.yaml",
		`default:\n  - tool: team\n    args: { action: run, team: research, goal: "in the background", background: true }\n  - tool: team\n    args: { action: cancel, runId: "{runId}" }\n  - say: "CANCEL: {result}"\n`,
	);
	const { code, stdout, stderr } = await askPi(box, scenario, "start and stop");
	assert.equal(code, 0, stderr);
	assert.match(stdout, /^CANCEL: run \S+: cancelled \(cancelled\)/);
});

test("the team tool's actions: plan, recommend, summary, artifacts, get, config, create, api, and what a call lacks", async () => {
	const box = await sandbox();
	const seeded = await cli(["run", "review", "seed a run", "--runtime", "scaffold"], box);
	assert.equal(seeded.code, 0, seeded.stderr);
	const calls = [
		{ action: "plan", team: "review" },
		{ action: "recommend", goal: "fix the login bug" },
		{ action: "summary" },
		{ action: "artifacts" },
		{ action: "get", name: "fast-fix" },
		{ action: "config" },
		{ action: "create", kind: "agent", name: "helper", content: "---\nname: helper\ndescription: d\n---\nHelp.\n" },
		{ action: "import" },
		{ action: "cancel" },
		{
			action: "create",
			kind: "agent",
			name: "mine",
			content: "---\nname: mine\ndescription: d\n---\nx\n",
			scope: "user",
		},
		{ action: "api", operation: "status" },
	];
	const script = calls.map((args) => `  - tool: team\n    args: ${JSON.stringify(args)}`).join("\n");
	const scenario = await box.write("parent.yaml", `default:\n${script}\n  - say: done\n`);
	const asked = await askPi(box, scenario, "use the team tool", "json");
	assert.equal(asked.code, 0, asked.stderr);
	const results = asked.toolResults;
	assert.equal(results.length, calls.length);
	const [plan, recommend, summary, artifacts, get, config, created, fileless, unnamed, userScope, raw] = results;
	assert.match(
		plan ?? "",
		/Plan: team review, workflow review, 4 tasks \(nothing runs\)[\s\S]*report\s+writer \(writer\)\s+after review, security/,
	);
	assert.match(recommend ?? "", /^fast-fix \(score \d+\): executor: trigger "fix"/);
	assert.match(summary ?? "", /^# Run \S+: succeeded/);
	assert.match(artifacts ?? "", /artifacts\/summary\.md/);
	assert.match(artifacts ?? "", /artifacts\/tasks\/report\/prompt\.md/);
	assert.match(get ?? "", /team fast-fix \(builtin, .*fast-fix\.team\.md\)[\s\S]*workflow fast-fix \(builtin/);
	assert.match(config ?? "", /"concurrency": 4/);
	assert.match(created ?? "", /^created .*\.crew\/agents\/helper\.md$/);
	assert.equal(fileless, "team import needs `file`: a bundle made by export (kind run).");
	assert.equal(unnamed, "team cancel needs `runId` (see action list).", "never the latest run by default");
	assert.match(userScope ?? "", /in the user's resources needs the user's confirmation/, "headless: never");
	const status = JSON.parse(raw ?? "{}") as { team: string; status: string; tasks: unknown[] };
	assert.deepEqual([status.team, status.status, status.tasks.length], ["review", "succeeded", 4]);
});

test("Agent + get_subagent_result round-trip: a background agent's answer comes back; a foreground one directly", async () => {
	const box = await sandbox();
	await box.write("notes.txt", "hello\n");
	const scenario = await box.write(
		"parent.yaml",
		[
			"default:",
			"  - tool: Agent",
			'    args: { agent: explorer, prompt: "find the notes", background: true }',
			"  - tool: get_subagent_result",
			'    args: { runId: "{runId}" }',
			"  - tool: Agent",
			'    args: { agent: verifier, prompt: "check the notes" }',
			'  - say: "LAST: {result}"',
		].join("\n"),
	);
	const asked = await askPi(box, scenario, "delegate", "json");
	assert.equal(asked.code, 0, asked.stderr);
	const results = asked.toolResults;
	assert.match(results[0] ?? "", /^started explorer as run (\S+); get its answer with get_subagent_result$/);
	assert.match(results[1] ?? "", /^Explored the repository for: find the notes\n\nFiles:\n[\s\S]*notes\.txt/);
	assert.match(results[2] ?? "", /^PASS: check the notes[\s\S]*\(run \S+\)$/);
	const runs = JSON.parse((await cli(["list", "--json"], box)).stdout) as { runs: { team: string; status: string }[] };
	assert.deepEqual(runs.runs.map((r) => [r.team, r.status]).sort(), [
		["agent:explorer", "succeeded"],
		["agent:verifier", "succeeded"],
	]);
});

test("steer_subagent: a message reaches a running in-process agent and a running child agent", async () => {
	const box = await sandbox();
	await projectTeam(box, "solo", [{ id: "look", role: "explorer" }]);
	await projectTeam(box, "slow", [{ id: "check", role: "verifier" }]);
	// Each script answers with the newest message it got ({message}): the steer. Both workers hold at a barrier that
	// the parent releases only after steering, so both are running when steered.
	const release = join(box.repo, "release.flag");
	const workers = await box.write(
		"workers.yaml",
		`explorer:\n  - tool: ls\n    args: { path: "." }\n  - waitFor: ${JSON.stringify(release)}\n  - say: "answer for: {message}"\nverifier:\n  - waitFor: ${JSON.stringify(release)}\n  - say: "verified: {message}"\n`,
	);
	const start = async (team: string, runtime: string) => {
		const res = await cli(
			["run", team, "look around", "--model", SCRIPTED, "--scenario", workers, "--runtime", runtime, "--background"],
			box,
		);
		assert.equal(res.code, 0, res.stderr);
		return res.stdout.trim();
	};
	const child = await start("slow", "child");
	const inProcess = await start("solo", "inprocess");
	// Steered only once each is at work: the child has started, the in-process session has made its first tool call.
	for (const [runId, needle] of [
		[child, '"task.started"'],
		[inProcess, '"task.tool"'],
	] as const)
		await waitFor(
			`run ${runId}'s task to be at work`,
			async () => {
				const log = await readFile(join(box.repo, ".crew", "runs", runId, "events.jsonl"), "utf8").catch(() => "");
				return log.includes(needle) ? true : undefined;
			},
			120_000,
		);
	const parent = await box.write(
		"parent.yaml",
		[
			"default:",
			"  - tool: steer_subagent",
			`    args: { runId: "${inProcess}", message: "also check the notes" }`,
			"  - tool: steer_subagent",
			`    args: { runId: "${child}", message: "hurry" }`,
			"  - tool: bash",
			`    args: { command: "touch ${release}" }`,
			"  - tool: get_subagent_result",
			`    args: { runId: "${inProcess}" }`,
			"  - tool: get_subagent_result",
			`    args: { runId: "${child}" }`,
			'  - say: "done"',
		].join("\n"),
	);
	const asked = await askPi(box, parent, "steer", "json");
	assert.equal(asked.code, 0, asked.stderr);
	const [steered, steeredChild, , answer, childAnswer] = asked.toolResults;
	assert.equal(steered, `delivered to look of run ${inProcess}`);
	assert.equal(steeredChild, `delivered to check of run ${child}`);
	assert.match(answer ?? "", /^answer for: also check the notes/);
	assert.match(childAnswer ?? "", /verified: hurry/);
});
