/**
 * The views on a 10 000-task run (~60 000 events): the dashboard's opening and each pane's frame, the live board in
 * pi (its first read, each refresh and each frame) and `pi-crew status` (the API call, the text, the --json, and the
 * whole process beside a bare `node -e 0`). Goals: a frame at most 16 ms, an opening at most 200 ms.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runJson, runStatus } from "../src/api/index.js";
import { LiveRuns } from "../src/extension/live.js";
import { Notifier } from "../src/extension/notifier.js";
import { type Component, loadTui, type Theme, type TUI } from "../src/host.js";
import { Dashboard } from "../src/view/dashboard.js";
import { renderRun } from "../src/view/render.js";
import { textKit } from "../src/view/text.js";
import { hugeRun } from "../test/support/views.js";
import { median } from "./support.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "pi-crew.js");
const RUN = "20261207-120000-0a0b0c";
const FRAME_MS = 16;
const OPEN_MS = 200;

type Sample = { ms: number; cpu: number };

/** Wall and CPU time of `work`: on a shared machine the wall time of the same work varies with the load. */
async function sample(work: () => Promise<unknown> | unknown): Promise<Sample> {
	const t0 = performance.now();
	const c0 = process.cpuUsage();
	await work();
	const c = process.cpuUsage(c0);
	return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

function row(what: string, samples: Sample[], goal: number | undefined): string {
	const ms = median(samples.map((s) => s.ms));
	const cpu = median(samples.map((s) => s.cpu));
	const worst = Math.max(...samples.map((s) => s.ms));
	const verdict = goal === undefined ? "" : `<= ${goal} ms: ${ms <= goal ? "met" : "not met"}`;
	return `| ${what} | ${ms.toFixed(ms < 10 ? 2 : 0)} ms (CPU ${cpu.toFixed(cpu < 10 ? 2 : 0)} ms) | ${worst.toFixed(worst < 10 ? 2 : 0)} ms | ${verdict} |`;
}

async function dashboardRows(repo: string, more: (n: number) => Promise<void>): Promise<string[]> {
	const kit = textKit(await loadTui());
	const act = async () => "";
	const options = {
		repo,
		kit,
		actions: { cancel: act, resume: act, requeue: act, steer: act, respond: act, approve: act },
		onChange: () => undefined,
	};
	const open = async () => (await Dashboard.open(options, RUN)).render(120, 40);
	await open(); // the JIT's first pass, once per pi session
	const opens: Sample[] = [];
	for (let i = 0; i < 3; i++) opens.push(await sample(open));
	const d = await Dashboard.open(options, RUN);
	const rows = [row("dashboard: open (read and fold the log, projections, first frame)", opens, OPEN_MS)];
	for (const [key, name] of [
		["1", "runs"],
		["2", "task graph"],
		["3", "task"],
		["4", "events (following)"],
		["5", "dead-letter and alerts"],
		["6", "metrics"],
	] as const) {
		d.handleKey(key);
		await d.refresh();
		d.render(120, 40);
		const frames: Sample[] = [];
		for (let i = 0; i < 10; i++) {
			await more(10);
			await d.refresh();
			frames.push(await sample(() => d.render(120, 40)));
		}
		rows.push(row(`dashboard: frame of pane ${key} ${name}, 10 new events`, frames, FRAME_MS));
	}
	return rows;
}

/** The live board in pi (a component, as the TUI takes it): its first poll, then each refresh and frame. */
async function boardRows(repo: string, more: (n: number) => Promise<void>): Promise<string[]> {
	let widget: ((tui: TUI, theme: Theme) => Component) | undefined;
	const ui = {
		setWidget: (_key: string, content: unknown) => {
			if (typeof content === "function") widget = content as typeof widget;
		},
		setStatus: () => undefined,
	};
	const live = new LiveRuns(repo, ui, new Notifier(() => undefined), true);
	const open = await sample(() => live.tick());
	const tui = { requestRender: () => undefined } as unknown as TUI;
	const theme = { fg: (_tone: string, text: string) => text } as unknown as Theme;
	const board = widget?.(tui, theme);
	if (!board) throw new Error("the live board did not show the run");
	const first = await sample(() => board.render(120));
	const refreshes: Sample[] = [];
	const frames: Sample[] = [];
	for (let i = 0; i < 20; i++) {
		await more(10);
		refreshes.push(await sample(() => live.tick()));
		frames.push(await sample(() => board.render(120)));
	}
	const lines = board.render(120).length;
	live.stop();
	return [
		row("board: first poll (read and fold the log, footer)", [open], OPEN_MS),
		row("board: first frame", [first], FRAME_MS),
		row("board: refresh after 10 new events (poll, fold, footer)", refreshes, FRAME_MS),
		row(`board: frame (${lines} lines)`, frames, FRAME_MS),
	];
}

/** `pi-crew status`: the API call the CLI makes, the text and the --json; the whole process beside `node -e 0`. */
async function statusRows(repo: string): Promise<string[]> {
	let view = await runStatus(repo, RUN);
	const reads: Sample[] = [];
	for (let i = 0; i < 3; i++)
		reads.push(
			await sample(async () => {
				view = await runStatus(repo, RUN);
			}),
		);
	let text = "";
	const texts: Sample[] = [];
	const jsons: Sample[] = [];
	for (let i = 0; i < 5; i++) {
		texts.push(
			await sample(() => {
				text = renderRun(view);
			}),
		);
		jsons.push(await sample(() => JSON.stringify(runJson(view))));
	}
	const proc = (args: string[]) => {
		const t0 = performance.now();
		const r = spawnSync(process.execPath, args, { cwd: repo, encoding: "utf8", maxBuffer: 1 << 28 });
		if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
		return { ms: performance.now() - t0, cpu: Number.NaN };
	};
	const bare: Sample[] = [];
	const whole: Sample[] = [];
	const json: Sample[] = [];
	for (let i = 0; i < 3; i++) {
		bare.push(proc(["-e", "0"]));
		whole.push(proc([CLI, "status", RUN]));
		json.push(proc([CLI, "status", RUN, "--json"]));
	}
	const over = (s: Sample[]) => median(s.map((x) => x.ms)) - median(bare.map((x) => x.ms));
	return [
		row("status: runStatus (read and fold the log)", reads, OPEN_MS),
		row(`status: the text (${text.split("\n").length} lines)`, texts, OPEN_MS),
		row("status: the --json", jsons, OPEN_MS),
		`| status: the whole \`pi-crew status\` process, less a bare \`node -e 0\` (${median(bare.map((x) => x.ms)).toFixed(0)} ms) | ${over(whole).toFixed(0)} ms | | |`,
		`| status: the whole \`pi-crew status --json\` process, less a bare \`node -e 0\` | ${over(json).toFixed(0)} ms | | |`,
	];
}

export async function views(): Promise<string[]> {
	const dir = await mkdtemp(join(tmpdir(), "pi-crew-bench-views-"));
	const repo = join(dir, "repo");
	await mkdir(join(repo, ".git"), { recursive: true });
	// The run's keys and creator mark in a home of the benchmark's own, for this process and the `status` ones.
	const home = process.env.PI_CREW_HOME;
	process.env.PI_CREW_HOME = join(dir, "crew");
	try {
		const run = await hugeRun(repo, RUN, 10_000);
		const rows = [
			...(await dashboardRows(repo, run.more)),
			...(await boardRows(repo, run.more)),
			...(await statusRows(repo)),
		];
		await run.release();
		return [
			`### Views on a run of ${run.shape.tasks} tasks (${run.events} events at the start)`,
			"",
			"Medians (3 opens, 10 or 20 frames); the dashboard at 120 × 40, the board at 120 columns.",
			"",
			"| measure | median | max | goal |",
			"|---|---|---|---|",
			...rows,
			"",
		];
	} finally {
		if (home === undefined) delete process.env.PI_CREW_HOME;
		else process.env.PI_CREW_HOME = home;
		await rm(dir, { recursive: true, force: true });
	}
}
