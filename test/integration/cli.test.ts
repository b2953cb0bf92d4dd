/** Bad input to the CLI: exit 2 with a message that says what to do, and nothing touched. */
import assert from "node:assert/strict";
import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, sandbox, startCli } from "../support/index.js";

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
		[["run", "default", "goal", "--bogus"], /Unknown option '--bogus'/],
		[["resume", "nope"], /no run nope/],
		[["deadletter", "nope"], /no run nope/],
		[["frobnicate"], /unknown command "frobnicate"/],
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
	assert.equal(res.code, 1);
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

test("read-only commands as a user types them: plan (--workflow), recommend, teams, workflows, events, --cwd", async () => {
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
});
