/**
 * Merge conflicts settled by the resolver agent, with real git repositories and real pi workers on the scripted model:
 * two isolated tasks edit the same line; the builtin `merger` keeps both intents and the step's verify passes; a
 * resolver that fails leaves both branches exactly as they were; `merge.resolver: none` leaves the conflict to a person.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { CrewEvent } from "../../src/store/events.js";
import { git } from "../support/git.js";
import { cli, runEvents, runJson, SCRIPTED, type TaskJson } from "../support/index.js";
import { A_SIDE, B_SIDE, BOTH, clashBox, clashScenario, mergerWrites, tip, VERIFY } from "../support/merge.js";

type Task = TaskJson & { needsAttention?: boolean; conflict?: { files: string[]; branch: string; worktree: string } };
const data = (events: CrewEvent[], type: string, taskId?: string) =>
	events
		.filter((e) => e.type === type && (!taskId || e.taskId === taskId))
		.map((e) => e.data as Record<string, unknown>);
const ARGS = ["--isolation", "worktree", "--model", SCRIPTED];

test("two tasks that edit the same line: the merger keeps both intents, the verify passes, the run succeeds", async () => {
	const box = await clashBox();
	// The steps' roles run on `fast`: the resolver runs on its own model (here the run's default), never the step's.
	const team = "../crew-home/teams/clash.team.md";
	await box.write(
		team,
		(await readFile(join(box.repo, team), "utf8")).replace(
			/agent: (lefty|righty)\n/g,
			"$&    model: crew-scripted/fast\n",
		),
	);
	const scenario = await clashScenario(box, mergerWrites(BOTH).replace(/say: "(.*)"$/, 'say: "$1 on {model}"'));
	// No --model (it would be every task's): the scenario's default model is the run's, and the roles' stay.
	const run = await runJson(["clash", "go", "--isolation", "worktree", "--scenario", scenario], box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const integration = `pi-crew/${run.json.runId}/integration`;
	assert.equal(git(box.repo, "show", `${integration}:config.py`), BOTH);
	git(box.repo, "cat-file", "-e", `${integration}:a.txt`);
	git(box.repo, "cat-file", "-e", `${integration}:b.txt`);

	const events = await runEvents(run.json.runDir);
	const [resolving, ...more] = events.filter((e) => e.type === "task.resolving");
	assert.equal(more.length, 0, "one conflict, resolved once");
	const id = resolving?.taskId ?? "";
	const first = id === "a" ? "b" : "a";
	assert.deepEqual(
		{ files: resolving?.data.files, agent: resolving?.data.agent },
		{ files: ["config.py"], agent: "merger" },
	);
	// Its merge commit has both sides as parents, and the integration branch reached it through the queue.
	const [resolved] = data(events, "task.resolved", id);
	const commit = String(resolved?.commit);
	assert.equal(git(box.repo, "rev-list", "--parents", "-n1", commit).split(" ").length, 3);
	const committed = data(events, "task.committed", id)[0]?.commit;
	const firstMerged = data(events, "task.succeeded", first)[0]?.merged;
	assert.deepEqual(git(box.repo, "rev-list", "--parents", "-n1", commit).split(" ").slice(1), [committed, firstMerged]);
	assert.equal(data(events, "task.succeeded", id)[0]?.merged, tip(box, integration));
	git(box.repo, "merge-base", "--is-ancestor", commit, integration);
	// The step's verify ran on the merge too, and passed.
	const verified = data(events, "task.verified", id);
	assert.deepEqual(
		verified.map((v) => v.passed),
		[true, true],
	);
	assert.equal(verified[1]?.outputPath, `artifacts/tasks/${id}/merge-1/verify.log`);
	// The resolver was told both sides' intents, the file and the verify; it saw the markers in its worktree.
	const dir = join(run.json.runDir, "artifacts", "tasks", id, "merge-1");
	const prompt = await readFile(join(dir, "prompt.md"), "utf8");
	for (const said of ["a raised x to 2", "b added y = 3 on the line of x", "- `config.py`", VERIFY])
		assert.ok(prompt.includes(said), `the prompt holds ${said}`);
	assert.match(prompt, /<task-result[\s\S]*<\/task-result>[\s\S]*<task-result/, "both answers fenced");
	assert.match(await readFile(join(dir, "transcript.jsonl"), "utf8"), /<<<<<<< [0-9a-f]{40}/);
	assert.equal(await readFile(join(dir, "result.md"), "utf8"), `kept x = 2 from a and y = 3 from b on ${SCRIPTED}`);
	assert.match(String(data(events, "task.started", id)[0]?.model), /crew-scripted\/fast/, "the step's own model");
	// Its usage counts toward the task.
	const resolvingAt = events.indexOf(resolving as CrewEvent);
	assert.ok(events.slice(resolvingAt).some((e) => e.type === "task.usage" && e.taskId === id));
});

test("a resolver that fails (markers left, or a merge the verify refuses) loses neither side: both branches as they were", async () => {
	const cases = [
		// The host finds the markers itself, in a file whose name git would quote too.
		{
			merger: '  - say: "left it"',
			also: "nötes.txt",
			why: /; the resolver merger left conflict markers in config\.py, nötes\.txt$/,
		},
		{ merger: mergerWrites(B_SIDE), why: /; the resolver merger's merge did not pass: verify `.*` exited with code 1/ },
	];
	for (const { merger, also, why } of cases) {
		const box = await clashBox();
		const run = await runJson(["clash", "go", ...ARGS, "--scenario", await clashScenario(box, merger, also)], box);
		assert.equal(run.code, 1, run.stderr);
		const stuck = (run.json.tasks as Task[]).filter((t) => t.needsAttention);
		assert.equal(stuck.length, 1);
		const [task] = stuck;
		const id = task?.id ?? "";
		const first = id === "a" ? "b" : "a";
		assert.match(task?.reason ?? "", /^needs attention: merging its work conflicts in config\.py[,;] /);
		assert.match(task?.reason ?? "", why);
		const events = await runEvents(run.json.runDir);
		assert.equal(data(events, "task.resolving", id).length, 1);
		// The task's branch is at its own commit, its worktree holds its own line; integration at the first's merge.
		const integration = `pi-crew/${run.json.runId}/integration`;
		assert.equal(tip(box, task?.conflict?.branch ?? ""), data(events, "task.committed", id)[0]?.commit);
		assert.equal(tip(box, integration), data(events, "task.succeeded", first)[0]?.merged);
		const own = id === "a" ? A_SIDE : B_SIDE;
		assert.equal(git(box.repo, "show", `${integration}:config.py`), id === "a" ? B_SIDE : A_SIDE, "no marker merged");
		assert.equal(await readFile(join(task?.conflict?.worktree ?? "", "config.py"), "utf8"), `${own}\n`);
		assert.equal(git(task?.conflict?.worktree ?? "", "status", "--porcelain"), "");
	}
});

test("merge.resolver none: a conflict needs a person at once; a resolver that names no agent is refused before the run", async () => {
	const box = await clashBox("merge:\n  resolver: none\n");
	const scenario = await clashScenario(box, mergerWrites(BOTH));
	const run = await runJson(["clash", "go", ...ARGS, "--scenario", scenario], box);
	assert.equal(run.code, 1, run.stderr);
	const [task] = (run.json.tasks as Task[]).filter((t) => t.needsAttention);
	assert.equal(task?.reason, "needs attention: merging its work conflicts in config.py");
	const events = await runEvents(run.json.runDir);
	assert.equal(data(events, "task.resolving").length, 0);

	await box.write("../crew-home/config.yaml", "merge:\n  resolver: nope\n");
	const refused = await cli(["run", "clash", "go", ...ARGS, "--scenario", scenario], box);
	assert.equal(refused.code, 2);
	assert.match(refused.stderr, /merge\.resolver names the agent "nope" \(.*config\.yaml:2\), and there is none/);
	assert.equal((await readdir(join(box.repo, ".crew", "runs"))).length, 1, "no run was made");
});
