/**
 * The pi face of the dashboard, the approval view and the viewers (`/team-dashboard`, `/team-approve`, `/team-result`,
 * `/team-transcript`, `/team-diff`):
 * the view models of src/view/ in a `ctx.ui.custom` component, styled with pi's theme and refreshed from the logs at
 * most four times a second while shown. Without pi's terminal UI (RPC, print) the commands answer with text instead.
 */
import * as lifecycle from "../api/lifecycle.js";
import { type Component, type ExtensionContext, loadTui, type Theme, type TUI } from "../host.js";
import type { RunView } from "../store/run-store.js";
import { findRepo } from "../util/repo.js";
import { ApprovalView, type ApproveAction } from "../view/approval.js";
import { renderBoard } from "../view/board.js";
import { Dashboard, type DashboardActions } from "../view/dashboard.js";
import { diffSource } from "../view/diff.js";
import { RunProjection } from "../view/projection.js";
import { type Styles, type Tui, textKit } from "../view/text.js";
import { resultSource, transcriptSource, Viewer, type ViewerSource } from "../view/viewer.js";

const REFRESH_MS = 250;
/**
 * The whole terminal, over pi's own screen. In the editor's place instead, the view would share the screen with
 * whatever pi draws around the editor (widgets such as the live board, the footer), and when those grow the view's
 * last lines (its status and its y/n prompts) would fall off the screen.
 */
const FULL_SCREEN = {
	overlay: true,
	overlayOptions: { anchor: "top-left", width: "100%", maxHeight: "100%" },
} as const;

interface Model {
	refresh(): Promise<boolean>;
	handleKey(key: string): "close" | undefined;
	render(width: number, height: number): string[];
}

/** pi's theme for the view's tones, its selection and its markdown (built from the theme the component is given). */
function themed(theme: Theme): Styles {
	const fg = (color: Parameters<Theme["fg"]>[0]) => (text: string) => theme.fg(color, text);
	return {
		tone: (tone, text) => (tone === "text" ? text : theme.fg(tone, text)),
		selected: (text) => theme.bg("selectedBg", text),
		markdown: {
			heading: fg("mdHeading"),
			link: fg("mdLink"),
			linkUrl: fg("mdLinkUrl"),
			code: fg("mdCode"),
			codeBlock: fg("mdCodeBlock"),
			codeBlockBorder: fg("mdCodeBlockBorder"),
			quote: fg("mdQuote"),
			quoteBorder: fg("mdQuoteBorder"),
			hr: fg("mdHr"),
			listBullet: fg("mdListBullet"),
			bold: (text) => theme.bold(text),
			italic: (text) => theme.italic(text),
			strikethrough: (text) => theme.strikethrough(text),
			underline: (text) => theme.underline(text),
		},
	};
}

/**
 * Shows `make`'s model over pi's screen until it closes. Refreshes run one at a time, on a timer that stops
 * when the view closes; a key press draws at once. Rejects (nothing shown) when the model cannot be made.
 */
async function show(
	ctx: ExtensionContext,
	make: (tui: Tui, styles: Styles, redraw: () => void) => Promise<Model>,
): Promise<void> {
	const piTui = await loadTui();
	await ctx.ui.custom<void>(async (tui: TUI, theme: Theme, _keys, done): Promise<Component & { dispose(): void }> => {
		const model = await make(piTui, themed(theme), () => tui.requestRender());
		let busy = false;
		const timer = setInterval(() => {
			if (busy) return;
			busy = true;
			model
				.refresh()
				.then((changed) => changed && tui.requestRender())
				// The models show what fails to read in their status line; anything else is a bug worth a notice.
				.catch((err: Error) => ctx.ui.notify(`pi-crew: ${err.message}`, "error"))
				.finally(() => {
					busy = false;
				});
		}, REFRESH_MS);
		timer.unref(); // never what keeps pi from exiting
		return {
			render: (width) => model.render(width, tui.terminal.rows),
			handleInput(data) {
				// Key names as pi-tui parses them (`up`, `pageDown`, `G`); other input (a typed é) as it came.
				if (model.handleKey(piTui.parseKey(data) ?? data) === "close") done();
				else tui.requestRender();
			},
			// Colours are applied as lines are made: a theme change shows on what is made after it.
			invalidate: () => undefined,
			dispose: () => clearInterval(timer),
		};
	}, FULL_SCREEN);
}

async function respondLine(cwd: string, runId: string, taskId: string, answer: string): Promise<string> {
	const done = await lifecycle.respond(cwd, runId, taskId, answer);
	return `answered ${taskId}: ${done.text}${done.queued ? " (delivered when the run is resumed)" : ""}`;
}

