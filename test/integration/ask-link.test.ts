/**
 * The link of pi-crew's worker tools: a real worker of each runtime on the scripted model calls `ask`; the call
 * reaches the task's `crew.request` (over pi's RPC stdio for a child, directly in-process), and its answer comes back
 * as the tool's result. Only agents whose tools name the tool have it.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ChildRuntime } from "../../src/workers/child.js";
import { InProcessRuntime } from "../../src/workers/inprocess.js";
import type { TaskSpec, WorkerOutcome, WorkerRequest, WorkerRuntime } from "../../src/workers/runtime.js";
import { processesOfRun, SCRIPTED, sandbox } from "../support/index.js";

const SCENARIO = `default:
  - tool: ask
    args: { question: "Keep the v1 or the v2 API?", choices: [v1, v2], default: v1, ignored: "" }
  - say: "decided: {result}"
`;

/** One task of `runtime` on SCENARIO, whose `crew.request` is `request`; the box's pi home is this process's. */
async function runTask(
	runtime: WorkerRuntime,
	tools: string[],
	request: (r: WorkerRequest) => Promise<string>,
	timeoutMs = 120_000,
): Promise<WorkerOutcome> {
	const box = await sandbox();
	for (const key of ["HOME", "PI_CODING_AGENT_DIR", "PI_OFFLINE", "NODE_COMPILE_CACHE"])
		process.env[key] = box.env[key];
	const taskDir = join(box.dir, "task");
	await mkdir(taskDir, { recursive: true });
	await writeFile(join(taskDir, "system.md"), "You are a worker.");
	const scenario = await box.write("scenario.yaml", SCENARIO);
	const spec: TaskSpec = {
		runId: `link-${runtime.name}-${tools.join("-")}`,
		taskId: "work",
		agent: "worker",
		cwd: box.repo,
		repo: box.repo,
		projectTrusted: true,
		systemPromptPath: join(taskDir, "system.md"),
		prompt: "Decide the API.",
		promptPath: join(taskDir, "prompt.md"),
		taskDir,
		model: SCRIPTED,
		scenario,
		tools,
		timeoutMs,
		crew: { tools: ["ask"], request },
	};
	const outcome = await runtime.run(spec, new AbortController().signal, () => undefined);
	await runtime.close?.(); // the run's end: its idle warm workers end with it
	assert.deepEqual(await processesOfRun(spec.runId), []);
	return outcome;
}

// A runtime per run, as the coordinator makes one: closing it at the run's end ends its pool for good.
for (const make of [() => new ChildRuntime(), () => new InProcessRuntime()]) {
	const { name } = make();
	test(`${name}: a worker's ask reaches the run, and the run's answer is the tool's result`, async () => {
		const asked: WorkerRequest[] = [];
		const outcome = await runTask(make(), ["read", "ask"], async (r) => {
			asked.push(r);
			return "v2, and drop v1";
		});
		assert.deepEqual(asked, [
			{ type: "ask", text: "Keep the v1 or the v2 API?", choices: ["v1", "v2"], default: "v1" },
		]);
		assert.deepEqual(outcome, { kind: "succeeded", answer: "decided: v2, and drop v1" });
	});

	test(`${name}: a request the run refuses is the tool's error, with the run's reason`, async () => {
		const outcome = await runTask(make(), ["read", "ask"], async () => {
			throw new Error("no one may answer in this run");
		});
		assert.equal(outcome.kind, "succeeded");
		assert.match((outcome as { answer: string }).answer, /decided: .*no one may answer in this run/);
	});

	test(`${name}: an agent whose tools do not name ask does not have it`, async () => {
		let calls = 0;
		const outcome = await runTask(make(), ["read"], async () => {
			calls++;
			return "x";
		});
		assert.equal(calls, 0);
		assert.match((outcome as { answer: string }).answer, /decided: .*Tool ask not found/);
	});
}

test("inprocess: a wait on the run longer than the task's timeout does not time the task out", async () => {
	// The answer comes well after the whole timeout has passed; only the (short) rest of the task counts.
	const outcome = await runTask(
		new InProcessRuntime(),
		["ask"],
		() => new Promise((resolve) => setTimeout(() => resolve("late but fine"), 6_000)),
		4_000,
	);
	assert.deepEqual(outcome, { kind: "succeeded", answer: "decided: late but fine" });
});
