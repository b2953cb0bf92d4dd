/**
 * What a run changed, read back as a user does, in real git repositories with real pi workers on the scripted model:
 * `pi-crew diff` of an isolated run and of its tasks (from the commits its log recorded, still there once its
 * integration branch is gone), of a shared run (trees of the checkout); the commits worktree tasks leave in `git log`;
 * `cleanup` of an integration branch the checkout has (applied) and of one it has not.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { ownerMark } from "../../src/config/owner.js";
import { git, gitBox } from "../support/git.js";
import { cli, fixtures, handWrittenLog, hasTool, projectTeam, runJson, SCRIPTED, tmuxPi } from "../support/index.js";

interface DiffJson {
	runId: string;
	taskId?: string;
	base: string;
	head: string;
	files: { path: string; status: string; additions: number; deletions: number }[];
	patch: string;
}

async function diffJson(args: string[], box: Awaited<ReturnType<typeof gitBox>>): Promise<DiffJson> {
	const r = await cli(["diff", ...args, "--json"], box);
	assert.equal(r.code, 0, r.stderr);
	return JSON.parse(r.stdout) as DiffJson;
}

test("an isolated run: diff of the run and of a task (CLI and pi), commits that say what they are, cleanup once applied", async (t: TestContext) => {
	const box = await gitBox();
	await projectTeam(box, "pair", [
		{ id: "a", role: "executor" },
		{ id: "b", role: "executor" },
		{ id: "check", role: "verifier", dependsOn: ["a", "b"] },
	]);
	// a writes a CRLF text file and a binary one; b's file carries a screen clear: the patch is a worker's text, and
	// reaches the terminal inert, while --out writes git's own bytes.
	const scenario = await box.write(
		"../scenario.yaml",
		[
			`"task:a":\n  - tool: bash\n    args: { command: "printf 'from a\\r\\n' > a.txt && printf '\\\\000\\\\001bin' > a.bin && ls a.txt" }\n  - say: "a wrote a.txt: {result}"`,
			`"task:b":\n  - tool: bash\n    args: { command: "printf 'from b\\e[2J\\n' > b.txt && ls" }\n  - say: "b wrote b.txt: {result}"`,
			'default:\n  - tool: bash\n    args: { command: ls }\n  - say: "{result}"',
		].join("\n"),
	);
	const run = await runJson(
		["pair", "go", "--isolation", "worktree", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const { runId } = run.json;
	const integration = `pi-crew/${runId}/integration`;
	const tip = git(box.repo, "rev-parse", integration);

	const whole = await diffJson([runId], box);
	assert.equal(whole.base, git(box.repo, "rev-parse", "main"));
	assert.equal(whole.head, tip);
	assert.deepEqual(
		whole.files.map((f) => [f.path, f.status, f.additions, f.deletions]),
		[
			["a.bin", "added", 0, 0],
			["a.txt", "added", 1, 0],
			["b.txt", "added", 1, 0],
		],
	);
	assert.match(whole.patch, /^\+from a\r$/m);
	const a = await diffJson([runId, "a"], box);
	assert.equal(a.taskId, "a");
	assert.deepEqual(
		a.files.map((f) => f.path),
		["a.bin", "a.txt"],
	);

	// --out: a patch git applies to a fresh checkout of the base, byte for byte (CRLF and binary); nothing on stdout.
	const file = join(box.dir, "run.patch");
	const written = await cli(["diff", runId, "--out", file], box);
	assert.equal(written.code, 0, written.stderr);
	assert.equal(written.stdout, "");
	assert.match(written.stderr, /^wrote .*run\.patch \(\d+ bytes\)$/m);
	const fresh = join(box.dir, "fresh");
	git(box.dir, "clone", "-q", "--no-checkout", box.repo, fresh);
	git(fresh, "checkout", "-q", "--detach", whole.base);
	git(fresh, "apply", "--check", file);
	git(fresh, "apply", file);
	assert.equal(await readFile(join(fresh, "a.txt"), "utf8"), "from a\r\n");
	assert.deepEqual(await readFile(join(fresh, "a.bin")), Buffer.from("\0\x01bin"));
	assert.equal(git(fresh, "status", "--porcelain", "--untracked-files=all"), "?? a.bin\n?? a.txt\n?? b.txt");
	// A link at the target is refused, not followed.
	await symlink(join(box.dir, "elsewhere.patch"), join(box.dir, "link.patch"));
	const linked = await cli(["diff", runId, "--out", join(box.dir, "link.patch")], box);
	assert.equal(linked.code, 2, linked.stderr);
	assert.ok(!existsSync(join(box.dir, "elsewhere.patch")), "nothing written through the link");
	// One word names a task of the latest run; the patch goes to stdout, made inert; --stat sums it up.
	const text = await cli(["diff", "b"], box);
	assert.equal(text.code, 0, text.stderr);
	assert.match(text.stdout, /^diff --git a\/b\.txt b\/b\.txt$/m);
	assert.ok(!text.stdout.includes("\x1b"), "no ESC reaches the terminal");
	assert.match(text.stdout, /^\+from b\\u001b\[2J$/m);
	assert.match(text.stderr, new RegExp(`diff of task b of run ${runId}`));
	const stat = await cli(["diff", "--stat"], box);
	assert.match(stat.stdout, /^A a\.bin +binary$/m);
	assert.match(stat.stdout, /^A a\.txt +\+1 -0$/m);
	assert.match(stat.stdout, /^3 files changed, 2 insertion\(s\)\(\+\), 0 deletion\(s\)\(-\)$/m);

	// In pi, /team-diff shows the same, through the same sanitizer, as scrollable markdown.
	if (hasTool(t, "tmux", ["-V"])) {
		const pi = await tmuxPi(t, box, { x: 140, y: 40 });
		pi.keys("/team-diff b", "Enter");
		const screen = await pi.until(
			"the diff viewer",
			(s) => s.includes(`diff of task b of run ${runId}`) && s.includes("from b"),
		);
		assert.match(screen, /\+from b\\u001b\[2J/);
		assert.match(screen, /A b\.txt +\+1 -0/);
		pi.keys("q");
	}

	// Each task's commit says which task, role and answer; its trailers name the run, agent and model.
	const subject = git(box.repo, "log", "-1", "--format=%s", `pi-crew/${runId}/task/a`);
	assert.equal(subject, "a (executor): a wrote a.txt: a.txt");
	const body = git(box.repo, "log", "-1", "--format=%b", `pi-crew/${runId}/task/a`);
	assert.equal(body, `Run: ${runId}\nAgent: executor\nModel: ${SCRIPTED}`);
	const merges = git(box.repo, "log", "--merges", "--format=%s%n%b", integration);
	assert.match(
		merges,
		new RegExp(`^pi-crew: merge task [ab] of run ${runId}\\nMerges pi-crew/${runId}/task/[ab]: [ab] \\(executor\\): `),
	);

	// Not applied: the integration branch is the run's result, and stays.
	const before = JSON.parse((await cli(["cleanup", "--dry-run", "--json"], box)).stdout) as {
		removed: { kind: string; path: string }[];
	};
	assert.ok(!before.removed.some((r) => r.kind === "integration-branch"), JSON.stringify(before.removed));
	const kept = await cli(["cleanup"], box);
	assert.equal(kept.code, 0, kept.stderr);
	assert.equal(git(box.repo, "rev-parse", integration), tip, "an unapplied integration branch stays");

	// Applied: the dry run lists it and removes nothing; cleanup removes it; diff still reads the run from its log.
	assert.equal((await cli(["apply", runId], box)).code, 0);
	const dry = await cli(["cleanup", "--dry-run"], box);
	assert.match(dry.stdout, new RegExp(`^would remove ${integration}: run ${runId} ended \\(succeeded\\)`, "m"));
	assert.equal(git(box.repo, "rev-parse", integration), tip);
	const swept = await cli(["cleanup"], box);
	assert.match(swept.stdout, new RegExp(`^removed ${integration}: `, "m"));
	assert.throws(() => git(box.repo, "rev-parse", "--verify", integration));
	assert.deepEqual(await diffJson([runId], box), whole);
});

test("a shared run: diff shows what its tasks changed in the checkout, not what the user had changed before", async () => {
	const box = await gitBox({ "notes.txt": "committed\n" });
	await projectTeam(box, "duo", [
		{ id: "w", role: "executor" },
		{ id: "look", role: "reviewer", dependsOn: ["w"] },
	]);
	await writeFile(join(box.repo, "notes.txt"), "committed\nmine, before the run\n");
	await writeFile(join(box.repo, "draft.txt"), "my untracked draft\n");
	const scenario = await box.write(
		"../scenario.yaml",
		[
			`"task:w":\n  - tool: bash\n    args: { command: "printf 'from w\\\\n' >> notes.txt && printf 'new\\\\n' > w.txt && rm draft.txt" }\n  - say: done`,
			"default:\n  - say: looked",
		].join("\n"),
	);
	const run = await runJson(["duo", "go", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const whole = await diffJson([], box);
	assert.equal(whole.runId, run.json.runId);
	assert.deepEqual(
		whole.files.map((f) => [f.path, f.status, f.additions, f.deletions]),
		[
			["draft.txt", "deleted", 0, 1],
			["notes.txt", "modified", 1, 0],
			["w.txt", "added", 1, 0],
		],
	);
	assert.match(whole.patch, /^\+from w$/m);
	assert.doesNotMatch(whole.patch, /^\+mine, before the run$/m, "the user's edit was there when the run started");
	assert.deepEqual(await diffJson([run.json.runId, "w"], box), { ...whole, taskId: "w" });
	// A reader writes nothing: nothing was recorded for it, and diff says so.
	const look = await cli(["diff", run.json.runId, "look"], box);
	assert.equal(look.code, 2);
	assert.match(look.stderr, /task look of run \S+ has no recorded changes: it is succeeded, and only a writing task/);
});

test("a forged log's base or head reaches git only as a commit or tree id: a revision or an option is refused", async () => {
	const box = await gitBox();
	const ts = "2026-01-01T00:00:00.000Z";
	const output = join(box.dir, "written-by-git");
	for (const [i, baseTree] of ["HEAD", `--output=${output}`].entries()) {
		const runId = `20260101-00000${i}-aaaaaa`;
		const owner = await ownerMark(runId, box.env.PI_CREW_HOME);
		const settings = { ...fixtures.created.settings, baseTree };
		const created = { ...fixtures.created, cwd: box.repo, settings, owner };
		await handWrittenLog(box.repo, runId, [{ type: "run.created", data: created, ts }], {
			crewHome: box.env.PI_CREW_HOME,
		});
		const r = await cli(["diff", runId], box);
		assert.equal(r.code, 1, r.stderr);
		assert.match(r.stderr, /the base that run \S+'s log records for diff is not a commit or tree id/);
	}
	assert.ok(!existsSync(output));
});

test("a run whose tasks only read takes no snapshot of the checkout, and diff says why", async () => {
	const box = await gitBox();
	await projectTeam(box, "readers", [{ id: "look", role: "reviewer" }]);
	await writeFile(join(box.repo, "data.txt"), "an untracked file of the user's\n");
	const run = await cli(["run", "readers", "go", "--runtime", "scaffold", "--json"], box);
	assert.equal(run.code, 0, run.stderr);
	const r = await cli(["diff"], box);
	assert.equal(r.code, 2);
	assert.match(r.stderr, /recorded no tree of its checkout to compare with \(no task of its plan writes\)/);
	const blob = git(box.repo, "hash-object", "data.txt");
	assert.throws(() => git(box.repo, "cat-file", "-e", blob), "the untracked file was not copied into .git/objects");
});
