/**
 * Picking the team and rehearsing it, as a user does: `recommend` on the CLI, `/team-run` in an interactive pi under
 * tmux (a near-miss team name, a rehearsal with `--scenario`), the team tool's `scenario` field, and `pi -p` on a
 * read-only command.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { gitBox } from "../support/git.js";
import { askPi, cli, hasTool, pipedPi, type RunJson, sandbox, task, tmuxPi, waitFor } from "../support/index.js";

/** A repository whose one test fails (sum subtracts), and a scenario whose fix task repairs it and verify runs it. */
async function failingTestRepo() {
	const box = await gitBox({
		"sum.cjs": "module.exports = (a, b) => a - b;\n",
		"test.cjs":
			'const sum = require("./sum.cjs");\nconst got = sum(2, 3);\nconsole.log(got === 5 ? "PASS sum(2, 3) = 5" : "FAIL sum(2, 3) = " + got);\nprocess.exit(got === 5 ? 0 : 1);\n',
	});
	const scenario = await box.write(
		"rehearse.yaml",
		[
			'"task:fix":',
			"  - tool: edit",
			'    args: { path: sum.cjs, edits: [{ oldText: "a - b", newText: "a + b" }] }',
			'  - say: "sum.cjs fixed"',
			'"task:verify":',
			"  - tool: verdict", // fast-fix's verify step loops until its verdict is clean
			'    args: { clean: true, findings: "node test.cjs passes" }',
			"  - tool: bash",
			'    args: { command: "node test.cjs" }',
			'  - say: "verified: {result}"',
			"",
		].join("\n"),
	);
	return { box, scenario };
}

/** The latest run of the box, once it has ended. */
async function endedRun(box: Awaited<ReturnType<typeof sandbox>>): Promise<RunJson> {
	return waitFor("the run to end", async () => {
		const status = await cli(["status", "--json"], box);
		if (status.code !== 0) return undefined;
		const run = JSON.parse(status.stdout) as RunJson;
		return ["succeeded", "failed", "cancelled"].includes(run.status) ? run : undefined;
	});
}

async function answerOf(run: RunJson, taskId: string): Promise<string> {
	return readFile(task(run, taskId).result ?? "", "utf8");
}

test("recommend: a failing test is fast-fix's; a goal nothing matches says so and names the default team", async () => {
	const box = await sandbox();
	const fix = await cli(["recommend", "fix the failing test"], box);
	assert.equal(fix.code, 0, fix.stderr);
	assert.match(fix.stdout, /^fast-fix\s+score 6\s+executor: trigger "fix"; executor: trigger "failing test"\n/);
	const none = await cli(["recommend", "hello there"], box);
	assert.equal(none.code, 0, none.stderr);
	assert.equal(none.stdout, "default: nothing in the goal matches a team's agents or names: the default team\n");
	const json = JSON.parse((await cli(["recommend", "hello there", "--json"], box)).stdout) as {
		team: string;
		matched: boolean;
		ranked: { team: string }[];
	};
	assert.equal(json.team, "default");
	assert.equal(json.matched, false);
	assert.ok(json.ranked.length > 1);
});

test('pi -p "/team-status" prints the run\'s task tree', async () => {
	const box = await sandbox();
	const seeded = JSON.parse(
		(await cli(["run", "review", "look", "--runtime", "scaffold", "--json"], box)).stdout,
	) as RunJson;
	const { code, stdout, stderr } = await pipedPi(["-p", "/team-status"], box);
	assert.equal(code, 0, stderr);
	assert.match(stdout, new RegExp(`^Run ${seeded.runId}: succeeded {2}\\(team review, workflow review,`));
	assert.match(stdout, /^ {2}✓ explore +explorer +succeeded/m);
	assert.match(stdout, /^ {6}✓ report +writer +succeeded .*\(also after security\)$/m);
	assert.match(stdout, new RegExp(`\\npi-crew: run ${seeded.runId} succeeded\\n$`));
});

test("pi under tmux: /team-run fastfix starts nothing and asks; --scenario rehearses the fix on the scripted model", async (t) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const { box } = await failingTestRepo();
	const pi = await tmuxPi(t, box, { x: 220, y: 40 });
	pi.keys("/team-run fastfix fix it", "Enter");
	await pi.until("the near miss flagged", (s) => s.includes('"fastfix" is not a team; did you mean fast-fix?'), 30_000);
	const none = JSON.parse((await cli(["list", "--json"], box)).stdout) as { runs: unknown[] };
	assert.deepEqual(none.runs, [], "nothing started");

	pi.keys("/team-run fast-fix fix the failing test --scenario rehearse.yaml", "Enter");
	const run = await endedRun(box);
	assert.equal(run.status, "succeeded");
	// The scenario's edit reached the repository, and its verifier ran the test for real.
	assert.equal(await readFile(join(box.repo, "sum.cjs"), "utf8"), "module.exports = (a, b) => a + b;\n");
	assert.match(await answerOf(run, "verify"), /^verified: PASS sum\(2, 3\) = 5/);
	const goal = (JSON.parse((await cli(["status", "--json"], box)).stdout) as { goal: string }).goal;
	assert.equal(goal, "fix the failing test");
});

test("the team tool's scenario field rehearses a run; a path outside the repository and a real model are refused", async () => {
	const { box } = await failingTestRepo();
	const outside = join(box.dir, "outside.yaml");
	await box.write("../outside.yaml", "default:\n  - say: outside\n");
	const run = (extra: string) =>
		`  - tool: team\n    args: { action: run, team: fast-fix, goal: "fix the failing test", ${extra} }\n`;
	const parent = await box.write(
		"../parent.yaml",
		`default:\n${run(`scenario: "${outside}"`)}${run('scenario: rehearse.yaml, model: "anthropic/claude-sonnet-4-5"')}${run("scenario: rehearse.yaml")}  - say: done\n`,
	);
	const { code, stderr, toolResults } = await askPi(box, parent, "fix the failing test", "json");
	assert.equal(code, 0, stderr);
	const [confined, realModel, rehearsed] = toolResults;
	assert.match(confined ?? "", /refusing to use .*outside\.yaml: it points outside /);
	assert.match(realModel ?? "", /a scenario scripts the offline model, not "anthropic\/claude-sonnet-4-5"/);
	assert.match(rehearsed ?? "", /^verified: PASS sum\(2, 3\) = 5/);
	assert.equal(await readFile(join(box.repo, "sum.cjs"), "utf8"), "module.exports = (a, b) => a + b;\n");
});
