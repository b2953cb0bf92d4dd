/**
 * pi-crew's own git runs nothing a repository's `.git` configures, with none of the coordinator's secrets, and keeps
 * its worktrees outside the repository: real git repositories with planted filter, merge and diff drivers, an
 * fsmonitor and hooks; real pi workers on the scripted model; worktrees of a run from before (in the git dir) moved
 * out on resume and swept by cleanup.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { gitBox, inertGit, plantGitPrograms, worktreesOf } from "../support/git.js";
import {
	cli,
	processesOfRun,
	projectTeam,
	type RunJson,
	runJson,
	type Sandbox,
	SCRIPTED,
	startCli,
	waitFor,
	waitForRunLog,
} from "../support/index.js";

const SECRET = "sk-proj-coordinatorsecret0123456789abcdef";

/** A scenario: each named task runs its shell command, then answers; any other task reads `notes.txt`. */
function scenario(box: Sandbox, commands: Record<string, string>): Promise<string> {
	const steps = Object.entries(commands).map(
		([task, command]) =>
			`"task:${task}":\n  - tool: bash\n    args: { command: ${JSON.stringify(command)} }\n  - say: "${task} done"`,
	);
	const read = 'default:\n  - tool: read\n    args: { path: notes.txt }\n  - say: "saw {result}"';
	return box.write("../scenario.yaml", [...steps, read].join("\n"));
}

