/**
 * The fields of agents, teams and steps, each driven through real pi workers on the scripted model: fallback models,
 * model precedence, thinking, maxTurns, skills, verify, reads, maxConcurrency and disabled agents.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { CrewEvent } from "../../src/store/events.js";
import {
	cli,
	type RunJson,
	runEvents,
	runJson,
	type Sandbox,
	sandbox,
	startCli,
	task,
	waitFor,
} from "../support/index.js";

const AGENT = (name: string, extra = "") =>
	`---\nname: ${name}\ndescription: test agent ${name}\ntools: read\n${extra}---\nDo the task you are given.\n`;

/** A team (roles: `name:agent`, or `name:agent:provider/model`) and its workflow, with the steps' YAML as given. */
async function teamFiles(box: Sandbox, dir: string, name: string, roles: string[], steps: string, teamExtra = "") {
	const roleYaml = roles
		.map((r) => {
			const [role, agent, model] = r.split(":");
			return `  - name: ${role}\n    agent: ${agent}${model ? `\n    model: ${model}` : ""}`;
		})
		.join("\n");
	await box.write(
		`${dir}/teams/${name}.team.md`,
		`---\nname: ${name}\ndescription: test team\nroles:\n${roleYaml}\ndefaultWorkflow: ${name}\n${teamExtra}---\n`,
	);
	await box.write(
		`${dir}/workflows/${name}.workflow.md`,
		`---\nname: ${name}\ndescription: test workflow\nsteps:\n${steps}---\n`,
	);
}

const result = (runDir: string, id: string) => readFile(join(runDir, "artifacts", "tasks", id, "result.md"), "utf8");
const of = (events: CrewEvent[], type: string, taskId: string) =>
	events.filter((e) => e.type === type && e.taskId === taskId) as (CrewEvent & { data: Record<string, unknown> })[];

test("a fallback model takes over after a rate limit or an outage, without waiting; a task with none fails", async () => {
	const box = await sandbox();
	// pi's own retry of provider errors is off: the engine decides.
	await box.write("../pi-agent/settings.json", JSON.stringify({ retry: { enabled: false } }));
	await box.write(
		".crew/agents/caller.md",
		AGENT("caller", "fallbackModels: [crew-scripted/fast, crew-scripted/smart]\n"),
	);
	await box.write(".crew/agents/plain.md", AGENT("plain"));
	await teamFiles(
		box,
		".crew",
		"falls",
		["caller:caller", "plain:plain"],
		["limited", "down", "twice"].map((id) => `  - id: ${id}\n    role: caller\n    task: go\n`).join("") +
			"  - id: alone\n    role: plain\n    task: go\n",
	);
	const scenario = await box.write(
		"scenario.yaml",
		[
			'"task:limited@1":\n  - fault: rate_limit',
			'"task:down@1":\n  - fault: outage',
			'"task:twice@1":\n  - fault: rate_limit',
			'"task:twice@2":\n  - fault: outage',
			'"task:alone@1":\n  - fault: rate_limit',
			'default:\n  - say: "{task} answered by {model}"',
		].join("\n"),
	);
	const { code, json, stderr } = await runJson(["falls", "answer", "--scenario", scenario], box);
	assert.equal(code, 1, stderr);
	assert.equal(await result(json.runDir, "limited"), "limited answered by crew-scripted/fast");
	assert.equal(await result(json.runDir, "down"), "down answered by crew-scripted/fast");
	assert.equal(await result(json.runDir, "twice"), "twice answered by crew-scripted/smart");
	assert.equal(task(json, "alone").status, "failed");
	assert.match(task(json, "alone").reason ?? "", /^model error: 429 Too Many Requests/);
	const log = await runEvents(json.runDir);
	assert.deepEqual(
		of(log, "task.started", "twice").map((e) => e.data.model),
		["crew-scripted/scripted", "crew-scripted/fast", "crew-scripted/smart"],
	);
	assert.deepEqual(
		of(log, "task.retrying", "twice").map((e) => [e.data.fallback, e.data.delayMs]),
		[
			["crew-scripted/fast", 0],
			["crew-scripted/smart", 0],
		],
	);
	assert.match(String(of(log, "task.retrying", "down")[0]?.data.reason), /^model error: 503 Service Unavailable/);
	assert.equal(log.filter((e) => e.type === "run.throttled").length, 0, "no run-wide wait");
	// status shows each attempt's model.
	const status = JSON.parse((await cli(["status", json.runId, "--json"], box)).stdout) as {
		tasks: { id: string; attempts: { model?: string }[] }[];
	};
	assert.deepEqual(
		status.tasks.find((t) => t.id === "limited")?.attempts.map((a) => a.model),
		["crew-scripted/scripted", "crew-scripted/fast"],
	);
});

