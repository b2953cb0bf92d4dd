/**
 * The live view of a pi session: every active run of this repository (started here, in the background, or from
 * another terminal) as a compact board above the editor and a one-line summary in the footer, plus the notifier.
 * Runs are found by their lease (a coordinator holds one while it works) and read with the tailing reader: each poll
 * costs what was appended since the last. Redrawn at most 4 times a second, so the board is never more than a
 * quarter of a second behind its log; it goes away a few seconds after the last run ends.
 */
import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { NoticeKind } from "../config/home.js";
import { foreignReason } from "../config/owner.js";
import type { Component, Theme, TUI } from "../host.js";
import { TERMINAL_RUN } from "../store/events.js";
import { RunTail, type RunView, runsDir } from "../store/run-store.js";
import { type BoardLine, renderBoard } from "../view/board.js";
import { TaskTally } from "../view/tally.js";
import type { Notifier } from "./notifier.js";
import type { Starter, Waker } from "./wake.js";

const POLL_MS = 250;
/** How often the runs directory is looked at for runs started elsewhere. */
const SCAN_MS = 1000;
/** How long a finished run stays on the board. */
const LINGER_MS = 5000;
const WIDGET = "pi-crew-live";
/** Width of the board where pi takes lines, not a component (RPC mode). */
const TEXT_WIDTH = 100;

export interface LiveUi {
	setWidget(key: string, content: string[] | ((tui: TUI, theme: Theme) => Component) | undefined): void;
	setStatus(key: string, text: string | undefined): void;
}

interface Watched {
	tail: RunTail;
	/** Its tasks counted as its log is folded: a frame and the footer never visit every task. */
	tally: TaskTally;
	view?: RunView;
	/** Events of this run are notified (a run found already going: only what is appended after the first read). */
	primed: boolean;
	/** Only events from this time on are notified (a resumed run's earlier life is old news). */
	since?: string;
	/** When this session saw the run end. */
	endedAt?: number;
	/** A background run this session started, and who started it: its end and its questions wake the session (wake.ts). */
	own?: Starter;
}

export class LiveRuns {
	private readonly runs = new Map<string, Watched>();
	/** Runs that ended (or whose coordinator died), by the lease's mtime then: a new lease means it runs again. */
	private readonly settled = new Map<string, number>();
	private timer: NodeJS.Timeout | undefined;
	private nextScan = 0;
	private inflight: Promise<void> | undefined;
	private tui: TUI | undefined;
	private shown = false;
	/** What was last sent as lines and status (RPC): unchanged frames are not sent again. */
	private sent = "";

	constructor(
		private readonly repo: string,
		private readonly ui: LiveUi,
		private readonly notifier: Notifier,
		/** Whether pi takes a component (the TUI) or only lines (RPC). */
		private readonly components: boolean,
		private readonly now: () => number = Date.now,
		private readonly waker?: Waker,
	) {}

	start(): void {
		this.timer = setInterval(() => void this.tick(), POLL_MS);
		this.timer.unref();
	}

	stop(): void {
		clearInterval(this.timer);
		this.waker?.stop();
		this.clear();
	}

	/**
	 * A run this session started (or resumed, `since` then): followed from its first event, so its end is notified
	 * even if it came before the next poll. `background`: it runs in the background, started by the session's agent
	 * or its user, who hear from it (see wake.ts).
	 */
	track(runId: string, since?: string, background?: Starter): void {
		const known = this.runs.get(runId);
		const own = background ?? known?.own;
		if (known?.primed && !since) {
			known.own = own;
			return;
		}
		this.settled.delete(runId);
		const tail = known?.tail ?? new RunTail(this.repo, runId);
		this.runs.set(runId, { tail, tally: known?.tally ?? new TaskTally(), primed: true, since, own });
		void this.tick();
	}

	/** One poll of every watched run, a scan for new ones when due, and a redraw; one at a time. Never throws. */
	tick(): Promise<void> {
		this.inflight ??= this.pollAll().finally(() => {
			this.inflight = undefined;
		});
		return this.inflight;
	}

	private async pollAll(): Promise<void> {
		if (this.now() >= this.nextScan) {
			this.nextScan = this.now() + SCAN_MS;
			await this.scan().catch(() => undefined);
		}
		for (const [id, w] of this.runs) await this.poll(id, w).catch(() => undefined);
		this.redraw();
	}