test("an isolated run commits, merges, shows and applies work without running any program the repository's .git names, and git never sees the coordinator's secrets", async () => {
	const box = await gitBox(
		{
			"notes.txt": "line1\nline2\nline3\nline4\nline5\n",
			"old.txt": "to delete\n",
			"doc.md": "doc\n",
			".gitattributes": "* filter=evil diff=evil merge=evil\n",
		},
		inertGit,
	);
	const marks = join(box.dir, "marks");
	await plantGitPrograms(box.repo, marks);
	// The coordinator's own git, seen through a wrapper first on PATH: what environment pi-crew gives it.
	const bin = join(box.dir, "bin");
	await mkdir(bin);
	const real = execFileSync("sh", ["-c", "command -v git"]).toString().trim();
	await writeFile(join(bin, "git"), `#!/bin/sh\n{ env; echo ----; } >> "${box.dir}/git-env.log"\nexec ${real} "$@"\n`);
	await chmod(join(bin, "git"), 0o755);
	box.env.PATH = `${bin}:${box.env.PATH}`;
	box.env.OPENAI_API_KEY = SECRET;
	box.env.GIT_TRACE = join(box.dir, "trace.log"); // a GIT_* of the user's: not passed either
	await projectTeam(box, "pair", [
		{ id: "a", role: "executor" },
		{ id: "b", role: "executor" },
		{ id: "look", role: "reviewer", dependsOn: ["a", "b"] },
	]);
	const script = await scenario(box, {
		a: "sed -i s/line1/LINE1-a/ notes.txt && printf 'new a\\n' > a.txt && printf 'more\\n' >> doc.md",
		b: "sed -i s/line5/LINE5-b/ notes.txt && rm old.txt && printf '#!/bin/sh\\n' > run.sh && chmod +x run.sh && ln -s notes.txt link",
	});
	const run = await runJson(["pair", "go", "--isolation", "worktree", "--model", SCRIPTED, "--scenario", script], box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	assert.deepEqual(await readdir(marks), [], "no filter, driver, fsmonitor or hook ran");

	// The integration branch holds the files' raw bytes, both changes to notes.txt merged by git's own 3-way merge.
	const branch = `pi-crew/${run.json.runId}/integration`;
	const blob = (path: string) => inertGit(box.repo, "cat-file", "blob", `${branch}:${path}`);
	assert.equal(blob("notes.txt"), "LINE1-a\nline2\nline3\nline4\nLINE5-b");
	assert.equal(blob("a.txt"), "new a");
	assert.equal(blob("doc.md"), "doc\nmore");
	assert.equal(blob("link"), "notes.txt");
	const modes = inertGit(box.repo, "ls-tree", branch);
	assert.match(modes, /^100755 blob \w+\trun\.sh$/m);
	assert.match(modes, /^120000 blob \w+\tlink$/m);
	assert.doesNotMatch(modes, /old\.txt/);
	assert.equal(inertGit(box.repo, "rev-list", "--count", "--merges", `main..${branch}`), "1", "one real merge");
	// The reader saw the merged work as committed, not through a smudge filter.
	const look = await readFile(join(run.json.runDir, "artifacts", "tasks", "look", "result.md"), "utf8");
	assert.match(look, /LINE1-a/);
	assert.doesNotMatch(look, /FILTERED/);

	// Worktrees are outside the repository, and each task's is clean after its commit.
	const root = worktreesOf(box);
	assert.ok(!root.startsWith(box.repo), root);
	for (const task of ["a", "b"]) {
		const worktree = join(root, run.json.runId, task);
		assert.ok(existsSync(join(worktree, "notes.txt")), worktree);
		assert.equal(inertGit(worktree, "status", "--porcelain"), "", `${task}'s worktree matches its commit`);
	}

	const applied = await cli(["apply", run.json.runId], box);
	assert.equal(applied.code, 0, applied.stderr);
	assert.equal(await readFile(join(box.repo, "notes.txt"), "utf8"), "LINE1-a\nline2\nline3\nline4\nLINE5-b\n");
	assert.ok(lstatSync(join(box.repo, "link")).isSymbolicLink());
	assert.equal(readlinkSync(join(box.repo, "link")), "notes.txt");
	assert.ok(lstatSync(join(box.repo, "run.sh")).mode & 0o100, "run.sh is executable");
	// diff computes its patch where no configuration is: the raw bytes, no textconv or diff driver.
	const diff = await cli(["diff", run.json.runId], box);
	assert.equal(diff.code, 0, diff.stderr);
	assert.match(diff.stdout, /^\+LINE1-a$/m);
	const cleanup = await cli(["cleanup", "--json"], box);
	assert.equal(cleanup.code, 0, cleanup.stderr);
	// A shared run's snapshots of the checkout hash its files as they are: no filter runs there either.
	await projectTeam(box, "solo", [{ id: "a", role: "executor" }]);
	const shared = await runJson(["solo", "go", "--isolation", "shared", "--model", SCRIPTED, "--scenario", script], box);
	assert.equal(shared.json.status, "succeeded", shared.stderr);
	const sharedDiff = await cli(["diff", "--stat"], box);
	assert.match(sharedDiff.stdout, /^M doc\.md +\+1 -0$/m);
	assert.deepEqual(await readdir(marks), [], "nothing ran through apply, diff, cleanup or snapshots either");

	const calls = (await readFile(join(box.dir, "git-env.log"), "utf8")).split("----\n").filter(Boolean);
	assert.ok(calls.length > 10, "pi-crew's git went through the wrapper");
	for (const env of calls) {
		assert.doesNotMatch(env, /OPENAI_API_KEY|sk-proj-|GIT_TRACE/);
		assert.match(env, /^GIT_CONFIG_NOSYSTEM=1$/m);
	}
	assert.ok(!existsSync(join(box.dir, "trace.log")));
});

test("a run whose worktrees are in the git dir (a run from before) resumes there, its worktree moved out; cleanup sweeps both places", async () => {
	const box = await gitBox({ "notes.txt": "committed\n" }, inertGit);
	await projectTeam(box, "two", [
		{ id: "quick", role: "executor" },
		{ id: "slow", role: "executor" },
	]);
	const script = await box.write(
		"../scenario.yaml",
		[
			`"task:quick":\n  - tool: bash\n    args: { command: "printf quick > quick.txt" }\n  - say: quick done`,
			`"task:slow@1":\n  - tool: bash\n    args: { command: "printf half > slow.txt" }\n  - waitFor: never.txt\n  - say: never`,
			`"task:slow":\n  - tool: bash\n    args: { command: "printf ' and the rest' >> slow.txt" }\n  - say: done`,
		].join("\n"),
	);
	const { child, done } = startCli(
		["run", "two", "go", "--isolation", "worktree", "--model", SCRIPTED, "--scenario", script],
		box,
	);
	const runId = await waitForRunLog(box, "quick merged and slow waiting", '"task.succeeded"');
	const slow = join(worktreesOf(box), runId, "slow");
	await waitFor("slow's half-done work", async () => (existsSync(join(slow, "slow.txt")) ? true : undefined));
	child.kill("SIGKILL");
	await done;
	await waitFor("workers to stop", async () => ((await processesOfRun(runId)).length === 0 ? true : undefined), 10_000);
	// Where the previous version kept them: in the git dir. Both task worktrees go there, as that version left them.
	const legacy = join(box.repo, ".git", "pi-crew", "worktrees", runId);
	await mkdir(legacy, { recursive: true });
	for (const task of ["quick", "slow"])
		inertGit(box.repo, "worktree", "move", join(worktreesOf(box), runId, task), join(legacy, task));

	const resumed = await cli(["resume", runId, "--json"], box);
	assert.equal(resumed.code, 0, resumed.stderr);
	assert.equal((JSON.parse(resumed.stdout) as RunJson).status, "succeeded");
	const branch = `pi-crew/${runId}/integration`;
	assert.equal(inertGit(box.repo, "cat-file", "blob", `${branch}:slow.txt`), "half and the rest", "work kept");
	assert.equal(inertGit(box.repo, "cat-file", "blob", `${branch}:quick.txt`), "quick");
	assert.ok(existsSync(join(slow, "slow.txt")), "slow's worktree moved out of the git dir");
	assert.ok(!existsSync(join(legacy, "slow")));
	assert.ok(existsSync(join(legacy, "quick")), "quick's (merged before the crash) stayed where it was");
	// A reader's worktree of the ended run, also in the old place.
	inertGit(box.repo, "worktree", "add", "-q", "--detach", join(legacy, "reader"), branch);

	const swept = await cli(["cleanup", "--json"], box);
	assert.equal(swept.code, 0, swept.stderr);
	const removed = (JSON.parse(swept.stdout) as { removed: { kind: string; path: string }[] }).removed;
	assert.deepEqual(
		removed
			.filter((r) => r.kind === "worktree")
			.map((r) => r.path)
			.sort(),
		[join(legacy, "quick"), join(legacy, "reader"), slow].sort(),
	);
	assert.equal(inertGit(box.repo, "worktree", "list", "--porcelain").match(/^worktree /gm)?.length, 1);
});
