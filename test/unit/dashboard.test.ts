/** The dashboard and the viewers rendered to strings at fixed widths, and driven by keys. */
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadTui } from "../../src/host.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import { runPaths } from "../../src/store/run-store.js";
import { Dashboard, type DashboardActions } from "../../src/view/dashboard.js";
import { textKit } from "../../src/view/text.js";
import { transcriptBlocks } from "../../src/view/transcript.js";
import { resultSource, transcriptSource, Viewer } from "../../src/view/viewer.js";
import { DONE_RUN, dashboardRuns, LIVE_RUN, NOW } from "../support/dashboard-run.js";
import { ROOT, tempDir } from "../support/index.js";

const tui = await loadTui();
const kit = textKit(tui);

async function repoWithRuns(): Promise<string> {
	const repo = await tempDir("pi-crew-dash-");
	await mkdir(join(repo, ".git"));
	const runs = await dashboardRuns(repo);
	after(() => runs.release());
	return repo;
}

/** A dashboard on the fixture's runs, at a fixed "now", recording what its action keys asked for. */
async function dashboard(runId?: string) {
	const repo = await repoWithRuns();
	const asked: string[] = [];
	const actions: DashboardActions = {
		async cancel(id) {
			asked.push(`cancel ${id}`);
			return `run ${id} cancelled`;
		},
		async resume(id) {
			asked.push(`resume ${id}`);
			return `run ${id} resumed`;
		},
		async requeue(id, task) {
			asked.push(`requeue ${id} ${task}`);
			return `task ${task} requeued`;
		},
		async steer(id, task, message) {
			asked.push(`steer ${id} ${task} ${message}`);
			return `steer message delivered to ${task}`;
		},
		async respond(id, task, answer) {
			asked.push(`respond ${id} ${task} ${answer}`);
			return `answered ${task}: ${answer}`;
		},
		async approve(id, task, verdict) {
			asked.push(`approve ${id} ${task} ${JSON.stringify(verdict)}`);
			return `approved ${task}`;
		},
	};
	const d = await Dashboard.open({ repo, kit, actions, onChange: () => undefined, now: () => NOW }, runId);
	await d.refresh();
	/** Keys pressed one by one, each followed by the refresh it starts (a run or a task opening). */
	const press = async (...keys: string[]) => {
		const outcomes: (string | undefined)[] = [];
		for (const key of keys) {
			outcomes.push(d.handleKey(key));
			await d.refresh();
		}
		return outcomes;
	};
	const screen = (width = 100, height = 30) => d.render(width, height).map((l) => l.trimEnd());
	return { d, repo, asked, press, screen };
}

const body = (lines: string[]) => lines.slice(2, -2).filter(Boolean);

test("every pane fills the height and fits 60, 100 and 200 columns, wide characters included", async () => {
	const { press, d } = await dashboard();
	for (const key of ["1", "2", "3", "4", "5", "6"]) {
		await press(key);
		for (const width of [60, 100, 200]) {
			const lines = d.render(width, 24);
			assert.equal(lines.length, 24, `pane ${key} at ${width}`);
			for (const line of lines)
				assert.ok(tui.visibleWidth(line) <= width, `pane ${key} at ${width}: ${JSON.stringify(line)}`);
		}
	}
	await press("1", "/", ..."日本語のゴール".split(""), "enter");
	for (const line of d.render(60, 10)) assert.ok(tui.visibleWidth(line) <= 60);
});

test("1 runs: newest first, filtered by status or anything else on the row", async () => {
	const { press, screen } = await dashboard();
	const rows = body(screen());
	assert.match(
		rows[0] ?? "",
		new RegExp(`^› ▶ ${LIVE_RUN}  running +review +2/5 +30\\.0s +4\\.9k tok  tighten the retry`),
	);
	assert.match(
		rows[1] ?? "",
		new RegExp(`^  ✓ ${DONE_RUN}  succeeded +fast-fix +2/2 +40\\.0s +3\\.0k tok  fix the failing`),
	);
	await press("/", "s", "u", "c", "enter");
	assert.deepEqual(
		body(screen()).map((l) => l.slice(4, 26)),
		[DONE_RUN],
		"only the succeeded run",
	);
	assert.equal(screen().at(-2), 'filter "suc"');
	await press("/", "escape");
	assert.equal(body(screen()).length, 2, "esc clears the filter");
});

