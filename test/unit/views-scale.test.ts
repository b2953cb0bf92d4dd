/**
 * The views on a 10 000-task run (~70 000 events): the live board, the dashboard and `status` stay short and correct,
 * and a refresh or a frame visits only what changed or what is on screen (counted, never timed).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { LiveRuns } from "../../src/extension/live.js";
import { Notifier } from "../../src/extension/notifier.js";
import { type Component, loadTui, type Theme, type TUI } from "../../src/host.js";
import { loadRun } from "../../src/store/run-store.js";
import { COMPACT_ROWS, renderBoard } from "../../src/view/board.js";
import { Dashboard } from "../../src/view/dashboard.js";
import { SUMMED_UP_SHOWN } from "../../src/view/render.js";
import { textKit } from "../../src/view/text.js";
import { cli, type RunJson, sandbox } from "../support/index.js";
import { hugeRun, largeVisits } from "../support/views.js";

const RUN = "20261207-120000-0a0b0c";
const NOW = Date.now();
const box = await sandbox();
// Signed and marked under the sandbox's crew home: the CLI processes of the status test verify it.
process.env.PI_CREW_HOME = box.env.PI_CREW_HOME;
const run = await hugeRun(box.repo, RUN, 10_000);
after(() => run.release());

test("the live board of a 10 000-task run: at most 12 task rows and its counts; a refresh and a frame visit no task", async () => {
	const { shape } = run;
	let widget: ((tui: TUI, theme: Theme) => Component) | undefined;
	const footer: (string | undefined)[] = [];
	const ui = {
		setWidget: (_key: string, content: unknown) => {
			if (typeof content === "function") widget = content as typeof widget;
		},
		setStatus: (_key: string, text: string | undefined) => footer.push(text),
	};
	const live = new LiveRuns(box.repo, ui, new Notifier(() => undefined), true, () => NOW);
	await live.tick();
	const board = widget?.(
		{ requestRender: () => undefined } as unknown as TUI,
		{
			fg: (_tone: string, text: string) => text,
		} as unknown as Theme,
	);
	assert.ok(board, "the run is on the board");
	const lines = board.render(120);
	assert.ok(lines.length <= COMPACT_ROWS + 2, `${lines.length} lines`);
	assert.match(lines[0] ?? "", new RegExp(`· running ${shape.succeeded}/${shape.tasks} · ${shape.failed} failed ·`));
	assert.equal(lines.filter((l) => / {2}▶ t\d+ /.test(l)).length, COMPACT_ROWS, "the running tasks fill the rows");
	assert.equal(
		lines.at(-1)?.trim(),
		`${shape.running - COMPACT_ROWS} more running · ${shape.failed} more failed · ${shape.succeeded} done · ${shape.pending} waiting`,
	);
	assert.equal(footer.at(-1), `crew: 1 run · ${shape.running} working · ${shape.succeeded}/${shape.tasks} done`);

	// The board kept as the log is folded is the board drawn afresh from the whole log.
	const fresh = renderBoard(await loadRun(box.repo, RUN), { now: NOW, width: 120, compact: true });
	assert.deepEqual(
		lines,
		fresh.map((l) => l.text),
	);

	await run.more(10);
	const visits = await largeVisits(async () => {
		await live.tick();
		board.render(120);
	});
	assert.equal(visits, 0, "a refresh folds the 10 new events; the frame reads the tasks it shows");
	live.stop();
});

test("the dashboard on a 10 000-task run: its graph, events, alerts and head visit no task or event beyond the new ones", async () => {
	const act = async () => "";
	const d = await Dashboard.open(
		{
			repo: box.repo,
			kit: textKit(await loadTui()),
			actions: { cancel: act, resume: act, requeue: act, steer: act, respond: act, approve: act },
			onChange: () => undefined,
			now: () => NOW,
		},
		RUN,
	);
	for (const key of ["2", "4", "5"]) {
		d.handleKey(key);
		await d.refresh();
		const first = d.render(120, 40);
		assert.match(
			first[1] ?? "",
			new RegExp(`running ${run.shape.succeeded}/${run.shape.tasks} · ${run.shape.failed} failed`),
		);
		await run.more(10);
		const visits = await largeVisits(async () => {
			await d.refresh();
			d.render(120, 40);
		});
		assert.equal(visits, 0, `pane ${key}: only the rows on screen are made`);
	}
});

test("status of a 10 000-task run is summed up: its counts, the first waiting, running and failed tasks; --json has every task", async () => {
	const { shape } = run;
	const text = await cli(["status", RUN], box);
	assert.equal(text.code, 0, text.stderr);
	const lines = text.stdout.trimEnd().split("\n");
	assert.ok(lines.length <= 3 * SUMMED_UP_SHOWN + 10, `${lines.length} lines`);
	assert.ok(
		lines.includes(
			`  ${shape.tasks} tasks: ${shape.running} running · ${shape.failed} failed · ${shape.pending} pending · ${shape.succeeded} succeeded (every task: pi-crew status ${RUN} --json)`,
		),
		lines.slice(0, 3).join("\n"),
	);
	assert.ok(lines.includes(`  … ${shape.running - SUMMED_UP_SHOWN} more running`));
	assert.ok(lines.includes(`  … ${shape.failed - SUMMED_UP_SHOWN} more failed`));
	assert.equal(
		lines.filter((l) => / model error: overloaded$/.test(l)).length,
		SUMMED_UP_SHOWN,
		"each failed one says why",
	);

	const json = JSON.parse((await cli(["status", RUN, "--json"], box)).stdout) as RunJson;
	assert.equal(json.tasks.length, shape.tasks);
	const count = (s: string) => json.tasks.filter((t) => t.status === s).length;
	assert.deepEqual(
		[count("succeeded"), count("failed"), count("running"), count("pending")],
		[shape.succeeded, shape.failed, shape.running, shape.pending],
	);
});
