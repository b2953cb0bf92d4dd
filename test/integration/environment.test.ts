/**
 * What a worker's commands can see of the coordinator's environment, on both runtimes: real workers on the scripted
 * model run `env` in their bash tool and answer with the variable names (names only: values are redacted in stored
 * results anyway).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { projectTeam, runJson, SCRIPTED, sandbox } from "../support/index.js";

test("a worker's bash sees the essentials and what the config allows, not the coordinator's other secrets: child and inprocess", async () => {
	const box = await sandbox();
	await projectTeam(box, "envcheck", [{ id: "look", role: "executor" }]);
	const scenario = await box.write(
		"scenario.yaml",
		'default:\n  - tool: bash\n    args: { command: "env | cut -d= -f1 | sort" }\n  - say: "{result}"\n',
	);
	const env = {
		...box.env,
		AWS_SECRET_ACCESS_KEY: "aws-value-not-for-workers-1",
		GITHUB_TOKEN: "gh-value-not-for-workers-2",
		SOME_OTHER_API_KEY: "other-value-not-for-workers-3",
		ANTHROPIC_API_KEY: "anthropic-value-not-for-scripted-4",
		MY_TOOL_SETTING: "allowed-by-name-5",
		CORP_REGISTRY_USER: "allowed-by-prefix-6",
		CORPORATE_SECRET: "not-the-prefix-7",
	};
	for (const runtime of ["child", "inprocess"]) {
		// With the sandbox on, inprocess runs this bash task as a child: off, so the in-process bash is what runs.
		const sandboxOff = runtime === "inprocess" ? "sandbox: off\n" : "";
		await box.write("../crew-home/config.yaml", `env:\n  allow: [MY_TOOL_SETTING, CORP_*]\n${sandboxOff}`);
		const { code, json, stderr } = await runJson(
			["envcheck", "what can you see", "--model", SCRIPTED, "--scenario", scenario, "--runtime", runtime],
			{ ...box, env },
		);
		assert.equal(code, 0, stderr);
		const seen = new Set(
			(await readFile(join(json.runDir, "artifacts", "tasks", "look", "result.md"), "utf8")).split("\n"),
		);
		for (const name of ["PATH", "HOME", "PI_CODING_AGENT_DIR", "PI_CREW_RUN_ID", "PI_CREW_TASK_ID"])
			assert.ok(seen.has(name), `${runtime}: ${name} is missing`);
		for (const name of ["MY_TOOL_SETTING", "CORP_REGISTRY_USER"]) assert.ok(seen.has(name), `${runtime}: ${name}`);
		for (const name of [
			"AWS_SECRET_ACCESS_KEY",
			"GITHUB_TOKEN",
			"SOME_OTHER_API_KEY",
			"ANTHROPIC_API_KEY",
			"CORPORATE_SECRET",
		])
			assert.ok(!seen.has(name), `${runtime}: ${name} reached the worker`);
	}
});