test("the model preflight checks fallback models too", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/caller.md", AGENT("caller", "fallbackModels: [crew-scripted/nope]\n"));
	await teamFiles(box, ".crew", "falls", ["caller:caller"], "  - id: a\n    role: caller\n    task: go\n");
	const scenario = await box.write("scenario.yaml", 'default:\n  - say: "ok"\n');
	const res = await cli(["run", "falls", "go", "--scenario", scenario], box);
	assert.equal(res.code, 2);
	assert.match(res.stderr, /model "crew-scripted\/nope" \(task a\): the scripted models are/);
});

for (const runtime of ["child", "inprocess"])
	test(`model precedence (--model > step > role > agent > default) and thinking reach ${runtime} workers`, async () => {
		const box = await sandbox();
		await box.write(".crew/agents/smart-one.md", AGENT("smart-one", "model: crew-scripted/smart\n"));
		await box.write(".crew/agents/no-model.md", AGENT("no-model"));
		await box.write(".crew/agents/thinker.md", AGENT("thinker", "model: crew-scripted/smart\nthinking: high\n"));
		await teamFiles(
			box,
			".crew",
			"models",
			["r1:smart-one:crew-scripted/fast", "r2:smart-one", "r3:no-model", "r4:thinker"],
			[
				"  - id: by-role\n    role: r1\n    task: go\n",
				"  - id: by-step\n    role: r1\n    model: crew-scripted/scripted\n    task: go\n",
				"  - id: by-agent\n    role: r2\n    task: go\n",
				"  - id: by-default\n    role: r3\n    task: go\n",
				"  - id: thinks\n    role: r4\n    task: go\n",
			].join(""),
		);
		const scenario = await box.write("scenario.yaml", 'default:\n  - say: "{model} {thinking}"\n');
		const run = await runJson(["models", "go", "--scenario", scenario, "--runtime", runtime], box);
		assert.equal(run.code, 0, run.stderr);
		const answers = async (runDir: string) =>
			Object.fromEntries(
				await Promise.all(
					["by-role", "by-step", "by-agent", "by-default", "thinks"].map(
						async (id) => [id, (await result(runDir, id)).split(" ")[0]] as const,
					),
				),
			);
		assert.deepEqual(await answers(run.json.runDir), {
			"by-role": "crew-scripted/fast",
			"by-step": "crew-scripted/scripted",
			"by-agent": "crew-scripted/smart",
			"by-default": "crew-scripted/scripted",
			thinks: "crew-scripted/smart",
		});
		assert.equal(await result(run.json.runDir, "thinks"), "crew-scripted/smart high");
		assert.equal(await result(run.json.runDir, "by-role"), "crew-scripted/fast off", "no thinking without reasoning");
		const forced = await runJson(["models", "go", "--scenario", scenario, "--model", "crew-scripted/fast"], box);
		assert.equal(forced.code, 0, forced.stderr);
		assert.deepEqual(
			new Set(Object.values(await answers(forced.json.runDir))),
			new Set(["crew-scripted/fast"]),
			"--model is every worker's",
		);
	});

test("maxTurns stops a worker past its turns: the task fails with the reason", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/brief.md", AGENT("brief", "maxTurns: 2\n").replace("tools: read", "tools: read, ls"));
	await teamFiles(box, ".crew", "brief", ["brief:brief"], "  - id: long\n    role: brief\n    task: go\n");
	const steps = Array.from({ length: 4 }, () => '  - tool: ls\n    args: { path: "." }').join("\n");
	const scenario = await box.write("scenario.yaml", `default:\n${steps}\n  - say: "too late"\n`);
	const { code, json } = await runJson(["brief", "go", "--scenario", scenario], box);
	assert.equal(code, 1);
	assert.equal(task(json, "long").reason, "exceeded maxTurns (2) of agent brief");
});