test("2 graph: the DAG as a tree with status, attempts, time, tokens and what each task is doing", async () => {
	const { screen } = await dashboard(LIVE_RUN);
	const lines = screen(120);
	assert.equal(lines[0], "1 runs [2 graph] 3 task 4 events 5 dead-letter 6 metrics");
	assert.match(
		lines[1] ?? "",
		/^pi-crew review · 20261130-090000-c0ffee · running 2\/5 · 1 failed · 30\.0s · 4\.9k tok · \$0\.02$/,
	);
	const rows = body(lines);
	assert.match(rows[0] ?? "", /^› ✓ explore +succeeded +3\.3s +2\.5k tok$/);
	assert.match(rows[1] ?? "", /^ {4}✓ plan +succeeded +3\.9s +2\.4k tok$/);
	// Its two attempts ran 2.4 s and 3 s; the 1 s wait between them is no work.
	assert.match(
		rows[2] ?? "",
		/^ {6}✗ implement +failed +2 att +5\.4s +model error: overloaded \(attempt 2, retries exhausted\)$/,
	);
	// Each task sits under its first dependency: report (after implement and test) under implement.
	assert.match(rows[3] ?? "", /^ {8}· report +pending +- +waiting for implement, test \(also after test\)$/);
	assert.match(
		rows[4] ?? "",
		/^ {6}▶ test +running +22\.4s +bash npm test -- test\/http\.test\.ts \(18\.0s\) · heartbeat stale$/,
	);
});

