/** The DAG scheduler with real child pi workers on the scripted model: ordering, overlap, the concurrency cap. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cli, ms, projectTeam, runJson, SCRIPTED, sandbox, task } from "../support/index.js";

test("diamond a -> b,c -> d: d starts after b and c end, b and c overlap, d sees both results", async () => {
	const box = await sandbox();
	await projectTeam(box, "diamond", [
		{ id: "a", role: "explorer" },
		{ id: "b", role: "executor", dependsOn: ["a"] },
		{ id: "c", role: "test-engineer", dependsOn: ["a"] },
		{ id: "d", role: "writer", dependsOn: ["b", "c"] },
	]);
	// b and c each mark that they run, then wait for the other's mark: the run ends only if they run at the same time.
	const bFlag = JSON.stringify(join(box.repo, "b.flag"));
	const cFlag = JSON.stringify(join(box.repo, "c.flag"));
	const meet = (mine: string, theirs: string, answer: string) =>
		`  - tool: bash\n    args: { command: ${JSON.stringify(`touch ${mine}`)} }\n  - waitFor: ${theirs}\n  - say: "${answer}"\n`;
	const scenario = await box.write(
		"scenario.yaml",
		`"task:b":\n${meet(bFlag, cFlag, "B-RESULT for {goal}")}"task:c":\n${meet(cFlag, bFlag, "C-RESULT")}default:\n  - say: "{task} done"\n`,
	);
	const { code, json } = await runJson(["diamond", "ship it", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(code, 0);
	assert.equal(json.status, "succeeded");
	const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => task(json, id));
	assert.ok(a && b && c && d);
	assert.ok(ms(b.startedAt) >= ms(a.endedAt) && ms(c.startedAt) >= ms(a.endedAt), "b and c start after a ends");
	assert.ok(ms(d.startedAt) >= Math.max(ms(b.endedAt), ms(c.endedAt)), "d starts only after b and c end");
	assert.ok(ms(b.startedAt) < ms(c.endedAt) && ms(c.startedAt) < ms(b.endedAt), "b and c overlap");
	const prompt = await readFile(join(json.runDir, "artifacts/tasks/d/prompt.md"), "utf8");
	assert.match(prompt, /B-RESULT for ship it/);
	assert.match(prompt, /C-RESULT/);
	assert.ok(existsSync(join(json.runDir, "artifacts/summary.md")));
});

test("the concurrency cap bounds how many workers run at once", async () => {
	const box = await sandbox();
	const ids = ["t1", "t2", "t3", "t4"];
	await projectTeam(
		box,
		"wide",
		ids.map((id) => ({ id, role: "explorer" })),
	);
	const scenario = await box.write("scenario.yaml", `default:\n  - sleepMs: 1200\n  - say: "{task} done"\n`);
	const { code, json } = await runJson(
		["wide", "go", "--model", SCRIPTED, "--scenario", scenario, "--concurrency", "2"],
		box,
	);
	assert.equal(code, 0);
	const intervals = ids.map((id) => task(json, id)).map((t) => [ms(t.startedAt), ms(t.endedAt)] as const);
	const peak = Math.max(...intervals.map(([s]) => intervals.filter(([s2, e2]) => s2 <= s && s < e2).length));
	assert.equal(peak, 2, `at most 2 at once, and the cap is used (intervals: ${JSON.stringify(intervals)})`);
});

test("an unknown dependency and a cycle are rejected with exit 2 before any task runs", async () => {
	const box = await sandbox();
	await projectTeam(box, "broken", [
		{ id: "a", role: "explorer", dependsOn: ["c"] },
		{ id: "b", role: "explorer", dependsOn: ["a", "nope"] },
		{ id: "c", role: "explorer", dependsOn: ["b"] },
	]);
	const res = await cli(["run", "broken", "goal", "--model", SCRIPTED], box);
	assert.equal(res.code, 2);
	assert.match(res.stderr, /broken\.workflow\.md:\d+ \[steps\.1\.dependsOn\]: "b" depends on unknown step "nope"/);
	assert.match(res.stderr, /dependency cycle: a -> c -> b -> a/);
	assert.equal(existsSync(join(box.repo, ".crew/runs")), false, "no run was created");
});

test("an unknown team is exit 2 with the known teams listed", async () => {
	const box = await sandbox();
	const res = await cli(["run", "nope", "goal"], box);
	assert.equal(res.code, 2);
	assert.match(res.stderr, /unknown team "nope" \(known teams: default, fast-fix/);
});

test("adaptive planning: an invalid plan is re-planned once with its errors; the valid plan's tasks run between plan and review", async () => {
	const box = await sandbox();
	const fence = (plan: unknown) => `\`\`\`json\n${JSON.stringify(plan)}\n\`\`\``;
	const bad = fence({ phases: [{ tasks: [{ id: "x", role: "wizard", task: "magic" }] }] });
	const good = fence({
		phases: [
			{
				name: "build",
				tasks: [
					{ id: "build-a", role: "executor", task: "build a" },
					{ id: "build-b", role: "executor", task: "build b" },
				],
			},
			{ name: "check", tasks: [{ id: "check", role: "tester", task: "test a and b" }] },
		],
	});
	// JSON is YAML: a scenario can be written as JSON.
	const scenario = await box.write(
		"scenario.json",
		JSON.stringify({
			"task:plan@1": [{ say: `First try:\n${bad}` }],
			"task:plan@2": [{ say: `Second try:\n${good}` }],
			default: [{ sleepMs: 300 }, { say: "{task} done" }],
		}),
	);
	const { code, json } = await runJson(
		["implementation", "add a feature", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(code, 0, JSON.stringify(json.tasks));
	assert.deepEqual(
		json.tasks.map((t) => [t.id, t.status]),
		[
			["explore", "succeeded"],
			["plan", "succeeded"],
			["review", "succeeded"],
			["build-a", "succeeded"],
			["build-b", "succeeded"],
			["check", "succeeded"],
		],
	);
	const plan = task(json, "plan");
	assert.equal(plan.attempts.length, 2);
	assert.match(plan.attempts[0]?.reason ?? "", /^invalid plan: phase 1 task 1 \(x\): unknown role "wizard"/);
	const { readFile } = await import("node:fs/promises");
	const second = await readFile(`${json.runDir}/artifacts/tasks/plan/attempt-2/prompt.md`, "utf8");
	assert.match(second, /## Your previous plan was rejected\n\n- phase 1 task 1 \(x\): unknown role "wizard"/);
	const [a, b, check, review] = ["build-a", "build-b", "check", "review"].map((id) => task(json, id));
	assert.ok(
		ms(a?.startedAt) >= ms(plan.endedAt) && ms(b?.startedAt) >= ms(plan.endedAt),
		"the plan's tasks start after it",
	);
	assert.ok(ms(check?.startedAt) >= Math.max(ms(a?.endedAt), ms(b?.endedAt)), "phase 2 waits for phase 1");
	assert.ok(ms(review?.startedAt) >= ms(check?.endedAt), "review waits for everything the plan added");
	// ...and is told their results, as a resumed run would be (the log's dependencies, not the plan's first ones).
	const reviewPrompt = await readFile(`${json.runDir}/artifacts/tasks/review/prompt.md`, "utf8");
	for (const id of ["build-a", "build-b", "check"]) assert.match(reviewPrompt, new RegExp(`${id} done`));
});

test("adaptive planning: a plan invalid twice fails the planning task with the reasons; its dependents are skipped", async () => {
	const box = await sandbox();
	const scenario = await box.write(
		"scenario.yaml",
		'"task:plan":\n  - say: "no plan, sorry"\ndefault:\n  - say: "{task} done"\n',
	);
	const { code, json } = await runJson(
		["implementation", "add a feature", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(code, 1);
	assert.match(
		task(json, "plan").reason ?? "",
		/^invalid plan: no ```json block with the plan at the end of the answer$/,
	);
	assert.equal(task(json, "plan").attempts.length, 2);
	assert.equal(task(json, "review").status, "skipped");
});

test("in-process and auto runtimes: read-only roles run inside the coordinator, writing roles as pi children", async () => {
	const box = await sandbox();
	const { existsSync } = await import("node:fs");
	const inproc = await runJson(["research", "how is it laid out", "--model", SCRIPTED, "--runtime", "inprocess"], box);
	assert.equal(inproc.code, 0, JSON.stringify(inproc.json.tasks));
	assert.equal(inproc.json.status, "succeeded");
	const events = JSON.parse((await cli(["events", inproc.json.runId, "--json"], box)).stdout) as {
		events: { type: string; taskId?: string; data: { tool?: string } }[];
	};
	assert.ok(
		events.events.some((e) => e.type === "task.tool" && e.taskId === "explore" && e.data.tool === "ls"),
		"tools ran in process",
	);
	assert.equal(
		existsSync(join(inproc.json.runDir, "artifacts/tasks/explore/attempt-1/transcript.jsonl")),
		false,
		"no child process",
	);

	const auto = await runJson(["fast-fix", "fix the bug", "--model", SCRIPTED, "--runtime", "auto"], box);
	assert.equal(auto.code, 0, JSON.stringify(auto.json.tasks));
	const transcript = (id: string) =>
		existsSync(join(auto.json.runDir, `artifacts/tasks/${id}/attempt-1/transcript.jsonl`));
	assert.deepEqual(
		["explore", "fix", "verify"].map((id) => [id, transcript(id)]),
		[
			["explore", false],
			["fix", true],
			["verify", true],
		],
		"explorer (read-only) in process; executor and verifier (bash) as children",
	);
});