for (const runtime of ["child", "inprocess"])
	test(`skills: an agent's and its step's skills, exactly those, reach ${runtime} workers' system prompts`, async () => {
		const box = await sandbox();
		const skill = (name: string, description: string) =>
			`---\nname: ${name}\ndescription: ${description}\n---\nFollow the ${name} steps.\n`;
		await box.write("../pi-agent/skills/checklist/SKILL.md", skill("checklist", "Review checklist CHECKLIST-SKILL."));
		await box.write("../pi-agent/skills/unnamed/SKILL.md", skill("unnamed", "Never named UNNAMED-SKILL."));
		await box.write("../home/.agents/skills/style-guide.md", skill("style-guide", "House style STYLE-SKILL."));
		await box.write(".crew/agents/skilled.md", AGENT("skilled", "skills: [checklist]\n"));
		await box.write(".crew/agents/plain.md", AGENT("plain"));
		await teamFiles(
			box,
			".crew",
			"skills",
			["skilled:skilled", "plain:plain"],
			"  - id: named\n    role: skilled\n    skills: [style-guide]\n    task: go\n  - id: discovered\n    role: plain\n    task: go\n",
		);
		const scenario = await box.write("scenario.yaml", 'default:\n  - say: "{system}"\n');
		const run = await runJson(["skills", "go", "--scenario", scenario, "--runtime", runtime], box);
		assert.equal(run.code, 0, run.stderr);
		const named = await result(run.json.runDir, "named");
		assert.match(named, /<name>checklist<\/name>\n\s*<description>Review checklist CHECKLIST-SKILL\.<\/description>/);
		assert.match(named, /STYLE-SKILL/);
		assert.doesNotMatch(named, /UNNAMED-SKILL/, "naming skills turns pi's discovery off");
		// An agent that names none keeps pi's own discovery (the user's skills).
		assert.match(await result(run.json.runDir, "discovered"), /UNNAMED-SKILL/);
	});

