/**
 * Waits for a person end to end: the config's `approvePlans` gating the builtin planner of a background run, an
 * in-process rejection revised in the same session, a child worker's timeout and heartbeat paused while it waits for
 * an answer and for approval, and `respond` that gives up on a coordinator that never takes the answer.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { approvalTeam } from "../support/approval.js";
import { cli, type Sandbox, SCRIPTED, sandbox, waitForRunLog } from "../support/index.js";
import { ASKING, askedRun, eventsOf } from "../support/questions.js";

interface Shown {
	status: string;
	reason?: string;
	coordinatorPid?: number;
	tasks: { id: string; status: string; attempts: unknown[]; approval?: { round: number; resultPath: string } }[];
}

async function status(box: Sandbox, runId: string): Promise<Shown> {
	const shown = await cli(["status", runId, "--json"], box);
	assert.equal(shown.code, 0, shown.stderr);
	return JSON.parse(shown.stdout) as Shown;
}

test("approvePlans: a background run's builtin planner waits for approval; rejected, it answers again in the same in-process session", async () => {
	const box = await sandbox();
	await box.write("../crew-home/config.yaml", "approvePlans: true\n");
	const plan = { phases: [{ name: "build", tasks: [{ id: "build", role: "executor", task: "build it" }] }] };
	const say = `heard=[{message}]\n\`\`\`json\n${JSON.stringify(plan)}\n\`\`\`\n`;
	const file = await box.write(
		"scenario.yaml",
		`"task:plan":\n  - say: ${JSON.stringify(say)}\ndefault:\n  - say: "{task} done"\n`,
	);
	const args = ["run", "implementation", "add a parser", "--model", SCRIPTED, "--scenario", file];
	const started = await cli([...args, "--runtime", "inprocess", "--background"], box);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	await waitForRunLog(box, "the plan to wait for approval", '"task.awaiting_approval"');
	assert.equal((await status(box, runId)).tasks.find((t) => t.id === "plan")?.status, "waiting");
	assert.equal((await cli(["approve", runId, "--reject", "split the build"], box)).code, 0);
	await waitForRunLog(box, "the revised plan", '"task.awaiting_approval"', 2);
	const revised = (await status(box, runId)).tasks.find((t) => t.id === "plan")?.approval;
	assert.equal(revised?.round, 2);
	assert.match(
		await readFile(revised?.resultPath ?? "", "utf8"),
		/heard=\[Your answer was not approved\. Feedback:\s+split the build/,
	);
	assert.equal((await cli(["approve", runId], box)).code, 0);
	await cli(["status", runId, "--follow"], box);
	const done = await status(box, runId);
	assert.equal(done.status, "succeeded", done.reason);
	assert.equal(done.tasks.find((t) => t.id === "build")?.status, "succeeded");
	assert.equal(done.tasks.find((t) => t.id === "plan")?.attempts.length, 1, "revised in the same attempt");
});

test("a child worker waiting for an answer, then for approval, longer than its timeout and heartbeat's dead time trips neither", async () => {
	const box = await sandbox();
	await box.write(
		"../crew-home/config.yaml",
		"heartbeat: { warnMs: 2000, staleMs: 4000, deadMs: 6000, pollMs: 200, deadTicks: 2 }\n",
	);
	await box.write(".crew/agents/asker.md", "---\nname: asker\ndescription: asks\ntools: read, ask\n---\nYou decide.\n");
	await approvalTeam(box, "asked", [{ id: "decide", role: "asker", approval: true }]);
	const file = await box.write("scenario.yaml", ASKING);
	const args = [
		"run",
		"asked",
		"pick",
		"--model",
		SCRIPTED,
		"--scenario",
		file,
		"--runtime",
		"child",
		"--timeout",
		"5",
	];
	const started = await cli([...args, "--background"], box);
	assert.equal(started.code, 0, started.stderr);
	const runId = started.stdout.trim();
	await waitForRunLog(box, "the question", '"task.asked"');
	await new Promise((resolve) => setTimeout(resolve, 8000));
	assert.equal((await cli(["respond", runId, "decide", "v2"], box)).code, 0);
	await waitForRunLog(box, "the answer to approve", '"task.awaiting_approval"');
	await new Promise((resolve) => setTimeout(resolve, 8000));
	assert.equal((await cli(["approve", runId], box)).code, 0);
	await cli(["status", runId, "--follow"], box);
	const done = await status(box, runId);
	assert.equal(done.status, "succeeded", done.reason);
	assert.equal(done.tasks[0]?.attempts.length, 1);
	assert.equal((await eventsOf(box, runId, "task.heartbeat")).filter((e) => e.data.level === "dead").length, 0);
});

test("respond gives up, saying so, when the run's coordinator does not take the answer", async () => {
	const box = await sandbox();
	const runId = await askedRun(box, ["--runtime", "child"]);
	const pid = (await status(box, runId)).coordinatorPid;
	assert.ok(pid);
	process.kill(pid, "SIGSTOP"); // alive, holding the run, taking no command
	try {
		const stuck = await cli(["respond", runId, "decide", "v2"], box);
		assert.notEqual(stuck.code, 0);
		assert.match(stuck.stderr, /coordinator did not log the answer within 15s; see whether the task still waits/);
	} finally {
		process.kill(pid, "SIGCONT");
	}
	// The command was sent: once the coordinator goes on, it delivers it.
	await cli(["status", runId, "--follow"], box);
	assert.equal((await status(box, runId)).status, "succeeded");
	assert.equal((await eventsOf(box, runId, "task.answered")).length, 1);
});
