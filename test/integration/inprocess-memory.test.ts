/**
 * A long in-process run keeps no finished task's conversation: N tasks on the scripted model through one
 * InProcessRuntime (one model runtime, one scripted provider, as a run's tasks share them), then a heap snapshot
 * counts the strings that still hold a task's prompt.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { writeHeapSnapshot } from "node:v8";
import { InProcessRuntime } from "../../src/workers/inprocess.js";
import type { TaskSpec } from "../../src/workers/runtime.js";
import { SCRIPTED, sandbox } from "../support/index.js";

/** How many strings of the heap (after the full collection a snapshot makes) contain `marker`. */
async function liveStrings(dir: string, marker: string): Promise<number> {
	const file = writeHeapSnapshot(join(dir, "heap.heapsnapshot"));
	const snap = JSON.parse(await readFile(file, "utf8")) as {
		snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
		nodes: number[];
		strings: string[];
	};
	await rm(file);
	const fields = snap.snapshot.meta.node_fields;
	const [type, name] = [fields.indexOf("type"), fields.indexOf("name")];
	const types = snap.snapshot.meta.node_types[0];
	let count = 0;
	for (let i = 0; i < snap.nodes.length; i += fields.length) {
		const t = types[snap.nodes[i + type] as number] ?? "";
		if (t.includes("string") && snap.strings[snap.nodes[i + name] as number]?.includes(marker)) count++;
	}
	return count;
}

test("inprocess: finished tasks' sessions are released, the scripted provider's prompt cache included", async () => {
	const box = await sandbox();
	for (const key of ["HOME", "PI_CODING_AGENT_DIR", "PI_OFFLINE", "NODE_COMPILE_CACHE"])
		process.env[key] = box.env[key];
	const taskDir = join(box.dir, "task");
	await mkdir(taskDir, { recursive: true });
	await writeFile(join(taskDir, "system.md"), "You are a worker.");
	const scenario = await box.write("scenario.yaml", 'default:\n  - say: "done"\n');
	const runtime = new InProcessRuntime();
	const tasks = 12;
	// Built at run time: the test's own source (a string in the heap too) does not contain it.
	const marker = ["remember", "this", "prompt"].join("~");
	for (let i = 0; i < tasks; i++) {
		const spec: TaskSpec = {
			runId: "memory",
			taskId: `t${i}`,
			agent: "worker",
			cwd: box.repo,
			repo: box.repo,
			projectTrusted: true,
			systemPromptPath: join(taskDir, "system.md"),
			prompt: `Task number ${i}: ${marker}-${i}.`,
			promptPath: join(taskDir, "prompt.md"),
			taskDir,
			model: SCRIPTED,
			scenario,
			tools: ["read"],
			timeoutMs: 120_000,
		};
		const outcome = await runtime.run(spec, new AbortController().signal, () => undefined);
		assert.equal(outcome.kind, "succeeded");
	}
	// Before: each finished session's last prompt stayed in the provider's cache, one per task. (The last task's
	// prompt may still be on the way out.)
	const live = await liveStrings(box.dir, `${marker}-`);
	assert.ok(live <= 1, `${live} prompts of ${tasks} finished tasks are still in memory`);
});
