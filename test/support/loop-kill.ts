/** A run killed mid-way: its coordinator SIGKILLed once a condition on its events holds (for resume tests). */
import assert from "node:assert/strict";
import { processStartTime } from "../../src/store/lease.js";
import { cli, type RunJson, type Sandbox, waitFor } from "./index.js";
import { eventsOf } from "./questions.js";

type Started = Awaited<ReturnType<typeof eventsOf>>;

/** Starts `pi-crew run <args> --background`, kills its coordinator once `ready` holds of its `task.started` events. */
export async function killedWhile(box: Sandbox, args: string[], ready: (starts: Started) => boolean): Promise<string> {
	const started = await cli(["run", ...args, "--background"], box);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	await waitFor("the run to reach its point", async () =>
		ready(await eventsOf(box, runId, "task.started")) ? true : undefined,
	);
	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
	const pid = status.coordinatorPid;
	assert.ok(pid);
	process.kill(pid, "SIGKILL");
	await waitFor("the coordinator to die", async () => (processStartTime(pid) === undefined ? true : undefined), 10_000);
	return runId;
}
