/** Background runs, cancel from another process, and resume after kill -9: real processes, real pi workers. */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { formatDuration } from "../../src/engine/summary.js";
import { processStartTime } from "../../src/store/lease.js";
import { shortDuration } from "../../src/view/task-marks.js";
import {
	cli,
	processesOfRun,
	projectTeam,
	type RunJson,
	SCRIPTED,
	sandbox,
	startCli,
	waitFor,
	waitForRunLog,
} from "../support/index.js";

const status = async (box: Awaited<ReturnType<typeof sandbox>>, runId: string) => {
	const res = await cli(["status", runId, "--json"], box);
	assert.equal(res.code, 0, res.stderr);
	return JSON.parse(res.stdout) as RunJson & { coordinatorPid?: number; tasks: { attempts: { reason?: string }[] }[] };
};

test("a background run survives its starter's exit and completes; cancel of a finished run is a no-op", async () => {
	const box = await sandbox();
	await projectTeam(box, "bg", [
		{ id: "one", role: "explorer" },
		{ id: "two", role: "writer", dependsOn: ["one"] },
	]);
	// The first task holds until the test has seen the run going on without its starter.
	const release = join(box.repo, "release.flag");
	const scenario = await box.write(
		"scenario.yaml",
		`"task:one":\n  - waitFor: ${JSON.stringify(release)}\n  - say: "one done"\ndefault:\n  - say: "{task} done"\n`,
	);
	const res = await cli(
		["run", "bg", "in the background", "--model", SCRIPTED, "--scenario", scenario, "--background"],
		box,
	);
	assert.equal(res.code, 0, res.stderr);
	const runId = res.stdout.trim();
	assert.match(res.stderr, /continues in the background \(coordinator pid \d+\)/);
	const running = await status(box, runId);
	assert.equal(running.status, "running", "the starter has exited; the run goes on");
	await writeFile(release, "");
	// Another process follows it through the log until it ends.
	const followed = await cli(["status", runId, "--follow"], box);
	assert.equal(followed.code, 0, followed.stderr);
	assert.match(
		followed.stderr,
		/▶ one \(explorer\) started[\s\S]*✓ one succeeded[\s\S]*✓ two succeeded[\s\S]*run succeeded/,
	);
	const final = await status(box, runId);
	assert.equal(final.status, "succeeded");
	assert.deepEqual(
		final.tasks.map((t) => t.status),
		["succeeded", "succeeded"],
	);
	const noop = await cli(["cancel", runId], box);
	assert.equal(noop.code, 0);
	assert.match(noop.stdout, /already ended succeeded: nothing to cancel/);
});

test("cancel from a second process stops a background run and leaves no process behind", async () => {
	const box = await sandbox();
	await projectTeam(box, "bg", [
		{ id: "a", role: "executor" },
		{ id: "b", role: "verifier" },
		{ id: "c", role: "writer", dependsOn: ["a", "b"] },
	]);
	const scenario = await box.write(
		"scenario.yaml",
		`default:\n  - tool: bash\n    args: { command: "sleep 60 & sleep 60" }\n  - say: done\n`,
	);
	const res = await cli(["run", "bg", "long work", "--model", SCRIPTED, "--scenario", scenario, "--background"], box);
	assert.equal(res.code, 0, res.stderr);
	const runId = res.stdout.trim();
	const coordinator = (await status(box, runId)).coordinatorPid;
	assert.ok(coordinator);
	await waitForRunLog(box, "both workers' bash calls", '"task.tool"', 2);
	const cancel = await cli(["cancel", runId], box);
	assert.equal(cancel.code, 0, cancel.stderr);
	assert.match(cancel.stdout, new RegExp(`run ${runId} cancelled`));
	// Measured by the coordinator's own clock: from taking the request to every worker stopped and the run ended.
	const log = (
		JSON.parse((await cli(["events", runId, "--json"], box)).stdout) as { events: { type: string; ts: string }[] }
	).events;
	const asked = Date.parse(log.find((e) => e.type === "run.cancelling")?.ts ?? "");
	const ended = Date.parse(log.find((e) => e.type === "run.finished")?.ts ?? "");
	assert.ok(ended - asked < 2000, `workers stopped ${ended - asked} ms after the request (goal: within 2 s)`);
	const final = await status(box, runId);
	assert.deepEqual(
		final.tasks.map((t) => [t.id, t.status]),
		[
			["a", "cancelled"],
			["b", "cancelled"],
			["c", "cancelled"],
		],
	);
	assert.deepEqual(await processesOfRun(runId), [], "no worker or tool process remains");
	await waitFor(
		"the coordinator to exit",
		async () => (processStartTime(coordinator) === undefined ? true : undefined),
		5000,
	);
});

