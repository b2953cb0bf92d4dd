/** CLI conventions as a newcomer meets them: per-command help, did-you-mean, prune's missing age. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, cli, SCRIPTED, sandbox } from "../support/index.js";

test("--help per command: `run --help` and `help run` show run's forms and options only", async () => {
	const box = await sandbox();
	const viaFlag = await cli(["run", "--help"], box);
	const viaHelp = await cli(["help", "run"], box);
	assert.equal(viaFlag.code, 0, viaFlag.stderr);
	assert.equal(viaHelp.code, 0, viaHelp.stderr);
	assert.equal(viaFlag.stdout, viaHelp.stdout);
	assert.match(viaFlag.stdout, /^ {2}pi-crew run <team> "<goal>"/);
	assert.match(viaFlag.stdout, /\n {2}--model provider\/id +the model of every worker\n/);
	assert.match(viaFlag.stdout, /\n {2}--max-wall SECONDS +/);
	assert.doesNotMatch(viaFlag.stdout, /--older-than|--follow|pi-crew status/, "only run's options");
	const prune = await cli(["prune", "-h"], box);
	assert.equal(prune.code, 0);
	assert.match(prune.stdout, /--older-than AGE +30m, 12h, 7d, 2w/);
	assert.doesNotMatch(prune.stdout, /--model/);
	const whole = await cli(["--help"], box);
	assert.equal(whole.code, 0);
	assert.match(whole.stdout, /pi-crew status \[runId\] --follow/);
	assert.match(whole.stdout, /pi-crew <command> --help/);
});

test("did you mean: a misspelt command or option is one line naming the closest, exit 2", async () => {
	const box = await sandbox();
	const cases: [string[], string][] = [
		[["statsu"], 'pi-crew: unknown command "statsu"; did you mean status? (pi-crew --help lists them)\n'],
		[["help", "statsu"], 'pi-crew: unknown command "statsu"; did you mean status? (pi-crew --help lists them)\n'],
		[
			["run", "fast-fix", "goal", "--modle", "x"],
			"pi-crew: unknown option --modle for run; did you mean --model? (pi-crew run --help lists its options)\n",
		],
		[
			["prune", "--older-then", "7d"],
			"pi-crew: unknown option --older-then for prune; did you mean --older-than? (pi-crew prune --help lists its options)\n",
		],
		[
			["status", "--older-than", "7d"],
			"pi-crew: status does not take --older-than (pi-crew status --help lists its options)\n",
		],
		[["list", "--follow"], "pi-crew: list does not take --follow (pi-crew list --help lists its options)\n"],
	];
	for (const [args, message] of cases) {
		const res = await cli(args, box);
		assert.equal(res.code, 2, args.join(" "));
		assert.equal(res.stderr, message, args.join(" "));
		assert.equal(res.stdout, "", "not the whole help");
	}
});

test("prune without --older-than says what to pass, with an example, exit 2", async () => {
	const box = await sandbox();
	const res = await cli(["prune"], box);
	assert.equal(res.code, 2);
	assert.match(
		res.stderr,
		/prune needs --older-than AGE: .*\(30m, 12h, 7d, 2w; 0d: any age\); e\.g\. pi-crew prune --older-than 7d --dry-run/,
	);
});

test("pi-crew's home follows PI_CODING_AGENT_DIR: config, user agents and the owner key under its crew/", async () => {
	const box = await sandbox();
	// As a user who moved pi's agent dir and never heard of PI_CREW_HOME.
	delete box.env.PI_CREW_HOME;
	const home = join(box.dir, "pi-agent", "crew");
	await box.write("../pi-agent/crew/config.yaml", "concurrency: 3\n");
	await box.write("../pi-agent/crew/agents/helper.md", "---\nname: helper\ndescription: mine\n---\nHelp.\n");
	const config = await cli(["config", "--json"], box);
	assert.equal(config.code, 0, config.stderr);
	const effective = JSON.parse(config.stdout) as { file: string; concurrency: number };
	assert.equal(effective.file, join(home, "config.yaml"));
	assert.equal(effective.concurrency, 3);
	const agents = JSON.parse((await cli(["agents", "--json"], box)).stdout) as { name: string; scope: string }[];
	assert.equal(agents.find((a) => a.name === "helper")?.scope, "user");
	const run = await cli(["run", "fast-fix", "goal", "--runtime", "scaffold", "--json"], box);
	assert.equal(run.code, 0, run.stderr);
	assert.ok(existsSync(join(home, "owner.key")), "the key that marks runs as yours");
	assert.ok(!existsSync(join(box.dir, "home", ".pi")), "nothing under ~/.pi");
});

test("a reader that goes away never stops the run: `pi-crew run … 2>&1 | head -c 1` runs to its end", async () => {
	const box = await sandbox();
	// The shell waits for the whole pipeline: once it ends, pi-crew has ended too, after head closed the pipe.
	const shell = spawn(
		"sh",
		["-c", '"$0" "$@" 2>&1 | head -c 1', process.execPath, CLI, "run", "fast-fix", "fix it", "--model", SCRIPTED],
		{ cwd: box.repo, env: box.env, stdio: ["ignore", "pipe", "inherit"] },
	);
	let seen = "";
	shell.stdout.on("data", (d) => {
		seen += d;
	});
	await new Promise((resolve) => shell.on("close", resolve));
	assert.equal(seen.length, 1, "head took one byte and left");
	const status = await cli(["status", "--json"], box);
	assert.equal(status.code, 0, status.stderr);
	const run = JSON.parse(status.stdout) as { status: string; tasks: { status: string }[] };
	assert.equal(run.status, "succeeded");
	assert.deepEqual(
		run.tasks.map((t) => t.status),
		["succeeded", "succeeded", "succeeded"],
	);
});