test("skills: a repository's skill loads only once the repository is trusted", async () => {
	const box = await sandbox();
	await box.write(".pi/skills/repo-skill/SKILL.md", "---\nname: repo-skill\ndescription: REPO-SKILL.\n---\nRun it.\n");
	await box.write(".crew/agents/skilled.md", AGENT("skilled", "skills: [repo-skill]\n"));
	await teamFiles(box, ".crew", "repo-skills", ["skilled:skilled"], "  - id: s\n    role: skilled\n    task: go\n");
	const scenario = await box.write("scenario.yaml", 'default:\n  - say: "{system}"\n');
	const refused = await cli(["run", "repo-skills", "go", "--scenario", scenario], box);
	assert.equal(refused.code, 2);
	assert.match(refused.stderr, /skill "repo-skill" \(s\): not found/);
	assert.match(refused.stderr, /\(not in the repository's: it is not trusted\)/);
	assert.equal((await cli(["trust", "yes"], box)).code, 0);
	const run = await runJson(["repo-skills", "go", "--scenario", scenario], box);
	assert.equal(run.code, 0, run.stderr);
	assert.match(await result(run.json.runDir, "s"), /<name>repo-skill<\/name>/);
});

test("verify: the host's command decides; an agent that claims success without it fails, with the command's output", async () => {
	const box = await sandbox();
	await box.write("../crew-home/config.yaml", "retry:\n  maxAttempts: 2\n  backoffMs: 10\n  jitter: 0\n");
	// A user's workflow: its commands may run.
	await teamFiles(
		box,
		"../crew-home",
		"checked",
		["exec:executor"],
		[
			'  - id: honest\n    role: exec\n    task: go\n    verify: "test -f honest.txt && echo verified honest"\n',
			"  - id: liar\n    role: exec\n    task: go\n",
			'    verify: "test -f liar.txt || { echo FAIL: liar.txt is missing; echo password=hunter2hunter2; exit 1; }"\n',
			"  - id: after-liar\n    role: exec\n    dependsOn: [liar]\n    task: go\n",
			'  - id: flaky\n    role: exec\n    task: go\n    verify: "test -f .flaky || { touch .flaky; exit 3; }"\n',
		].join(""),
	);
	const scenario = await box.write(
		"../scenario.yaml",
		'"task:honest":\n  - tool: bash\n    args: { command: "echo ok > honest.txt" }\n  - say: "done"\ndefault:\n  - say: "All tests pass."\n',
	);
	const { code, json, stderr } = await runJson(["checked", "go", "--scenario", scenario, "--retry"], box);
	assert.equal(code, 1, stderr);
	const log = await runEvents(json.runDir);
	assert.equal(task(json, "honest").status, "succeeded");
	const honest = of(log, "task.verified", "honest")[0]?.data;
	assert.deepEqual({ code: honest?.code, passed: honest?.passed }, { code: 0, passed: true });
	assert.equal(await readFile(join(json.runDir, String(honest?.outputPath)), "utf8"), "verified honest\n");

	const liar = task(json, "liar");
	assert.equal(liar.status, "failed");
	assert.equal(liar.attempts.length, 2, "a failed verify is retried by the retry policy");
	assert.equal(liar.deadLetter, "max-retries");
	assert.match(
		liar.reason ?? "",
		/^verify `test -f liar\.txt .*` exited with code 1:\nFAIL: liar\.txt is missing\npassword=\[REDACTED\] \(attempt 2, retries exhausted\)$/,
	);
	const liarLog = String(of(log, "task.verified", "liar")[0]?.data.outputPath);
	assert.equal(await readFile(join(json.runDir, liarLog), "utf8"), "FAIL: liar.txt is missing\npassword=[REDACTED]\n");
	assert.equal(task(json, "after-liar").status, "skipped");

	const flaky = task(json, "flaky");
	assert.equal(flaky.status, "succeeded");
	assert.deepEqual(
		flaky.attempts.map((a) => a.verified),
		[false, true],
	);
	assert.equal(of(log, "task.verified", "flaky")[0]?.data.code, 3);
});

test("verify: a repository's workflow may not run a command until the repository is trusted", async () => {
	const box = await sandbox();
	await teamFiles(
		box,
		".crew",
		"repo-checked",
		["exec:executor"],
		'  - id: a\n    role: exec\n    task: go\n    verify: "echo ran > verify-ran.txt"\n',
	);
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 0, validate.stderr);
	assert.match(
		validate.stderr,
		/repo-checked\.workflow\.md:8 \[steps\.0\.verify\]: warning: a verify command of a repository the user has not trusted never runs/,
	);
	const scenario = await box.write("../scenario.yaml", 'default:\n  - say: "done"\n');
	const refused = await cli(["run", "repo-checked", "go", "--scenario", scenario], box);
	assert.equal(refused.code, 2);
	assert.match(refused.stderr, /steps\.0\.verify.*cannot run here/);
	assert.match(refused.stderr, /pi-crew trust/);
	await cli(["trust", "yes"], box);
	const run = await runJson(["repo-checked", "go", "--scenario", scenario], box);
	assert.equal(run.code, 0, run.stderr);
	assert.equal(await readFile(join(box.repo, "verify-ran.txt"), "utf8"), "ran\n");
	await rm(join(box.repo, "verify-ran.txt"));

	// Trusted when it started, interrupted, trust taken back: its resume does not run the command either.
	const waiting = await box.write("../waiting.yaml", 'default:\n  - waitFor: release\n  - say: "done"\n');
	const { child, done } = startCli(["run", "repo-checked", "again", "--scenario", waiting], box);
	const runId = await waitFor("the second run's task to start", async () => {
		const ids = await readdir(join(box.repo, ".crew", "runs"));
		const id = ids.find((i) => i !== run.json.runId);
		const log = id ? await readFile(join(box.repo, ".crew", "runs", id, "events.jsonl"), "utf8").catch(() => "") : "";
		return log.includes('"task.started"') ? id : undefined;
	});
	child.kill("SIGKILL");
	await done;
	await cli(["trust", "no"], box);
	await box.write("release", "");
	const resumed = await cli(["resume", runId ?? "", "--json"], box);
	assert.equal(resumed.code, 1, resumed.stderr);
	const again = JSON.parse(resumed.stdout) as RunJson;
	assert.match(
		task(again, "a").reason ?? "",
		/^verify `echo ran > verify-ran\.txt` not run: it comes from the repository's workflow and the repository is not trusted$/,
	);
	assert.ok(!existsSync(join(box.repo, "verify-ran.txt")), "the command never ran");
});

test("reads: an earlier step's result is given to a later one that does not depend on it directly", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/plain.md", AGENT("plain"));
	await teamFiles(
		box,
		".crew",
		"reader",
		["r:plain"],
		[
			"  - id: a\n    role: r\n    task: go\n",
			"  - id: b\n    role: r\n    dependsOn: [a]\n    task: go\n",
			'  - id: c\n    role: r\n    dependsOn: [b]\n    reads: [a]\n    task: "use {a} now"\n',
			"  - id: d\n    role: r\n    dependsOn: [c]\n    reads: [a, b]\n    task: go on\n",
		].join(""),
	);
	const scenario = await box.write(
		"scenario.yaml",
		'"task:a":\n  - say: RESULT-OF-A\n"task:b":\n  - say: RESULT-OF-B\ndefault:\n  - say: "{task} done"\n',
	);
	const { code, json, stderr } = await runJson(["reader", "go", "--scenario", scenario], box);
	assert.equal(code, 0, stderr);
	const prompt = (id: string) => readFile(join(json.runDir, "artifacts", "tasks", id, "prompt.md"), "utf8");
	// The repository is not trusted: its step's text is fenced, and its placeholder points at the result given after it.
	const c = await prompt("c");
	assert.match(c, /<repository-task>\nuse \[the result of task "a", given below\] now\n<\/repository-task>/);
	assert.match(
		c,
		/## Results of earlier steps this one reads\n\n### a \(r\)\n\n[^#]*<task-result>\nRESULT-OF-A\n<\/task-result>\n$/,
	);
	const result = (id: string, text: string) =>
		`### ${id} \\(r\\)\\n\\nThe result of task "${id}" \\(role r\\)[^#]*<task-result>\\n${text}\\n<\\/task-result>\\n`;
	assert.match(
		await prompt("d"),
		new RegExp(
			`## Results of earlier steps this one reads\\n\\n${result("a", "RESULT-OF-A")}\\n${result("b", "RESULT-OF-B")}`,
		),
	);
	// Trusted, the placeholder takes the result in place (fenced as the other task's), and it is not repeated.
	assert.equal((await cli(["trust", "yes"], box)).code, 0);
	const trusted = await runJson(["reader", "go", "--scenario", scenario], box);
	assert.equal(trusted.code, 0, trusted.stderr);
	const own = await readFile(join(trusted.json.runDir, "artifacts", "tasks", "c", "prompt.md"), "utf8");
	assert.match(
		own,
		/## Your task\n\nuse \n\nThe result of task "a" \(role r\)[^#]*<task-result>\nRESULT-OF-A\n<\/task-result>\n\n now\n/,
	);
	assert.doesNotMatch(own, /Results of earlier steps this one reads/, "inlined once, by its placeholder");
	assert.deepEqual(of(await runEvents(json.runDir), "task.planned", "d")[0]?.data.reads, ["a", "b"]);
});