test("kill -9 of the coordinator mid-run: interrupted, no worker left; resume completes it with every result recorded once, the pause not in its time", async () => {
	const box = await sandbox();
	await projectTeam(box, "chain", [
		{ id: "first", role: "explorer" },
		{ id: "second", role: "verifier", dependsOn: ["first"] },
		{ id: "third", role: "writer", dependsOn: ["second"] },
	]);
	const scenario = await box.write(
		"scenario.yaml",
		`"task:second@1":\n  - tool: bash\n    args: { command: "sleep 30" }\n  - say: never\ndefault:\n  - say: "{task} done"\n`,
	);
	const { child, done } = startCli(
		["run", "chain", "survive a crash", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	const runId = await waitForRunLog(box, "the second task's bash call", '"task.tool"');
	assert.ok((await processesOfRun(runId)).length > 0, "workers are running before the kill");
	child.kill("SIGKILL");
	await done;
	const interrupted = await status(box, runId);
	assert.equal(interrupted.status, "interrupted", "never 'running' forever");
	assert.deepEqual(
		interrupted.tasks.map((t) => [t.id, t.status]),
		[
			["first", "succeeded"],
			["second", "running"],
			["third", "pending"],
		],
	);
	const shown = await cli(["status", runId], box);
	assert.match(shown.stdout, new RegExp(`resume it: pi-crew resume ${runId}`));
	const list = await cli(["list"], box);
	assert.match(list.stdout, new RegExp(`${runId}\\s+interrupted`));
	// The workers' guard notices the dead coordinator and stops the whole worker tree (sleep 30 included).
	await waitFor("workers to stop", async () => ((await processesOfRun(runId)).length === 0 ? true : undefined), 10_000);

	const resumed = await cli(["resume", runId, "--json"], box);
	assert.equal(resumed.code, 0, resumed.stderr);
	const run = JSON.parse(resumed.stdout) as RunJson & { resumes: number };
	assert.equal(run.status, "succeeded");
	assert.equal(run.resumes, 1);
	const events = JSON.parse((await cli(["events", runId, "--json"], box)).stdout) as {
		events: { type: string; taskId?: string; ts: string }[];
	};
	// The interrupted attempt ended with its coordinator (at its last event), not when the run was resumed: the
	// pause (the checks above, seconds of CLI processes) is in no task's time.
	const resumeAt = events.events.findIndex((e) => e.type === "run.resumed");
	const lastSign = events.events[resumeAt - 1]?.ts;
	const second = run.tasks.find((t) => t.id === "second");
	assert.equal(second?.attempts[0]?.endedAt, lastSign);
	assert.ok(Date.parse(lastSign ?? "") < Date.parse(events.events[resumeAt]?.ts ?? ""), "a pause there was");
	const ran = (second?.attempts ?? []).reduce((n, a) => n + Date.parse(a.endedAt ?? "") - Date.parse(a.startedAt), 0);
	assert.ok(ran < Date.parse(second?.endedAt ?? "") - Date.parse(second?.startedAt ?? ""));
	const shownAfter = await cli(["status", runId], box);
	assert.match(
		shownAfter.stdout,
		new RegExp(`✓ second +verifier +succeeded +${shortDuration(ran).replace(".", "\\.")} `),
	);
	const summary = await readFile(join(run.runDir, "artifacts", "summary.md"), "utf8");
	assert.match(summary, new RegExp(`\\| second \\| .* \\| 2 \\| ${formatDuration(ran).replace(".", "\\.")} \\|`));
	for (const id of ["first", "second", "third"]) {
		const succeeded = events.events.filter((e) => e.type === "task.succeeded" && e.taskId === id);
		assert.equal(succeeded.length, 1, `${id} recorded exactly once`);
	}
	const byId = new Map(run.tasks.map((t) => [t.id, t]));
	assert.equal(byId.get("first")?.attempts.length, 1, "a succeeded task is never run again");
	assert.equal(byId.get("second")?.attempts.length, 2, "the interrupted task got a new attempt");
	assert.equal(byId.get("second")?.attempts[0]?.reason, "interrupted");
	const again = await cli(["resume", runId], box);
	assert.equal(again.code, 2);
	assert.match(again.stderr, /succeeded: nothing to resume/);
});
