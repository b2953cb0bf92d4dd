/** pi-crew loaded into a real pi as an extension: a scripted parent model calls the `team` tool. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, SCRIPTED, sandbox } from "../support/index.js";

test("pi -e pi-crew: the parent agent runs a team with the team tool and reads the result", async () => {
	const box = await sandbox();
	const scenario = await box.write(
		"parent.yaml",
		// "" and null are what models send for fields they mean to leave unset.
		`default:\n  - tool: team\n    args: { action: run, team: research, goal: "how is this repo laid out", workflow: "", model: null }\n  - tool: team\n    args: { action: status, runId: "" }\n  - say: "STATUS: {result}"\n`,
	);
	const pi = join(ROOT, "node_modules", ".bin", "pi");
	const args = [
		"-p",
		"--no-session",
		"-ne",
		"-e",
		join(ROOT, "dist/extension/index.js"),
		"-e",
		join(ROOT, "dist/scripted/extension.js"),
	];
	const child = spawn(pi, [...args, "--model", SCRIPTED, "research the layout"], {
		cwd: box.repo,
		env: { ...box.env, PI_CREW_SCENARIO: scenario },
		stdio: ["ignore", "pipe", "pipe"],
	});
	let stdout = "";
	let stderr = "";
	child.stdout.on("data", (d) => {
		stdout += d;
	});
	child.stderr.on("data", (d) => {
		stderr += d;
	});
	const code = await new Promise((resolve) => child.on("close", resolve));
	assert.equal(code, 0, stderr);
	assert.match(stdout, /^STATUS: Run \S+: succeeded {2}\(team research/);
	assert.match(stdout, /✓ write\s+writer\s+succeeded/);
	const runs = await readdir(join(box.repo, ".crew/runs"));
	assert.equal(runs.length, 1);
});
