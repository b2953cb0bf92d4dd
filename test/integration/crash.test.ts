/** kill -9 of the coordinator mid-run: the log stays readable, the run reads `interrupted`, no worker survives. */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, processesOfRun, projectTeam, SCRIPTED, sandbox, startCli, waitFor } from "../support/index.js";

test("kill -9 of the coordinator mid-run leaves a readable log and an interrupted run, and no workers", async () => {
	const box = await sandbox();
	await projectTeam(box, "slow", [
		{ id: "first", role: "verifier" },
		{ id: "second", role: "test-engineer", dependsOn: ["first"] },
	]);
	const scenario = await box.write(
		"scenario.yaml",
		`default:\n  - tool: bash\n    args: { command: "sleep 30" }\n  - say: "done"\n`,
	);
	const { child, done } = startCli(["run", "slow", "take your time", "--model", SCRIPTED, "--scenario", scenario], box);
	const runs = join(box.repo, ".crew/runs");
	const runId = await waitFor("the worker's bash call", async () => {
		const [id] = await readdir(runs).catch(() => [] as string[]);
		if (!id) return undefined;
		const log = await readFile(join(runs, id, "events.jsonl"), "utf8").catch(() => "");
		return log.includes('"task.tool"') ? id : undefined;
	});
	assert.ok((await processesOfRun(runId)).length > 0, "workers are running before the kill");
	child.kill("SIGKILL");
	await done;

	const status = await cli(["status", runId, "--json"], box);
	assert.equal(status.code, 0, status.stderr);
	const json = JSON.parse(status.stdout) as { status: string; tasks: { id: string; status: string }[] };
	assert.equal(json.status, "interrupted");
	assert.deepEqual(
		json.tasks.map((t) => [t.id, t.status]),
		[
			["first", "running"],
			["second", "pending"],
		],
	);
	const events = await cli(["events", runId, "--json"], box);
	assert.equal(events.code, 0);
	assert.ok((JSON.parse(events.stdout) as { events: unknown[] }).events.length >= 5);
	// The workers' guard notices the dead coordinator and stops the whole worker tree (sleep 30 included).
	await waitFor("workers to stop", async () => ((await processesOfRun(runId)).length === 0 ? true : undefined), 10_000);
	const list = await cli(["list"], box);
	assert.match(list.stdout, new RegExp(`${runId}\\s+interrupted`));
});
