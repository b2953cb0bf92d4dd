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

/**
 * The unified diff on stdout, made inert for a terminal (the title and notes on stderr); `--stat`, `--json`; `--out
 * FILE` writes git's own bytes, binary files included, for `git apply`.
 */
async function diffCommand(args: string[], v: Values): Promise<number> {
	const { view, taskId } = await findRun(api.findRepo(v.cwd), args.join(" "));
	const diffs = await import("../api/diff.js");
	if (v.out) {
		const written = await diffs.writePatch(view, taskId, v.cwd, v.out);
		if (v.json) out(written);
		else warn(`${[`wrote ${written.path} (${written.bytes} bytes)`, ...written.notes].join("\n")}\n`);
		return 0;
	}
	const diff = await diffs.runDiff(view, taskId);
	const notes = (diff.notes ?? []).map((n) => `${n}\n`).join("");
	if (v.json) out(diff);
	else if (v.stat) print(`${diffTitle(diff)}\n${diffStat(diff)}${notes}`);
	else {
		warn(`${diffTitle(diff)}${diff.files.length === 0 ? ": no changes" : ""}\n${notes}`);
		print(diff.patch);
	}
	return 0;
}