/** Approves or rejects through the api like `pi-crew approve`; the line says what was done. */
function approver(cwd: string): ApproveAction {
	return async (runId, taskId, verdict) => {
		const result = await lifecycle.approve(cwd, runId, { taskId, ...verdict });
		if (result.outcome === "rejected") return `rejected: ${taskId} revises its answer (the next round shows here)`;
		return `approved ${taskId}${result.drop?.length ? ` without ${result.drop.join(", ")}` : ""}: the run goes on`;
	};
}

/** The dashboard acts through the api like the CLI; resumed and requeued runs go on in the background. */
function actions(cwd: string): DashboardActions {
	return {
		async cancel(runId) {
			const result = await lifecycle.cancel(cwd, runId);
			return result.outcome === "cancelled"
				? `run ${runId} ${result.view.status}`
				: result.outcome === "already-ended"
					? `run ${runId} already ended ${result.view.status}: nothing to cancel`
					: `run ${runId} is interrupted: nothing to cancel${result.reaped ? ` (stopped ${result.reaped} stray process(es))` : ""}`;
		},
		async resume(runId) {
			await lifecycle.resume({ cwd, runId, background: true });
			return `run ${runId} resumed: it goes on in the background`;
		},
		async requeue(runId, taskId) {
			await lifecycle.resume({ cwd, runId, requeue: [taskId], background: true });
			return `task ${taskId} requeued: run ${runId} goes on in the background`;
		},
		respond: (runId, taskId, answer) => respondLine(cwd, runId, taskId, answer),
		approve: approver(cwd),
		async steer(runId, taskId, message) {
			const result = await lifecycle.steer(cwd, runId, message, taskId);
			if (!result.delivered) throw new Error(`not delivered to ${taskId}: ${result.reason}`);
			return `steer message delivered to ${taskId}`;
		},
	};
}

export async function openDashboard(ctx: ExtensionContext, runId: string | undefined): Promise<void> {
	const repo = findRepo(ctx.cwd);
	if (ctx.mode !== "tui") {
		// No terminal UI to draw in: the run's board, once.
		const { runStatus } = await import("../api/index.js");
		const view = await runStatus(ctx.cwd, runId);
		const board = renderBoard(view, { now: Date.now(), width: 120 }).map((l) => l.text);
		ctx.ui.notify(`${board.join("\n")}\n(the dashboard needs pi's interactive terminal UI)`, "info");
		return;
	}
	await show(ctx, (tui, styles, redraw) =>
		Dashboard.open({ repo, kit: textKit(tui, styles), actions: actions(ctx.cwd), onChange: redraw }, runId),
	);
}

/**
 * `/team-approve [runId]`: the approval view of `runId`, or of the newest run with a task waiting for approval. Without
 * pi's terminal UI, what waits and how to approve it, as text.
 */
export async function openApproval(ctx: ExtensionContext, runId: string | undefined): Promise<void> {
	const repo = findRepo(ctx.cwd);
	const api = await import("../api/index.js");
	const waits = (v: RunView) => [...v.state.tasks.values()].some((t) => t.waiting?.kind === "approval");
	const id =
		runId ??
		(await api.listRuns(ctx.cwd)).runs
			.filter((v) => v.status === "running" && waits(v))
			.map((v) => v.state.runId)
			.at(-1);
	if (!id) throw new Error("no run of this repository waits for approval");
	if (ctx.mode !== "tui") {
		const { renderRun } = await import("../view/render.js");
		ctx.ui.notify(
			`${renderRun(await api.runStatus(ctx.cwd, id))}\n(the approval view needs pi's interactive terminal UI)`,
			"info",
		);
		return;
	}
	await show(ctx, async (tui, styles, redraw) => {
		const view = new ApprovalView(new RunProjection(repo, id), textKit(tui, styles), approver(ctx.cwd), redraw);
		await view.refresh(); // a run that cannot be read fails the opening, with its reason
		return view;
	});
}

/** `/team-result` (`result`), `/team-transcript` (`transcript`) or `/team-diff` (`diff`) with the command's arguments. */
export async function openViewer(
	ctx: ExtensionContext,
	kind: "result" | "transcript" | "diff",
	args: string,
): Promise<void> {
	const sources = { result: resultSource, transcript: transcriptSource, diff: diffSource };
	const source: ViewerSource = await sources[kind](ctx.cwd, args);
	if (ctx.mode !== "tui") {
		ctx.ui.notify(`${source.title}\n\n${source.blocks().join("\n\n")}`, "info");
		return;
	}
	await show(ctx, async (tui, styles) => new Viewer(source, textKit(tui, styles)));
}
