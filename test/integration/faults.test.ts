/** Worker faults from the scripted model, on real child pi workers: each is a failure with its real reason. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
	CLI,
	cli,
	processesOfRun,
	projectTeam,
	runJson,
	type Sandbox,
	SCRIPTED,
	sandbox,
	task,
} from "../support/index.js";

/**
 * A run of `faults`, each with a dependent, and (unless `timeout` bounds every worker) a healthy task; every faulty
 * worker first leaves a process behind.
 */
async function faultRun(box: Sandbox, team: string, faults: string[], timeout?: string) {
	await projectTeam(box, team, [
		...faults.map((f) => ({ id: f, role: "executor" })),
		...faults.map((f) => ({ id: `after-${f}`, role: "writer", dependsOn: [f] })),
		...(timeout ? [] : [{ id: "ok", role: "explorer" }]),
	]);
	const scenario = await box.write(
		`${team}.yaml`,
		[
			...faults.map(
				(f) => `"task:${f}":\n  - tool: bash\n    args: { command: "sleep 60 & echo started" }\n  - fault: ${f}`,
			),
			`default:\n  - say: "fine"`,
		].join("\n"),
	);
	const extra = timeout ? ["--timeout", timeout] : [];
	const { code, json } = await runJson(
		[team, "break things", "--model", SCRIPTED, "--scenario", scenario, ...extra],
		box,
	);
	assert.equal(code, 1);
	assert.equal(json.status, "failed");
	const total = faults.length * 2 + (timeout ? 0 : 1);
	assert.match(json.reason ?? "", new RegExp(`^${faults.length * 2} of ${total} tasks did not succeed`));
	for (const f of faults) {
		assert.equal(task(json, f).status, "failed");
		const dependent = task(json, `after-${f}`);
		assert.equal(dependent.status, "skipped");
		assert.equal(dependent.reason, `dependency "${f}" failed`);
	}
	if (!timeout) assert.equal(task(json, "ok").status, "succeeded");
	// Every worker's process tree is gone, the background `sleep 60` of each bash call included.
	assert.deepEqual(await processesOfRun(json.runId), []);
	return json;
}

test("empty answer, crash, hang (timeout) and rate limit fail with reasons; dependents are skipped", async () => {
	const box = await sandbox();
	// pi's own retry of provider errors would turn the rate-limit case into a 14 s wait; the engine owns retries.
	await box.write("../pi-agent/settings.json", JSON.stringify({ retry: { enabled: false } }));
	// The hang gets a run and a timeout of its own: a healthy worker slowed down by a busy machine must never read as
	// hung, so the other faults run under the default timeout of 15 minutes.
	const [quick, hung] = await Promise.all([
		faultRun(box, "faulty", ["empty", "crash", "rate_limit"]),
		faultRun(box, "hanging", ["hang"], "10"),
	]);
	assert.match(task(quick, "empty").reason ?? "", /empty final answer/);
	assert.match(task(quick, "crash").reason ?? "", /worker exited with code 70/);
	assert.match(task(quick, "rate_limit").reason ?? "", /model error: 429/);
	assert.match(task(hung, "hang").reason ?? "", /timed out after 10s/);
});

test("secrets in the goal, tool calls, tool output and answers never reach the run's files", async () => {
	const box = await sandbox();
	await projectTeam(box, "leaky", [{ id: "leak", role: "executor" }]);
	const key = "sk-ant-api03-THISISAFAKEKEYFORTESTS0123456789";
	const scenario = await box.write(
		"scenario.yaml",
		`default:\n  - tool: bash\n    args: { command: "echo ${key}; echo GITHUB_TOKEN=ghp_fakefakefakefakefakefakefakefake1234 >&2; echo done" }\n  - say: "Found {result}"\n`,
	);
	const { code, json } = await runJson(
		["leaky", "deploy with password=hunter2hunter2", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(code, 0);
	const { readdir, readFile } = await import("node:fs/promises");
	const files = (await readdir(json.runDir, { recursive: true })) as string[];
	let scanned = 0;
	for (const rel of files) {
		const text = await readFile(`${json.runDir}/${rel}`, "utf8").catch(() => undefined);
		if (text === undefined) continue;
		scanned++;
		for (const secret of [key, "ghp_fakefakefakefakefakefakefakefake1234", "hunter2hunter2"])
			assert.ok(!text.includes(secret), `${rel} leaks ${secret.slice(0, 8)}...`);
	}
	assert.ok(scanned >= 6, `scanned ${scanned} files`);
	const result = await readFile(`${json.runDir}/artifacts/tasks/leak/result.md`, "utf8");
	assert.match(result, /Found \[REDACTED\]\n/);
});

test("depth guard: a worker at the maximum depth cannot start a deeper run, and is told why", async () => {
	const box = await sandbox();
	await projectTeam(box, "nest", [{ id: "nester", role: "verifier" }]);
	const nested = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} run research nested --runtime scaffold 2>&1; echo exit=$?`;
	const scenario = await box.write(
		"scenario.yaml",
		`default:\n  - tool: bash\n    args: { command: ${JSON.stringify(nested)} }\n  - say: "{result}"\n`,
	);
	// This coordinator is itself one run deep (as a worker would be): its workers are at depth 2 = maxDepth.
	const { code, json } = await runJson(["nest", "go deeper", "--model", SCRIPTED, "--scenario", scenario], {
		...box,
		env: { ...box.env, PI_CREW_DEPTH: "1" },
	});
	assert.equal(code, 0);
	const { readFile } = await import("node:fs/promises");
	const answer = await readFile(`${json.runDir}/artifacts/tasks/nester/result.md`, "utf8");
	assert.match(
		answer,
		/this process is 2 run\(s\) deep and maxDepth is 2 \(default\): a worker cannot start a deeper run/,
	);
	assert.match(answer, /exit=2/);
	const top = await cli(["run", "research", "not nested", "--runtime", "scaffold"], box);
	assert.equal(top.code, 0, "outside any run, runs start");
});
