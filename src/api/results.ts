/** What a run produced, read back: the team's answer, the summary, the artifact files. */
import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import type { RunView } from "../store/run-store.js";
import { UsageError } from "../util/errors.js";
import { readConfined } from "../util/safe-fs.js";
import { runStatus } from "./index.js";

/** A tool result may hold about this much of a run's answer; the rest is read from the files it names. */
export const ANSWER_CHARS = 12_000;

/**
 * What a run concluded, for the model that started it: the results of its final tasks (those no other task waits
 * for), cut to `maxChars` with the path of the rest. A run that did not succeed says so first, with its reason.
 */
export async function runAnswer(view: RunView, maxChars = ANSWER_CHARS): Promise<string> {
	const { state } = view;
	if (view.status === "running" || view.status === "pending") return `run ${state.runId} is still ${view.status}`;
	const waitedFor = new Set([...state.tasks.values()].flatMap((t) => t.dependsOn));
	const finals = [...state.tasks.values()].filter((t) => !waitedFor.has(t.id) && t.resultPath);
	const head =
		view.status === "succeeded"
			? ""
			: `run ${state.runId} ${view.status}${state.reason ? `: ${state.reason}` : ""}\n\n`;
	if (finals.length === 0) return `${head}no final result`.trim();
	let budget = maxChars;
	const parts: string[] = [];
	for (const t of finals) {
		const path = join(view.paths.dir, t.resultPath ?? "");
		const text = (await readConfined(view.paths.dir, t.resultPath ?? "").catch(() => "")).trim();
		const title = finals.length > 1 ? `## ${t.id} (${t.role})\n\n` : "";
		const kept = text.slice(0, Math.max(0, budget));
		budget -= kept.length;
		const cut =
			kept.length < text.length ? `\n[... cut at ${kept.length} of ${text.length} characters; all of it: ${path}]` : "";
		parts.push(`${title}${kept}${cut}`);
	}
	return `${head}${parts.join("\n\n")}`;
}

export async function runSummary(cwd: string | undefined, runId?: string): Promise<{ text: string; path: string }> {
	const view = await runStatus(cwd, runId);
	const path = view.paths.summary;
	const text = await readConfined(view.paths.dir, relative(view.paths.dir, path)).catch(() => {
		throw new UsageError(`run ${view.state.runId} has no readable summary (it is ${view.status})`);
	});
	return { text, path };
}

/** Files of a run's artifacts, relative to its directory. */
export async function runArtifacts(cwd: string | undefined, runId?: string): Promise<string[]> {
	const view = await runStatus(cwd, runId);
	const entries = (await readdir(view.paths.artifacts, { recursive: true, withFileTypes: true })) as Dirent[];
	return entries
		.filter((e) => e.isFile())
		.map((e) => relative(view.paths.dir, join(e.parentPath ?? e.path, e.name)))
		.sort();
}
