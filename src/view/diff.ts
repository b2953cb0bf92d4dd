/** `diff` as text: a run's or a task's changes as a summary (`--stat`), or as markdown for pi's viewer (`/team-diff`). */
import type { RunDiff } from "../api/diff.js";
import { inertLine } from "../util/inert.js";
import { findRun, type ViewerSource } from "./viewer.js";

const MARK = { added: "A", modified: "M", deleted: "D", "type-changed": "T" } as const;

/** One line per file (`M path  +3 -1`) and the totals; names made inert (a worker chose them). */
export function diffStat(diff: RunDiff): string {
	if (diff.files.length === 0) return "no changes\n";
	const width = Math.min(60, Math.max(...diff.files.map((f) => inertLine(f.path).length)));
	const lines = diff.files.map(
		(f) =>
			`${MARK[f.status]} ${inertLine(f.path).padEnd(width)}  ${f.binary ? "binary" : `+${f.additions} -${f.deletions}`}`,
	);
	const add = diff.files.reduce((n, f) => n + f.additions, 0);
	const del = diff.files.reduce((n, f) => n + f.deletions, 0);
	const n = diff.files.length;
	return `${lines.join("\n")}\n${n} file${n === 1 ? "" : "s"} changed, ${add} insertion(s)(+), ${del} deletion(s)(-)\n`;
}

/** What a diff is of, in one line. */
export function diffTitle(diff: RunDiff): string {
	return `diff of ${diff.taskId ? `task ${diff.taskId} of ` : ""}run ${diff.runId} · ${diff.base.slice(0, 12)}..${diff.head.slice(0, 12)}`;
}

/**
 * `/team-diff [runId] [taskId]`: the summary, then the patch in a code block whose fence is longer than any run of
 * backticks in it, so no line of the patch can end the block.
 */
export async function diffSource(cwd: string, args: string): Promise<ViewerSource> {
	const { view, taskId } = await findRun(cwd, args);
	const diff = await (await import("../api/diff.js")).runDiff(view, taskId);
	const longest = Math.max(2, ...[...diff.patch.matchAll(/`+/g)].map((m) => m[0].length));
	const fence = "`".repeat(longest + 1);
	const blocks = [
		diffStat(diff).replace(/^/gm, "    ").trimEnd(),
		...(diff.notes ?? []).map((n) => `> ${inertLine(n)}`),
	];
	if (diff.patch) blocks.push(`${fence}diff\n${diff.patch.trimEnd()}\n${fence}`);
	return { title: diffTitle(diff), blocks: () => blocks, poll: async () => false };
}
