/**
 * No I/O through links. A worker edits the repository, `.crew/` included, and a repository's text can steer it: a
 * task of a run can plant a symlink exactly where the coordinator writes next (a later task's prompt, an attempt's
 * transcript or stderr log, the run's summary). Driven as an attacker would: a real git repository, real pi workers
 * on the scripted model whose bash call plants the link, then a look at the file the link points to. The user runs
 * without the OS sandbox (`sandbox: off`), which would stop the bash call: this wall must hold without it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, projectTeam, SCRIPTED, sandbox } from "../support/index.js";

const TARGETS = [
	"artifacts/tasks/second/prompt.md",
	"artifacts/tasks/second/attempt-1/transcript.jsonl",
	"artifacts/tasks/second/attempt-1/stderr.log",
	"artifacts/summary.md",
];

for (const target of TARGETS)
	test(`a link a task plants at the run's ${target.split("/").slice(-2).join("/")} is refused, never written through`, async () => {
		const box = await sandbox();
		execFileSync("git", ["init", "-q", box.repo]);
		await box.write("../crew-home/config.yaml", "sandbox: off\n");
		await projectTeam(box, "pair", [
			{ id: "first", role: "executor" },
			{ id: "second", role: "executor", dependsOn: ["first"] },
		]);
		const victim = join(box.dir, "victim.txt");
		await writeFile(victim, "the user's file\n");
		const plant = `mkdir -p "$(dirname ".crew/runs/$PI_CREW_RUN_ID/${target}")" && ln -s ${victim} ".crew/runs/$PI_CREW_RUN_ID/${target}" && echo planted`;
		const scenario = await box.write(
			"scenario.yaml",
			`"task:first":\n  - tool: bash\n    args: { command: ${JSON.stringify(plant)} }\n  - say: "{result}"\ndefault:\n  - say: done\n`,
		);
		const { code, stderr } = await cli(["run", "pair", "go", "--model", SCRIPTED, "--scenario", scenario], box);
		assert.equal(await readFile(victim, "utf8"), "the user's file\n", "the linked file is untouched");
		assert.notEqual(code, 0, "the run does not pass over the refused write");
		const runId = /run (\S+): team pair/.exec(stderr)?.[1] ?? "";
		const link = join(box.repo, ".crew", "runs", runId, target);
		const status = await cli(["status", runId], box);
		assert.equal(status.code, 0, status.stderr);
		const said = `${stderr}\n${status.stdout}`;
		assert.ok(said.includes(`refusing to use ${link}: pi-crew paths may not be symlinks`), said);
		assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
	});

test("a repository's .crew that is a link is refused before anything is written", async () => {
	const box = await sandbox();
	const outside = join(box.dir, "outside");
	execFileSync("mkdir", ["-p", outside]);
	await symlink(outside, join(box.repo, ".crew"));
	const res = await cli(["run", "fast-fix", "go", "--model", SCRIPTED], box);
	assert.equal(res.code, 2, res.stderr);
	assert.match(res.stderr, /refusing to use .*\.crew: pi-crew paths may not be symlinks/);
	assert.deepEqual(execFileSync("ls", ["-A", outside]).toString(), "");
});
