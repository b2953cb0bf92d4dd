/** CLI commands that show one task's work as pi's viewers do: its result, its transcript. */
import * as api from "../api/index.js";
import { resultSource, transcriptSource } from "../view/viewer.js";
import { out } from "./main.js";
import { print } from "./print.js";
import type { Values } from "./usage.js";

/**
 * `result|transcript [runId] [taskId]`: both named; or one word, a run if it names one, else a task of the latest run;
 * or nothing: the latest run's last task to succeed (result) or to start (transcript).
 */
export async function readCommand(command: string, args: string[], v: Values): Promise<number> {
	if (args.length > 2) throw new api.UsageError(`usage: pi-crew ${command} [runId] [taskId]`);
	const source = await (command === "result" ? resultSource : transcriptSource)(api.findRepo(v.cwd), args.join(" "));
	const text = source.blocks().join("\n\n");
	if (v.json) out({ title: source.title, text });
	else print(`${source.title}\n\n${text.trimEnd()}\n`);
	return 0;
}
