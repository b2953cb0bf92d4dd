/**
 * The dashboard and the viewers in a real interactive pi under tmux, on runs of the scripted model: each pane on a
 * recorded run, a resize, the viewers, and a cancel from the dashboard that stops a run held at a barrier.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
	cli,
	hasTool,
	processesOfRun,
	type RunJson,
	rpc,
	SCRIPTED,
	sandbox,
	tmuxPi,
	waitFor,
} from "../support/index.js";

/** The lines of the screen from the dashboard's tab bar down: what the dashboard drew. */
const dashboard = (screen: string) => screen.slice(screen.search(/^.*1 runs.*6 metrics/m));

test("/team-dashboard on a recorded run: every pane shows it, a resize keeps the layout, esc closes", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	const recorded = await cli(["run", "fast-fix", "fix the bug", "--model", SCRIPTED, "--json"], box);
	assert.equal(recorded.code, 0, recorded.stderr);
	const { runId } = JSON.parse(recorded.stdout) as RunJson;
	const pi = await tmuxPi(t, box, { x: 120, y: 40 });
	pi.keys("/team-dashboard", "Enter");
	const runs = dashboard(await pi.until("the runs pane", (s) => /\[1 runs\]/.test(s)));
	assert.match(runs, new RegExp(`› ✓ ${runId}  succeeded +fast-fix +3/3 .* fix the bug`));
	assert.match(runs, new RegExp(`^pi-crew fast-fix · ${runId} · succeeded 3/3`, "m"), "the newest run is open");

	/** A pane once it shows what is expected (a task's files load after its pane opens); else what it does show. */
	const pane = async (key: string, title: string, ...expected: RegExp[]) => {
		pi.keys(key);
		const ready = (s: string) => s.includes(`[${key} ${title}]`) && expected.every((e) => e.test(dashboard(s)));
		await pi.until(`pane ${key} ${title}`, ready, 15_000).catch(() => undefined);
		const shown = dashboard(pi.screen());
		for (const e of expected) assert.match(shown, e, `pane ${key} ${title}`);
	};
	await pane("2", "graph", /^› ✓ explore +succeeded/m, /^ {4}✓ fix +succeeded/m, /^ {6}✓ verify +succeeded/m);
	await pane(
		"3",
		"task",
		/^explore · explorer \(agent explorer\) · succeeded/m,
		/── result ─+\nExplored the repository for: fix the bug/,
		/── transcript, attempt 1 ─+/,
		/^→ ls \.$/m,
	);
	await pane(
		"4",
		"events",
		/run\.created/,
		/task\.succeeded +verify/,
		/^› +\d+ [\d:.]+ run\.finished +status=succeeded/m,
	);
	await pane("5", "dead-letter", /no dead-lettered or conflicted tasks, no alerts/);
	await pane("6", "metrics", /^ {2}succeeded +3 █+$/m, /^ {2}task explorer +n=1 /m, /^ {2}cache_write +[\d.]+k █+$/m);

	// Narrower and shorter: the same pane drawn again over the whole 70 × 24 screen, the tab bar on top, the help last.
	pi.resize(70, 24);
	const resized = (
		await pi.until("the dashboard drawn at 70 columns", (s) =>
			s.split("\n").some((l) => /^── durations ─+$/.test(l) && l.length === 70),
		)
	).split("\n");
	assert.equal(resized[0], "1 runs 2 graph 3 task 4 events 5 dead-letter [6 metrics]");
	assert.match(resized[1] ?? "", new RegExp(`^pi-crew fast-fix · ${runId} · succeeded 3/3 · .*…$`));
	assert.equal(resized[23], "jk PgUp PgDn g G scroll  esc back");

	pi.keys("Escape");
	await pi.until("back to the runs", (s) => /\[1 runs\]/.test(s));
	pi.keys("Escape");
	await pi.until("the dashboard closed", (s) => !/1 runs.*6 metrics/.test(s));

	pi.keys("/team-result fix", "Enter");
	assert.match(
		await pi.until("the result viewer", (s) => s.includes("result of fix")),
		new RegExp(`result of fix · run ${runId} · succeeded\\nExecuted the plan for: fix the bug`),
	);
	pi.keys("q");
	pi.keys("/team-transcript verify", "Enter");
	await pi.until("the transcript viewer", (s) => s.includes("transcript of verify"));
	// Below the prompt (the goal, the task and the fenced result of the task it depends on): the worker's tool call.
	pi.keys("G");
	await pi.until("the transcript's tool call", (s) => /^→ bash git status --short/m.test(s));
});

test("cancel from the dashboard stops a running run", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	// The first task waits for a file nobody writes: the run stays running until it is cancelled.
	const scenario = await box.write(
		"../scenario.yaml",
		`default:\n  - waitFor: ${join(box.dir, "never")}\n  - say: done\n`,
	);
	const started = await cli(
		["run", "fast-fix", "wait", "--model", SCRIPTED, "--scenario", scenario, "--background", "--json"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	const { runId } = JSON.parse(started.stdout) as RunJson;
	const pi = await tmuxPi(t, box, { x: 120, y: 40 });
	pi.keys(`/team-dashboard ${runId}`, "Enter");
	await pi.until("explore running in the graph", (s) => /^› ▶ explore +running/m.test(dashboard(s)));
	pi.keys("c");
	await pi
		.until("the confirmation", (s) => s.includes(`cancel run ${runId}? y/n`), 15_000)
		.catch((err) => {
			throw new Error(`${err.message}; the screen:\n${pi.screen()}`);
		});
	pi.keys("y");
	// The outcome in the status line, and the run's state as its log now reads.
	const header = new RegExp(`^pi-crew fast-fix · ${runId} · cancelled`, "m");
	await pi.until("the outcome", (s) => s.includes(`run ${runId} cancelled`) && header.test(dashboard(s)), 30_000);
	const status = JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as RunJson;
	assert.equal(status.status, "cancelled");
	await waitFor("the workers to stop", async () => ((await processesOfRun(runId)).length === 0 ? true : undefined));
});

test("without pi's terminal UI (RPC) the commands answer with text: the board, the result, the transcript", async () => {
	const box = await sandbox();
	const recorded = await cli(["run", "fast-fix", "fix the bug", "--model", SCRIPTED, "--json"], box);
	const { runId } = JSON.parse(recorded.stdout) as RunJson;
	const said = async (command: string) => {
		const ui = await rpc(box, command, (r) => r.some((x) => x.method === "notify"));
		return ui.find((x) => x.method === "notify")?.message ?? "";
	};
	assert.match(
		await said("/team-dashboard"),
		new RegExp(`^pi-crew fast-fix · ${runId} · succeeded 3/3 .*\\n {2}✓ explore `),
	);
	assert.equal(
		await said("/team-result fix"),
		`result of fix · run ${runId} · succeeded\n\nExecuted the plan for: fix the bug\n\nWorking tree:\n(no output)`,
	);
	assert.match(
		await said(`/team-transcript ${runId} verify`),
		/\*\*→ bash\*\* `git status --short 2>\/dev\/null \|\| ls`/,
	);
	assert.match(
		await said("/team-result nope"),
		/^pi-crew: run \S+ has no task "nope" \(its tasks: explore, fix, verify\)$/,
	);
});
