/**
 * `pi-crew status --watch [runId]`: the run's board in a terminal, redrawn in place until the run ends. Not a
 * terminal (a pipe, a file): progress lines instead, as `--follow` prints them.
 */
import { follow } from "../api/lifecycle.js";
import { TERMINAL_RUN } from "../store/events.js";
import { RunTail, type RunView } from "../store/run-store.js";
import { findRepo } from "../util/repo.js";
import { renderBoard, type Tone } from "../view/board.js";
import { progressLine } from "../view/render.js";
import { print } from "./print.js";

const ANSI: Record<Tone, string> = {
	accent: "\x1b[36m",
	success: "\x1b[32m",
	warning: "\x1b[33m",
	error: "\x1b[31m",
	muted: "\x1b[2m",
	text: "",
};
const RESET = "\x1b[0m";
const POLL_MS = 250;

/** Redraws the board in place: up over the previous frame, each line cleared, the rest of the old frame erased. */
class Screen {
	private shown = 0;

	constructor(private readonly out: NodeJS.WriteStream) {
		// A resize rewraps what is on screen: the line count no longer says where the frame starts, so start afresh.
		out.on("resize", () => {
			out.write("\x1b[2J\x1b[H");
			this.shown = 0;
		});
	}

	draw(view: RunView): void {
		const width = Math.max(20, this.out.columns ?? 80);
		const lines = renderBoard(view, { now: Date.now(), width });
		const up = this.shown > 0 ? `\x1b[${this.shown}F` : "";
		const body = lines.map((l) => `\x1b[2K${ANSI[l.tone]}${l.text}${ANSI[l.tone] ? RESET : ""}`).join("\n");
		this.out.write(`${up}${body}\n\x1b[J`);
		this.shown = lines.length;
	}
}

export async function watchRun(cwd: string | undefined, runId: string, signal?: AbortSignal): Promise<RunView> {
	const out = process.stdout;
	if (!out.isTTY)
		return follow(
			cwd,
			runId,
			(event, state) => {
				const line = progressLine(event, state);
				if (line) print(`${line}\n`);
			},
			signal,
		);
	const tail = new RunTail(findRepo(cwd), runId);
	const screen = new Screen(out);
	for (;;) {
		await tail.poll();
		const view = await tail.view();
		screen.draw(view);
		if (TERMINAL_RUN.has(view.status) || view.status === "interrupted" || signal?.aborted) return view;
		await new Promise((resolve) => setTimeout(resolve, POLL_MS));
	}
}
