/**
 * The review link of both runtimes: a real worker on the scripted model settles on an answer that waits for approval;
 * a review that cannot be recorded (the run's log fails) ends the attempt the same way in each runtime.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ChildRuntime } from "../../src/workers/child.js";
import { InProcessRuntime } from "../../src/workers/inprocess.js";
import type { TaskSpec } from "../../src/workers/runtime.js";
import { processesOfRun, SCRIPTED, sandbox } from "../support/index.js";

for (const runtime of [new ChildRuntime(), new InProcessRuntime()]) {
	test(`${runtime.name}: a review that cannot be recorded fails the attempt as io_failed, its worker gone`, async () => {
		const box = await sandbox();
		for (const key of ["HOME", "PI_CODING_AGENT_DIR", "PI_OFFLINE", "NODE_COMPILE_CACHE"])
			process.env[key] = box.env[key];
		const taskDir = join(box.dir, "task");
		await mkdir(taskDir, { recursive: true });
		await writeFile(join(taskDir, "system.md"), "You are a worker.");
		const spec: TaskSpec = {
			runId: `review-${runtime.name}`,
			taskId: "draft",
			agent: "worker",
			cwd: box.repo,
			repo: box.repo,
			projectTrusted: true,
			systemPromptPath: join(taskDir, "system.md"),
			prompt: "Draft it.",
			promptPath: join(taskDir, "prompt.md"),
			taskDir,
			model: SCRIPTED,
			scenario: await box.write("scenario.yaml", `default:\n  - say: "a draft"\n`),
			tools: ["read"],
			timeoutMs: 120_000,
			review: async () => {
				throw new Error("ENOSPC: no space left on device");
			},
		};
		const outcome = await runtime.run(spec, new AbortController().signal, () => undefined);
		assert.deepEqual(outcome, {
			kind: "io_failed",
			detail: "cannot record the approval: ENOSPC: no space left on device",
			retryable: outcome.kind === "succeeded" ? undefined : outcome.retryable,
		});
		assert.deepEqual(await processesOfRun(spec.runId), []);
	});
}
