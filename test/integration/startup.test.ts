import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, SCRIPTED, sandbox } from "../support/index.js";
import { traced } from "../support/startup.js";

const PI = join(ROOT, "node_modules", ".bin", "pi");
const EXTENSION = join(ROOT, "dist", "extension", "index.js");
// What pi-crew loads only once it is used: the api and all behind it, the views, the session's own work.
const USED_ONLY = /^dist\/(?:api|engine|store|resources|workers\/(?!host-pi)|view|observability)\//;

/** A repository with 20 runs: nothing pi-crew does at start-up may scale with them. */
async function busyBox() {
	const box = await sandbox();
	for (let i = 0; i < 20; i++) await box.write(`.crew/runs/run-${i}/events.jsonl`, "");
	return box;
}

test("pi --list-models with pi-crew loads its registration only: no session work, run store, api or YAML", async () => {
	const box = await busyBox();
	const run = await traced(PI, ["--no-session", "-ne", "-e", EXTENSION, "--list-models"], box.repo, box.env);
	assert.equal(run.code, 0, run.stderr);
	assert.deepEqual(
		run.ours.filter((m) => USED_ONLY.test(m) || /extension\/(?:session|policy|live)\.js$/.test(m)),
		[],
	);
	assert.ok(run.ours.length <= 10, `at most 10 of pi-crew's modules: ${run.ours.join(", ")}`);
	assert.deepEqual(
		run.modules.filter((m) => m.includes("/node_modules/yaml/")),
		[],
	);
});

test("pi -p with pi-crew: the session's work and the policy, no run store or api, nothing per run", async () => {
	const box = await busyBox();
	const scenario = await box.write("scenario.yaml", 'default:\n  - say: "hi"\n');
	const args = ["-p", "--no-session", "-ne", "-e", join(ROOT, "dist", "scripted", "extension.js"), "--model", SCRIPTED];
	const run = await traced(PI, [...args, "-e", EXTENSION, "hi"], box.repo, {
		...box.env,
		PI_CREW_SCENARIO: scenario,
	});
	assert.equal(run.code, 0, run.stderr);
	assert.match(run.stdout, /hi/);
	assert.ok(run.ours.includes("dist/extension/policy.js"), "the delegation policy was read");
	assert.deepEqual(
		run.ours.filter((m) => USED_ONLY.test(m) || /extension\/(?:live|team-actions)\.js$/.test(m)),
		[],
	);
	// No UI (print mode): no live view and no resume offer, so no run's lease is read.
	assert.ok(!run.ours.includes("dist/store/lease.js"));
});
