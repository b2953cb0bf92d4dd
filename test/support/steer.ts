/** Runs whose one task holds a worker at work, for the tests that steer it (CLI, team tool, dashboard). */
import assert from "node:assert/strict";
import { cli, projectTeam, type Sandbox, SCRIPTED, waitForRunLog } from "./index.js";

/** A one-task team (`solo`, task `work`) running `scenario` in a background worker, once its task has started. */
export async function startedTask(
	box: Sandbox,
	scenario: string,
	runtime: "child" | "inprocess" = "child",
): Promise<string> {
	await projectTeam(box, "solo", [{ id: "work", role: "explorer" }]);
	const file = await box.write("scenario.yaml", scenario);
	const started = await cli(
		["run", "solo", "look", "--model", SCRIPTED, "--scenario", file, "--runtime", runtime, "--background"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	await waitForRunLog(box, "the task to start", '"task.started"');
	return started.stdout.trim();
}