test("maxConcurrency of a team caps the run's concurrency; a disabled agent's team cannot run", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/plain.md", AGENT("plain"));
	await teamFiles(
		box,
		".crew",
		"single-file",
		["r:plain"],
		"  - id: a\n    role: r\n    task: go\n  - id: b\n    role: r\n    task: go\n",
		"maxConcurrency: 1\n",
	);
	const scenario = await box.write("scenario.yaml", 'default:\n  - sleepMs: 300\n  - say: "{task} done"\n');
	const { code, json } = await runJson(["single-file", "go", "--scenario", scenario, "--concurrency", "4"], box);
	assert.equal(code, 0);
	const log = await runEvents(json.runDir);
	const created = log.find((e) => e.type === "run.created");
	assert.equal(created?.type === "run.created" && created.data.settings.concurrency, 1);
	// One at a time: each task's start comes after the other's end, in the log's order.
	const [first, second] = log.filter((e) => e.type === "task.started");
	const firstEnd = log.find((e) => e.type === "task.succeeded" && e.taskId === first?.taskId);
	assert.ok((second?.seq ?? 0) > (firstEnd?.seq ?? Number.POSITIVE_INFINITY), "the tasks never overlapped");

	await box.write(".crew/agents/retired.md", AGENT("retired", "disabled: true\n"));
	await teamFiles(box, ".crew", "old-crew", ["r:retired"], "  - id: a\n    role: r\n    task: go\n");
	const validate = await cli(["validate"], box);
	assert.equal(validate.code, 0, "a warning: other teams stay usable");
	assert.match(validate.stderr, /old-crew\.team\.md:6 \[roles\.0\.agent\]: warning: agent "retired" is disabled/);
	const refused = await cli(["run", "old-crew", "go", "--scenario", scenario], box);
	assert.equal(refused.code, 2);
	assert.match(refused.stderr, /agent "retired" is disabled .*: team "old-crew" cannot run/);
	const agents = JSON.parse((await cli(["agents", "--json"], box)).stdout) as { name: string; disabled?: boolean }[];
	assert.equal(agents.find((a) => a.name === "retired")?.disabled, true);
	assert.equal(agents.find((a) => a.name === "plain")?.disabled, undefined);
});

