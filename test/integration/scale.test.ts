/** What an in-process task costs beyond its session: nothing per task that is the same for every task of the run. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { projectTeam, runJson, SCRIPTED, sandbox } from "../support/index.js";

test("an in-process run asks git where its tasks work once, not once per task (a fork of the coordinator each)", async () => {
	const box = await sandbox();
	spawnSync("git", ["init", "-q"], { cwd: box.repo });
	const tasks = 40;
	await projectTeam(
		box,
		"many",
		Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, role: "explorer" })),
	);
	const scenario = await box.write("scenario.yaml", 'default:\n  - say: "ok"\n');
	// git as pi-crew finds it on PATH, logging each call before it runs the real one.
	const real = spawnSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).stdout.trim();
	const calls = join(box.dir, "git-calls.log");
	const wrapper = await box.write("../bin/git", `#!/bin/sh\necho "$*" >> "${calls}"\nexec "${real}" "$@"\n`);
	await chmod(wrapper, 0o755);
	const env = { ...box.env, PATH: `${join(box.dir, "bin")}:${box.env.PATH}` };
	const { code, json, stderr } = await runJson(
		["many", "look", "--model", SCRIPTED, "--scenario", scenario, "--runtime", "inprocess", "--concurrency", "4"],
		{ ...box, env },
	);
	assert.equal(code, 0, stderr);
	assert.equal(json.tasks.filter((t) => t.status === "succeeded").length, tasks);
	const lines = (await readFile(calls, "utf8").catch(() => "")).split("\n").filter(Boolean);
	// One question per place (the path wall's git dirs, the repository's top level), however many tasks ran there.
	assert.ok(lines.length <= 4, `${lines.length} git calls for ${tasks} tasks:\n${lines.slice(0, 8).join("\n")}`);
});
