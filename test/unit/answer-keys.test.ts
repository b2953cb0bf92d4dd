/**
 * A task that waits for a person, in the views: its row and hint on the live board, its question in the task pane,
 * the dashboard's `a` key typing the answer in place, and the approval view's keys (drop, approve, reject).
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadTui } from "../../src/host.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import { loadRun, runPaths } from "../../src/store/run-store.js";
import { renderBoard } from "../../src/view/board.js";
import { Dashboard, type DashboardActions } from "../../src/view/dashboard.js";
import { textKit } from "../../src/view/text.js";
import { dashboardRuns, LIVE_RUN, NOW } from "../support/dashboard-run.js";
import { tempDir } from "../support/index.js";

const kit = textKit(await loadTui());

/** The fixture's live run with its running task `test` waiting: `event` and its data appended to its log. */
async function waitingRun(type: "task.asked" | "task.awaiting_approval", data: object) {
	const repo = await tempDir("pi-crew-answer-");
	await mkdir(join(repo, ".git"));
	const runs = await dashboardRuns(repo);
	after(() => runs.release());
	const paths = runPaths(repo, LIVE_RUN);
	await writeFile(join(paths.dir, "draft.md"), "# The plan\n\nlook first\n");
	const log = await EventLogWriter.resume(paths.events, LIVE_RUN, { now: () => new Date(NOW - 5000) });
	await log.append(type, data as never, "test");
	await log.close();
	const asked: string[] = [];
	const actions: DashboardActions = {
		cancel: async () => "",
		resume: async () => "",
		requeue: async () => "",
		steer: async () => "",
		async respond(id, task, answer) {
			asked.push(`respond ${id} ${task} ${answer}`);
			return `answered ${task}: ${answer}`;
		},
		async approve(id, task, verdict) {
			asked.push(`approve ${id} ${task} ${JSON.stringify(verdict)}`);
			return `approved ${task}`;
		},
	};
	const d = await Dashboard.open({ repo, kit, actions, onChange: () => undefined, now: () => NOW }, LIVE_RUN);
	await d.refresh();
	const press = async (...keys: string[]) => {
		for (const key of keys) {
			d.handleKey(key);
			await d.refresh();
		}
		await new Promise((resolve) => setImmediate(resolve));
	};
	const screen = (width = 100, height = 30) => d.render(width, height).map((l) => l.trimEnd());
	return { repo, d, press, screen, asked };
}

test("a question: its board row and hint, its task pane, and the dashboard's a key typing the answer", async () => {
	const { repo, press, screen, asked } = await waitingRun("task.asked", {
		id: "q1",
		text: "Keep the v1 or the v2 API?",
		choices: ["v1", "v2"],
	});
	const board = renderBoard(await loadRun(repo, LIVE_RUN), { now: NOW, width: 120, compact: true }).map((l) => l.text);
	const at = board.findIndex((l) => l.includes("? test"));
	assert.match(board[at] ?? "", /asks \(5\.0s\): Keep the v1 or the v2 API\? \[v1 \| v2\]$/);
	assert.equal(board[at + 1], `      answer: /team-respond ${LIVE_RUN} test <answer>`);
	await press("j", "j", "j", "j"); // test, waiting
	assert.match(screen().join("\n"), /› +\? test +waiting/);
	await press("a");
	assert.equal(screen().at(-2), "answer test (one of: v1 | v2): ▏ (enter send · esc cancel)");
	await press("v", "2", "enter");
	assert.deepEqual(asked, [`respond ${LIVE_RUN} test v2`]);
	assert.equal(screen().at(-2), "answered test: v2");
	await press("enter");
	const pane = screen(100, 60).join("\n");
	assert.match(pane, /── question ─+\nKeep the v1 or the v2 API\?\nchoices: v1 \| v2\npress a to type the answer/);
});

test("an answer to approve: the dashboard's a key opens the approval view; drop, approve, and reject with feedback", async () => {
	const { press, screen, asked } = await waitingRun("task.awaiting_approval", {
		id: "p1",
		round: 1,
		resultPath: "draft.md",
		plan: [
			{ id: "look", role: "explorer", task: "look first", dependsOn: [] },
			{ id: "docs", role: "writer", task: "write docs", dependsOn: ["look"] },
		],
	});
	await press("j", "j", "j", "j", "a");
	const view = screen().join("\n");
	assert.match(view, new RegExp(`^pi-crew approval · run ${LIVE_RUN} · task test · round 1`));
	assert.match(
		view,
		/planned tasks: 2 of 2 to run[^\n]*\n› \[x\] run {2}look \(explorer\): look first\n {2}\[x\] run {2}docs \(writer\) after look: write docs/,
	);
	assert.match(view, /the answer to approve \(task test\)[^\n]*\nThe plan/);
	await press("j", "space", "a");
	assert.match(screen().join("\n"), /planned tasks: 1 of 2 to run/);
	await press("r", ..."look again".split(""), "enter");
	assert.deepEqual(asked, [
		`approve ${LIVE_RUN} test {"drop":["docs"]}`,
		`approve ${LIVE_RUN} test {"reject":"look again"}`,
	]);
	await press("escape");
	assert.match(screen()[0] ?? "", /\[2 graph\]/, "back on the dashboard");
});
