/**
 * Worktree isolation with real git repositories and real pi workers on the scripted model: parallel writers each in
 * a worktree of their own, merged into the run's integration branch; a conflict that needs a person while the user's
 * uncommitted work stays byte for byte; kill -9 of the coordinator, and a crash between a task's commit and its merge;
 * `apply`.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { git, gitBox, worktreesOf } from "../support/git.js";
import {
	cli,
	processesOfRun,
	projectTeam,
	type RunJson,
	runJson,
	SCRIPTED,
	sandbox,
	startCli,
	waitFor,
	waitForRunLog,
} from "../support/index.js";
import { writers } from "../support/workspace.js";

test("two parallel writers in worktrees both land in the integration branch; the checkout is untouched until apply", async () => {
	const box = await gitBox();
	await projectTeam(box, "pair", [
		{ id: "a", role: "executor" },
		{ id: "b", role: "executor" },
		{ id: "check", role: "verifier", dependsOn: ["a", "b"] },
	]);
	const scenario = await writers(box, { a: ["a.txt", "from a"], b: ["b.txt", "from b"] });
	await writeFile(join(box.repo, "notes.txt"), "my uncommitted edit\n");
	const run = await runJson(
		["pair", "go", "--isolation", "worktree", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const branch = `pi-crew/${run.json.runId}/integration`;
	assert.equal((run.json as RunJson & { integrationBranch?: string }).integrationBranch, branch);
	assert.equal(git(box.repo, "show", `${branch}:a.txt`), "from a");
	assert.equal(git(box.repo, "show", `${branch}:b.txt`), "from b");
	// The dependent task started from both: its worktree lists both files.
	const check = await readFile(join(run.json.runDir, "artifacts", "tasks", "check", "result.md"), "utf8");
	assert.match(check, /a\.txt[\s\S]*b\.txt/);
	// Nothing reached the user's checkout, and their edit is as they left it.
	assert.throws(() => git(box.repo, "cat-file", "-e", "HEAD:a.txt"));
	assert.equal(await readFile(join(box.repo, "notes.txt"), "utf8"), "my uncommitted edit\n");
	const status = await cli(["status", run.json.runId], box);
	assert.match(
		status.stdout,
		new RegExp(`integration branch: ${branch} \\(into your checkout: pi-crew apply ${run.json.runId}\\)`),
	);

	const applied = await cli(["apply", run.json.runId], box);
	assert.equal(applied.code, 0, applied.stderr);
	assert.match(applied.stderr, /applied run \S+: the checkout moved from \w+ to \w+ .*a fast-forward/);
	assert.equal(await readFile(join(box.repo, "a.txt"), "utf8"), "from a");
	assert.equal(await readFile(join(box.repo, "b.txt"), "utf8"), "from b");
	assert.equal(await readFile(join(box.repo, "notes.txt"), "utf8"), "my uncommitted edit\n", "kept through apply");

	// A run deleted by hand leaves its worktrees: doctor names them and how to remove them.
	execFileSync("rm", ["-rf", run.json.runDir]);
	const doctor = JSON.parse((await cli(["doctor", "--json"], box)).stdout) as {
		checks: { name: string; detail: string; hint?: string }[];
	};
	const orphan = doctor.checks.find((c) => c.name === `worktree ${run.json.runId}/a`);
	assert.equal(orphan?.detail, `${join(worktreesOf(box), run.json.runId, "a")}: its run is gone`);
	assert.match(orphan?.hint ?? "", /^git worktree remove \S+ \(its branch pi-crew\/\S+\/task\/a is kept\)$/);
});

test("a conflicting pair: one task needs attention, its branch intact; apply refuses; the user's work is byte-identical", async () => {
	const box = await gitBox();
	// The person's path: no resolver agent first (merge-resolver.test.ts covers the resolver's).
	await box.write("../crew-home/config.yaml", "merge:\n  resolver: none\n");
	await projectTeam(box, "clash", [
		{ id: "left", role: "executor" },
		{ id: "right", role: "executor" },
	]);
	const scenario = await writers(box, { left: ["notes.txt", "left"], right: ["notes.txt", "right"] });
	await writeFile(join(box.repo, "notes.txt"), "mine, uncommitted\n");
	await writeFile(join(box.repo, "untracked.txt"), "also mine\n");
	const run = await runJson(
		["clash", "go", "--isolation", "worktree", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(run.code, 1);
	assert.equal(run.json.status, "failed");
	const tasks = run.json.tasks as (RunJson["tasks"][number] & {
		needsAttention?: boolean;
		conflict?: { files: string[]; branch: string; worktree: string };
	})[];
	const stuck = tasks.filter((t) => t.needsAttention);
	assert.equal(stuck.length, 1, "the second to finish conflicts; the first landed");
	const [task] = stuck;
	assert.deepEqual(task?.conflict?.files, ["notes.txt"]);
	assert.match(task?.reason ?? "", /needs attention: merging its work conflicts in notes\.txt/);
	// Its branch and worktree are kept with its work.
	const branch = task?.conflict?.branch ?? "";
	assert.match(git(box.repo, "show", `${branch}:notes.txt`), /^(left|right)$/);
	assert.equal(await readFile(join(task?.conflict?.worktree ?? "", "notes.txt"), "utf8"), task?.id);
	const status = await cli(["status", run.json.runId], box);
	assert.match(status.stdout, new RegExp(`${task?.id} +executor +needs-attention`));
	assert.match(status.stdout, new RegExp(`resolve on ${branch.replace(/\//g, "\\/")} \\(worktree `));
	const apply = await cli(["apply", run.json.runId], box);
	assert.equal(apply.code, 2);
	assert.match(apply.stderr, new RegExp(`open merge conflicts: ${task?.id} \\(notes\\.txt on ${branch}`));
	assert.equal(await readFile(join(box.repo, "notes.txt"), "utf8"), "mine, uncommitted\n");
	assert.equal(await readFile(join(box.repo, "untracked.txt"), "utf8"), "also mine\n");
	assert.equal(git(box.repo, "rev-parse", "HEAD"), git(box.repo, "rev-parse", "main"));

	// The person resolves it on the task's branch; resume merges it and the run ends well.
	const worktree = task?.conflict?.worktree ?? "";
	git(worktree, "merge", "-q", `pi-crew/${run.json.runId}/integration`, "-X", "ours", "-m", "resolved");
	const resumed = await cli(["resume", run.json.runId, "--json"], box);
	assert.equal(resumed.code, 0, resumed.stderr);
	assert.equal((JSON.parse(resumed.stdout) as RunJson).status, "succeeded");
	assert.equal(git(box.repo, "show", `pi-crew/${run.json.runId}/integration:notes.txt`), task?.id);
	// cleanup: worktrees and branches whose work is merged go; one with a change not committed stays; integration stays.
	const other = tasks.find((t) => !t.needsAttention)?.id ?? "";
	await writeFile(join(worktree, "scratch.txt"), "not committed\n");
	const swept = await cli(["cleanup", "--json"], box);
	assert.equal(swept.code, 0, swept.stderr);
	const removed = (JSON.parse(swept.stdout) as { removed: { kind: string; path: string }[] }).removed;
	assert.deepEqual(
		removed.filter((r) => r.kind === "worktree").map((r) => r.path.split("/").pop()),
		[other],
	);
	assert.throws(() => git(box.repo, "rev-parse", "--verify", `pi-crew/${run.json.runId}/task/${other}`));
	assert.equal(await readFile(join(worktree, "scratch.txt"), "utf8"), "not committed\n");
	git(box.repo, "rev-parse", "--verify", `pi-crew/${run.json.runId}/integration`);
});

test("kill -9 of an isolated run's coordinator: resume finds each task's worktree again and lands all the work once", async () => {
	const box = await gitBox();
	await projectTeam(box, "two", [
		{ id: "quick", role: "executor" },
		{ id: "slow", role: "executor" },
	]);
	// slow writes half its work, then sleeps; its second attempt finds the half in its worktree and finishes it.
	const scenario = await box.write(
		"../scenario.yaml",
		[
			`"task:quick":\n  - tool: bash\n    args: { command: "printf quick > quick.txt" }\n  - say: quick done`,
			`"task:slow@1":\n  - tool: bash\n    args: { command: "printf half > slow.txt && sleep 60" }\n  - say: never`,
			`"task:slow":\n  - tool: bash\n    args: { command: "cat slow.txt && printf ' and the rest' >> slow.txt" }\n  - say: "found {result}"`,
		].join("\n"),
	);
	const { child, done } = startCli(
		["run", "two", "go", "--isolation", "worktree", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	const runId = await waitForRunLog(box, "quick merged and slow sleeping", '"task.succeeded"');
	const half = () => join(worktreesOf(box), runId, "slow", "slow.txt");
	await waitFor("slow's half-done work in its worktree", async () => (existsSync(half()) ? true : undefined));
	child.kill("SIGKILL");
	await done;
	await waitFor("workers to stop", async () => ((await processesOfRun(runId)).length === 0 ? true : undefined), 10_000);
	const resumed = await cli(["resume", runId, "--json"], box);
	assert.equal(resumed.code, 0, resumed.stderr);
	const run = JSON.parse(resumed.stdout) as RunJson;
	assert.equal(run.status, "succeeded");
	const branch = `pi-crew/${runId}/integration`;
	assert.equal(git(box.repo, "show", `${branch}:quick.txt`), "quick");
	assert.equal(git(box.repo, "show", `${branch}:slow.txt`), "half and the rest", "the half-done work was kept");
	assert.match(await readFile(join(run.runDir, "artifacts", "tasks", "slow", "result.md"), "utf8"), /found half/);
	assert.equal(git(box.repo, "rev-list", "--count", "--no-merges", `main..${branch}`), "2", "one commit per task");
});

test("a crash between a task's commit and its merge (the log cut there, the merge published or not): resume merges it once", async () => {
	const box = await gitBox();
	await projectTeam(box, "solo", [{ id: "w", role: "executor" }]);
	const scenario = await writers(box, { w: ["w.txt", "work"] });
	const run = await runJson(
		["solo", "go", "--isolation", "worktree", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const log = join(run.json.runDir, "events.jsonl");
	const lines = (await readFile(log, "utf8")).trimEnd().split("\n");
	const committedAt = lines.findIndex((l) => l.includes('"task.committed"'));
	assert.ok(committedAt > 0);
	const branch = `pi-crew/${run.json.runId}/integration`;
	const merged = git(box.repo, "rev-parse", branch);
	// The log as a crash right after the commit leaves it, once with the merge not yet published and once with it.
	for (const published of [false, true]) {
		await writeFile(log, `${lines.slice(0, committedAt + 1).join("\n")}\n`);
		git(box.repo, "update-ref", `refs/heads/${branch}`, published ? merged : git(box.repo, "rev-parse", "main"));
		const resumed = await cli(["resume", run.json.runId, "--json"], box);
		assert.equal(resumed.code, 0, resumed.stderr);
		const after = JSON.parse(resumed.stdout) as RunJson;
		assert.equal(after.status, "succeeded");
		assert.equal(after.tasks[0]?.attempts.length, 2, "the work was merged, not done again");
		assert.equal(git(box.repo, "show", `${branch}:w.txt`), "work");
		assert.equal(git(box.repo, "rev-list", "--count", `main..${branch}`), "1", "exactly one commit on top of the base");
	}
});

test("a workflow step may ask for a worktree (the run is then isolated) or for the checkout itself", async () => {
	const box = await gitBox();
	await box.write(
		".crew/teams/mixed.team.md",
		"---\nname: mixed\ndescription: d\nroles:\n  - name: executor\n    agent: executor\ndefaultWorkflow: mixed\n---\n",
	);
	await box.write(
		".crew/workflows/mixed.workflow.md",
		"---\nname: mixed\ndescription: d\nsteps:\n  - id: w\n    role: executor\n    isolation: worktree\n    task: write\n  - id: s\n    role: executor\n    isolation: shared\n    dependsOn: [w]\n    task: look\n---\n",
	);
	const scenario = await writers(box, { w: ["w.txt", "isolated"], s: ["seen.txt", "in the checkout"] });
	const run = await runJson(["mixed", "go", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const branch = (run.json as RunJson & { integrationBranch?: string }).integrationBranch ?? "";
	assert.equal(git(box.repo, "show", `${branch}:w.txt`), "isolated");
	assert.ok(!existsSync(join(box.repo, "w.txt")), "the worktree step's file is not in the checkout");
	assert.equal(await readFile(join(box.repo, "seen.txt"), "utf8"), "in the checkout", "the shared step worked there");
	// The run's diff is its branch's; it says the shared step's work is not in it, and where to see it.
	const whole = await cli(["diff", run.json.runId], box);
	assert.equal(whole.code, 0, whole.stderr);
	assert.match(whole.stdout, /^\+isolated$/m);
	assert.doesNotMatch(whole.stdout, /in the checkout/);
	assert.match(
		whole.stderr,
		/task s worked in the checkout \(isolation: shared\), not on the run's branch: its changes are not in this diff; see pi-crew diff \S+ s$/m,
	);
	const step = await cli(["diff", run.json.runId, "s"], box);
	assert.match(step.stdout, /^\+in the checkout$/m);
});

test("isolation needs git and a commit: refused with what to do, exit 2; shared mode still works", async () => {
	const box = await sandbox(); // a .git directory that git does not know
	execFileSync("rm", ["-rf", join(box.repo, ".git")]);
	execFileSync("mkdir", [join(box.repo, ".git")]);
	const notGit = await cli(["run", "fast-fix", "x", "--isolation", "worktree", "--model", SCRIPTED], box);
	assert.equal(notGit.code, 2);
	assert.match(
		notGit.stderr,
		/isolation "worktree" needs git and a git repository, and .* is not one: run with --isolation shared/,
	);
	execFileSync("rm", ["-rf", join(box.repo, ".git")]);
	git(box.repo, "init", "-q");
	const empty = await cli(["run", "fast-fix", "x", "--isolation", "worktree", "--model", SCRIPTED], box);
	assert.equal(empty.code, 2);
	assert.match(
		empty.stderr,
		/needs a commit to start from, and .* has none yet: commit first, or run with --isolation shared/,
	);
	const shared = await cli(["run", "fast-fix", "x", "--isolation", "shared", "--model", SCRIPTED], box);
	assert.equal(shared.code, 0, shared.stderr);
});