test("bad field types and broken references are errors with file, line, field and a hint", async () => {
	const box = await sandbox();
	await box.write(
		".crew/agents/odd.md",
		"---\nname: odd\ndescription: d\nfallbackModels: fast\nskills: [../etc]\ndisabled: maybe\n---\nbody\n",
	);
	await box.write(
		".crew/teams/odd-team.team.md",
		"---\nname: odd-team\ndescription: d\nroles:\n  - name: r\n    agent: odd\n    model: fast one\ndefaultWorkflow: odd-flow\nmaxConcurrency: 0\n---\n",
	);
	await box.write(
		".crew/workflows/odd-flow.workflow.md",
		[
			"---\nname: odd-flow\ndescription: d\nsteps:",
			"  - id: a\n    role: r\n    task: go\n    verify: 5\n    reads: [b]",
			"  - id: b\n    role: r\n    task: go\n    reads: [ghost]\n    model: no pe",
			"---\n",
		].join("\n"),
	);
	const res = await cli(["validate", "--json"], box);
	assert.equal(res.code, 2);
	const { problems } = JSON.parse(res.stdout) as {
		problems: { file: string; line?: number; field?: string; message: string; hint?: string }[];
	};
	const found = (file: string, line: number, field: string, message: RegExp) =>
		assert.ok(
			problems.some(
				(p) => p.file.endsWith(file) && p.line === line && p.field === field && message.test(p.message) && p.hint,
			),
			`expected ${file}:${line} [${field}] ${message} in ${JSON.stringify(problems, null, 1)}`,
		);
	found("odd.md", 4, "fallbackModels", /must be array/);
	found("odd.md", 5, "skills.0", /must match pattern/);
	found("odd.md", 6, "disabled", /must be boolean/);
	// A bare name (`fast`) is resolved against pi's registry before a run; a name with a space is never a model.
	found("odd-team.team.md", 7, "roles.0.model", /must match pattern/);
	found("odd-team.team.md", 9, "maxConcurrency", /must be >= 1/);
	found("odd-flow.workflow.md", 8, "steps.0.verify", /must be string/);
	found("odd-flow.workflow.md", 14, "steps.1.model", /must match pattern/);
	const hint = (field: string) => problems.find((p) => p.field === field)?.hint;
	assert.match(hint("roles.0.model") ?? "", /a model as provider\/id/);
	assert.match(hint("skills.0") ?? "", /a skill's name .*, not a path/);
	// References are checked once the types are right.
	await box.write(
		".crew/workflows/odd-flow.workflow.md",
		[
			"---\nname: odd-flow\ndescription: d\nsteps:",
			"  - id: a\n    role: r\n    task: go\n    reads: [b]",
			"  - id: b\n    role: r\n    task: go\n    reads: [ghost]",
			"---\n",
		].join("\n"),
	);
	const refs = JSON.parse((await cli(["validate", "--json"], box)).stdout) as { problems: typeof problems };
	problems.splice(0, problems.length, ...refs.problems);
	found("odd-flow.workflow.md", 8, "steps.0.reads", /"a" reads "b", which it does not depend on/);
	found("odd-flow.workflow.md", 12, "steps.1.reads", /"b" reads unknown step "ghost"/);
});
