/** CLI commands that show a run's or one task's work as pi's viewers do: its result, its transcript, its diff. */
import * as api from "../api/index.js";
import { diffStat, diffTitle } from "../view/diff.js";
import { findRun, resultSource, transcriptSource } from "../view/viewer.js";
import { out } from "./main.js";
import { print, warn } from "./print.js";
import type { Values } from "./usage.js";

/**
 * `result|transcript|diff [runId] [taskId]`: both named; or one word, a run if it names one, else a task of the
 * latest run; or nothing: the latest run's last task to succeed (result), to start (transcript), or the whole run
 * (diff).
 */
export async function readCommand(command: string, args: string[], v: Values): Promise<number> {
	if (args.length > 2) throw new api.UsageError(`usage: pi-crew ${command} [runId] [taskId]`);
	if (command === "diff") return diffCommand(args, v);
	const source = await (command === "result" ? resultSource : transcriptSource)(api.findRepo(v.cwd), args.join(" "));
	const text = source.blocks().join("\n\n");
	if (v.json) out({ title: source.title, text });
	else print(`${source.title}\n\n${text.trimEnd()}\n`);
	return 0;
}

/** The unified diff on stdout (the title on stderr, so `> file.patch` takes only the patch); `--stat`, `--json`. */
async function diffCommand(args: string[], v: Values): Promise<number> {
	const { view, taskId } = await findRun(api.findRepo(v.cwd), args.join(" "));
	const diff = await (await import("../api/diff.js")).runDiff(view, taskId);
	if (v.json) out(diff);
	else if (v.stat) print(`${diffTitle(diff)}\n${diffStat(diff)}`);
	else {
		warn(`${diffTitle(diff)}${diff.files.length === 0 ? ": no changes" : ""}\n`);
		print(diff.patch);
	}
	return 0;
}