	private async scan(): Promise<void> {
		for (const id of await readdir(runsDir(this.repo)).catch(() => [] as string[])) {
			if (this.runs.has(id)) continue;
			const lease = join(runsDir(this.repo), id, "lease.json");
			if (!existsSync(lease)) continue;
			const mtime = statSync(lease, { throwIfNoEntry: false })?.mtimeMs;
			if (mtime === undefined || this.settled.get(id) === mtime) continue;
			try {
				this.runs.set(id, { tail: new RunTail(this.repo, id), tally: new TaskTally(), primed: false });
				this.settled.delete(id);
			} catch {
				this.settled.set(id, mtime); // not a run id: never a run of ours
			}
		}
	}

	private async poll(id: string, w: Watched): Promise<void> {
		const notify = w.primed;
		await w.tail.poll((e, state) => {
			w.tally.observe(e, state);
			if (notify && (!w.since || e.ts >= w.since)) this.notifier.onEvent(e, state);
		});
		const first = !w.primed;
		w.primed = true;
		const view = await w.tail.view((e, state) => w.tally.observe(e, state));
		// Only runs created here: a run that came with the repository (or an imported copy) is never shown as live.
		const foreign = first && (view.imported || (await foreignReason(view.state)) !== undefined);
		if (!foreign) w.view = view;
		if (!foreign && w.own) await this.waker?.observe(view, w.own, w.since);
		const over = foreign || TERMINAL_RUN.has(view.status) || view.status === "interrupted";
		if (!over) return;
		w.endedAt ??= this.now();
		if (!foreign && this.now() - w.endedAt < LINGER_MS) return;
		this.runs.delete(id);
		const mtime = statSync(w.tail.paths.lease, { throwIfNoEntry: false })?.mtimeMs;
		if (mtime !== undefined) this.settled.set(id, mtime);
	}

	/** The boards of the runs on show, one after the other, fitted to `width`. */
	lines(width: number): BoardLine[] {
		return this.boards().flatMap((view) => renderBoard(view, { now: this.now(), width, compact: true }));
	}

	/** The runs on show, each with the tally of its tasks. */
	private boards(): (RunView & { tally: TaskTally })[] {
		return [...this.runs.values()].flatMap((w) => (w.view ? [{ ...w.view, tally: w.tally }] : []));
	}

	private redraw(): void {
		const views = this.boards();
		if (views.length === 0) {
			this.clear();
			return;
		}
		const running = views.filter((v) => !TERMINAL_RUN.has(v.status) && v.status !== "interrupted");
		const sum = (count: (t: TaskTally) => number) => views.reduce((n, v) => n + count(v.tally), 0);
		const busy = sum((t) => t.count("running"));
		const done = sum((t) => t.count("succeeded"));
		const status =
			running.length > 0
				? `crew: ${running.length} run${running.length > 1 ? "s" : ""} · ${busy} working · ${done}/${sum((t) => t.total)} done`
				: undefined;
		if (!this.components) {
			const lines = this.lines(TEXT_WIDTH).map((l) => l.text);
			const frame = JSON.stringify([status, lines]);
			if (frame === this.sent) return;
			this.sent = frame;
			this.ui.setStatus(WIDGET, status);
			this.ui.setWidget(WIDGET, lines);
			this.shown = true;
			return;
		}
		this.ui.setStatus(WIDGET, status);
		if (!this.shown) {
			this.shown = true;
			this.ui.setWidget(WIDGET, (tui, theme) => {
				this.tui = tui;
				return {
					render: (width: number) => this.lines(width).map((l) => theme.fg(l.tone, l.text)),
					invalidate: () => undefined,
				};
			});
		} else this.tui?.requestRender();
	}

	private clear(): void {
		if (!this.shown) return;
		this.shown = false;
		this.sent = "";
		this.tui = undefined;
		this.ui.setWidget(WIDGET, undefined);
		this.ui.setStatus(WIDGET, undefined);
	}
}

/** The live view of a session, with the notifier the user's config asks for (a kind set to false is silenced). */
export async function startLive(
	repo: string,
	ui: LiveUi & { notify(message: string, level: "info" | "warning" | "error"): void },
	components: boolean,
	waker?: Waker,
): Promise<LiveRuns> {
	const { loadConfig } = await import("../config/config.js");
	const { Notifier } = await import("./notifier.js");
	const config = await loadConfig().catch(() => ({}) as Awaited<ReturnType<typeof loadConfig>>);
	const silenced = new Set(
		Object.entries(config.notifications ?? {})
			.filter(([, on]) => on === false)
			.map(([kind]) => kind as NoticeKind),
	);
	const live = new LiveRuns(
		repo,
		ui,
		new Notifier((text, severity) => ui.notify(text, severity), silenced),
		components,
		Date.now,
		waker,
	);
	live.start();
	return live;
}