test("3 task: state, attempts and usage, the result as markdown, the transcript's tool calls, the prompt", async () => {
	const { press, screen } = await dashboard(LIVE_RUN);
	await press("enter");
	const text = screen(100, 80).join("\n");
	assert.match(text, /\[3 task\]/);
	assert.match(text, /^explore · explorer \(agent explorer\) · succeeded · 3\.3s$/m);
	assert.match(text, /^after: nothing · before: plan$/m);
	assert.match(text, /^attempt 1: 09:00:00 → 09:00:03 \(3\.3s\)$/m);
	assert.match(text, /^usage: 2\.5k tokens \(input 2\.1k, output 400, .*\) · \$0\.0123 · 1 tool call\(s\)$/m);
	assert.match(text, /── result ─+\nFindings\n\n- src\/http\.ts retries every error, 5 times, without backoff\./);
	assert.match(text, /── transcript, attempt 1 ─+/);
	assert.match(text, /^→ read src\/http\.ts$/m);
	assert.match(text, /^← read$/m);
	assert.match(text, /for \(let i = 0; i < 5; i\+\+\) \{/);
	assert.match(text, /── prompt ─+\nGoal\n\ntighten the retry policy/);
});

test("long content scrolls: j/k, PgUp/PgDn, g/G move through the task pane, and the status line says where", async () => {
	const { press, screen } = await dashboard(LIVE_RUN);
	await press("enter");
	const first = screen(100, 12);
	assert.match(first.at(-2) ?? "", /^lines 1–8 of \d+$/);
	await press("j", "j");
	assert.match(screen(100, 12).at(-2) ?? "", /^lines 3–10 of/);
	await press("G");
	const end = screen(100, 12);
	const total = Number(/of (\d+)$/.exec(end.at(-2) ?? "")?.[1]);
	assert.match(end.at(-2) ?? "", new RegExp(`^lines ${total - 7}–${total} of ${total}$`));
	assert.match(end.slice(2, -2).join("\n"), /Find where requests are retried\./, "the prompt is last");
	await press("pageUp", "g");
	assert.deepEqual(screen(100, 12), first);
});

test("4 events: follows the newest event; k pauses, G follows again; / filters by type and task", async () => {
	const { press, screen } = await dashboard(LIVE_RUN);
	await press("4");
	let lines = screen(120);
	assert.match(body(lines).at(-1) ?? "", /^› +27 09:00:25\.000 task\.heartbeat +test +level=stale silentMs=13000$/);
	assert.equal(lines.at(-2), "following");
	await press("k");
	assert.match(body(screen(120)).at(-2) ?? "", /^› +26 /);
	assert.equal(screen(120).at(-2), "paused (f or G follows)");
	await press("G");
	assert.equal(screen(120).at(-2), "following");
	await press("/", ..."heartbeat".split(""), "enter");
	lines = screen(120);
	assert.deepEqual(
		body(lines).map((l) => l.slice(0, 45).trim()),
		["26 09:00:20.000 task.heartbeat    test", "›    27 09:00:25.000 task.heartbeat    test"],
	);
	await press("/", "escape", "/", ..."implement".split(""), "enter");
	assert.ok(body(screen(120)).every((l) => l.includes("implement")));
});

test("5 dead-letter and alerts: the dead-lettered task, the silent one, the alert; enter opens the task", async () => {
	const { press, screen } = await dashboard(LIVE_RUN);
	await press("5");
	assert.deepEqual(body(screen(120)), [
		"› ✉ implement        max-retries     2 attempt(s)  model error: overloaded (attempt 2, retries exhausted)",
		"  ♥ test             heartbeat stale",
		"  ⚠ 09:00:14 deadletter-rate: 4 tasks dead-lettered in this repository within the last hour",
	]);
	await press("enter");
	assert.match(screen()[2] ?? "", /^implement · executor \(agent executor\) · failed · 5\.4s$/);
	assert.match(screen(100, 40).join("\n"), /dead-lettered \(max-retries\): requeue with u/);
});

test("a task whose merge conflicted needs a person: it is listed in pane 5, and its pane says where the work is", async () => {
	const { press, screen, repo } = await dashboard(LIVE_RUN);
	const log = await EventLogWriter.resume(runPaths(repo, LIVE_RUN).events, LIVE_RUN);
	await log.append(
		"task.conflicted",
		{ files: ["src/http.ts"], branch: "crew/test", worktree: "/tmp/wt-test" },
		"test",
	);
	await log.close();
	await press("5");
	assert.match(body(screen(120))[1] ?? "", /^ {2}⚑ test +merge conflict in src\/http\.ts: resolve on crew\/test$/);
	await press("j", "enter");
	assert.match(
		screen(200, 40).join("\n"),
		/its merge conflicts in src\/http\.ts: resolve on crew\/test \(worktree \/tmp\/wt-test\), commit, then resume with r/,
	);
});

test("6 metrics: endings, durations p50/p95, tokens as bars, heartbeat health, activity", async () => {
	const { press, screen } = await dashboard(LIVE_RUN);
	await press("6");
	const text = screen(100, 40).join("\n");
	assert.match(text, /^ {2}succeeded +2 █+$/m);
	assert.match(text, /^ {2}failed +1 █+$/m);
	assert.match(text, /now: 2 succeeded · 1 failed · 1 running · 1 pending/);
	// Its one 3.3 s task is every quantile of it (a bucket estimate said 3.8 s).
	assert.match(text, /^ {2}task explorer +n=1 +p50 +3\.3s +p95 +3\.3s$/m);
	assert.match(text, /^ {2}input +3\.9k █+$/m);
	assert.match(text, /^ {2}output +1\.0k █+$/m);
	assert.match(text, /^ {2}healthy +0$/m);
	assert.match(text, /^ {2}warn +1 █+$/m);
	assert.match(text, /^ {2}stale +1 █+$/m);
	assert.match(text, /^ {2}test +stale$/m);
	assert.match(text, /dead-lettered: 1 max-retries/);
	assert.match(text, /27 events; one column is 313ms, the highest \d+\n {2}[▁▂▃▄▅▆▇█ ]+$/m);
});

test("keys: number keys switch panes, enter opens, esc goes back and closes from the top", async () => {
	const { press, screen } = await dashboard();
	assert.match(screen()[0] ?? "", /^\[1 runs\]/);
	await press("j", "enter");
	assert.match(screen()[1] ?? "", new RegExp(`^pi-crew fast-fix · ${DONE_RUN} · succeeded 2/2`));
	assert.match(body(screen())[0] ?? "", /^› ✓ fix/);
	await press("down", "enter");
	assert.match(screen()[2] ?? "", /^verify · verifier/);
	assert.deepEqual(await press("escape"), [undefined]);
	assert.match(screen()[0] ?? "", /\[2 graph\]/);
	assert.match(body(screen())[1] ?? "", /^› {3}✓ verify/, "the graph keeps its selection");
	await press("4");
	assert.deepEqual(await press("escape"), [undefined]);
	assert.match(screen()[0] ?? "", /\[1 runs\]/);
	assert.deepEqual(await press("escape"), ["close"]);
	assert.deepEqual(await press("q"), ["close"]);
});

test("cancel, resume and requeue act on the selection only after y", async () => {
	const { press, screen, asked } = await dashboard(LIVE_RUN);
	await press("c");
	assert.equal(screen().at(-2), `cancel run ${LIVE_RUN}? y/n`);
	await press("n");
	assert.equal(screen().at(-2), "not done");
	await press("j", "j", "u");
	assert.equal(screen().at(-2), `requeue task implement of run ${LIVE_RUN} (runs in the background)? y/n`);
	await press("y");
	await press("c", "y");
	await press("1", "j", "r", "y");
	await new Promise((resolve) => setImmediate(resolve));
	assert.deepEqual(asked, [`requeue ${LIVE_RUN} implement`, `cancel ${LIVE_RUN}`, `resume ${DONE_RUN}`]);
	assert.equal(screen().at(-2), `run ${DONE_RUN} resumed`);
	await press("4", "u");
	assert.equal(screen().at(-2), "select a failed task to requeue (panes 2, 3 and 5)");
});

test("s steers the selected running task with the message typed; its pane shows the conversation", async () => {
	const { d, press, screen, asked, repo } = await dashboard(LIVE_RUN);
	await press("s");
	assert.equal(screen().at(-2), "select a running task to steer (panes 2 and 3)");
	await press("j", "j", "j", "s"); // report, pending
	assert.equal(screen().at(-2), "select a running task to steer (panes 2 and 3)");
	await press("j", "s"); // test, running
	await press(..."use".split(""), "space", ..."v2x".split(""), "backspace", "enter");
	await new Promise((resolve) => setImmediate(resolve));
	assert.deepEqual(asked, [`steer ${LIVE_RUN} test use v2`]);
	assert.equal(screen().at(-2), "steer message delivered to test");
	assert.match(screen().at(-1) ?? "", /s steer/);
	await press("s", "escape");
	assert.equal(screen().at(-2), "not sent");
	const log = await EventLogWriter.resume(runPaths(repo, LIVE_RUN).events, LIVE_RUN);
	await log.append("task.message", { id: "m1", from: "pi-crew (pid 7)", text: "use v2", mode: "steer" }, "test");
	await log.append("task.steered", { delivered: true, chars: 6, message: "m1", from: "pi-crew (pid 7)" }, "test");
	await log.close();
	await press("enter");
	await d.refresh();
	assert.match(
		screen(100, 40).join("\n"),
		/── conversation ─+\n\d\d:\d\d:\d\d steer from pi-crew \(pid 7\) \(delivered\): use v2/,
	);
});

test("/team-result and /team-transcript: a task's result or transcript as scrollable markdown", async () => {
	const repo = await repoWithRuns();
	const result = new Viewer(await resultSource(repo, `${LIVE_RUN} explore`), kit);
	const shown = result.render(80, 8).map((l) => l.trimEnd());
	assert.equal(shown[0], `result of explore · run ${LIVE_RUN} · succeeded`);
	assert.deepEqual(shown.slice(1, 4), ["Findings", "", "- src/http.ts retries every error, 5 times, without backoff."]);
	assert.match(shown.at(-1) ?? "", /^lines 1–\d+ of \d+ · ↑↓ jk PgUp PgDn g G scroll · esc close$/);
	assert.equal(result.handleKey("escape"), "close");
	// One word that names no run is a task of the latest run; no word: the latest run's last task to start.
	const transcript = new Viewer(await transcriptSource(repo, "explore"), kit);
	assert.match(transcript.render(80, 30).join("\n"), /→ read src\/http\.ts/);
	await assert.rejects(
		resultSource(repo, "implement"),
		/task implement of run \S+ is failed \(model error: overloaded .*\): no result; see \/team-transcript/,
	);
	await assert.rejects(
		resultSource(repo, `${LIVE_RUN} nope`),
		/has no task "nope" \(its tasks: explore, plan, implement, test, report\)/,
	);
	await assert.rejects(transcriptSource(repo, ""), /task test of run \S+ has no transcript/);
});

test("transcript entries: tool output cut for display (the file keeps it), fences that the output cannot close", () => {
	const long = Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n");
	const [block] = transcriptBlocks({
		type: "message_end",
		message: { role: "toolResult", toolName: "bash", content: [{ type: "text", text: `\`\`\`\n${long}` }] },
	});
	assert.match(block ?? "", /^\*\*← bash\*\*\n\n````\n```\nline 0\n/);
	assert.match(block ?? "", /line 18\n````\n\n_… 11 more lines in transcript\.jsonl_$/);
	assert.deepEqual(transcriptBlocks({ type: "message_update" }), []);
	assert.deepEqual(
		transcriptBlocks({
			type: "message_end",
			message: {
				role: "assistant",
				content: [{ type: "toolCall", name: "edit", arguments: { path: "a", edits: [] } }],
			},
		}),
		['**→ edit**\n\n```\n{\n  "path": "a",\n  "edits": []\n}\n```'],
	);
});

/**
 * docs/ui.md holds a text capture of each view, checked here so it cannot drift from what the code draws;
 * `UPDATE_UI_DOCS=1` writes them afresh. Lines are shown without trailing spaces.
 */
test("the text captures in docs/ui.md are what the views draw", async () => {
	const { press, screen, repo } = await dashboard();
	const captures: Record<string, string[]> = {};
	captures.runs = screen(100, 8);
	for (const [name, keys] of [
		["graph", ["enter"]],
		["task", ["enter"]],
		["events", ["4"]],
		["alerts", ["5"]],
		["metrics", ["6"]],
	] as const) {
		await press(...keys);
		captures[name] = screen(100, { graph: 10, task: 40, events: 14, alerts: 8, metrics: 30 }[name]);
	}
	captures.result = new Viewer(await resultSource(repo, `${LIVE_RUN} explore`), kit).render(100, 8);
	captures.transcript = new Viewer(await transcriptSource(repo, `${LIVE_RUN} explore`), kit).render(100, 19);
	const file = join(ROOT, "docs", "ui.md");
	let doc = await readFile(file, "utf8");
	for (const [name, lines] of Object.entries(captures)) {
		// Four backticks: the captures show markdown's own three-backtick fences.
		const block = new RegExp(`(<!-- capture: ${name} -->\\n\`{4}text\\n)[^]*?(\`{4})`);
		assert.match(doc, block, `docs/ui.md has a capture block for ${name}`);
		const text = lines.map((l) => `${l.trimEnd()}\n`).join("");
		doc = doc.replace(block, (_all, open: string, close: string) => `${open}${text}${close}`);
	}
	if (process.env.UPDATE_UI_DOCS === "1") await writeFile(file, doc);
	else assert.equal(await readFile(file, "utf8"), doc, "docs/ui.md is stale: run the unit tests with UPDATE_UI_DOCS=1");
});

test("the task pane shows the mailbox thread: what a task sent (to a task, to the lead) and what it was sent", async () => {
	const { d, press, screen, repo } = await dashboard(LIVE_RUN);
	const log = await EventLogWriter.resume(runPaths(repo, LIVE_RUN).events, LIVE_RUN);
	const text = "retries now back off: adjust the test";
	await log.append("task.message", { id: "m1", from: "task:test", text, mode: "message" }, "implement");
	await log.append("task.steered", { delivered: true, chars: 40, message: "m1", from: "task:test" }, "implement");
	await log.append("run.message", { from: "task:test", text: "the suite is green" });
	await log.close();
	await d.refresh();
	await press("j", "j", "j", "j", "enter"); // test
	const sender = screen(100, 40).join("\n");
	assert.match(
		sender,
		/── conversation ─+\n\d\d:\d\d:\d\d message to implement \(delivered\): retries now back off: adjust the test\n\d\d:\d\d:\d\d message to lead: the suite is green\n/,
	);
	await press("escape", "k", "k", "enter"); // implement
	assert.match(
		screen(100, 40).join("\n"),
		/── conversation ─+\n\d\d:\d\d:\d\d message from task:test \(delivered\): retries now back off: adjust the test\n/,
	);
});
