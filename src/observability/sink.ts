/**
 * The metrics sink: one JSONL file per day under `<repo>/.crew/metrics/`, each line redacted. Files older than the
 * retention are removed when a coordinator starts. A repository could ship a symlink there: the directory and the
 * file are opened without following links.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { redactStrings } from "../util/redact.js";
import { assertNoSymlinks, openAppend, removeFile } from "../util/safe-fs.js";

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
const DAY_MS = 86_400_000;

export function sinkDir(repo: string): string {
	return join(repo, ".crew", "metrics");
}

function day(ms: number): string {
	return new Date(ms).toISOString().slice(0, 10);
}

/** Appends one record (secrets redacted) to today's file. */
export async function appendSink(repo: string, record: Record<string, unknown>, now = Date.now()): Promise<string> {
	const file = join(sinkDir(repo), `${day(now)}.jsonl`);
	const handle = await openAppend(repo, file, 0o600);
	try {
		// One write per line: lines of processes writing the same day's file do not interleave.
		await handle.write(`${JSON.stringify(redactStrings(record))}\n`);
	} finally {
		await handle.close();
	}
	return file;
}

/** Removes day files older than `retentionDays` (by the date in their name); returns the names removed. */
export async function pruneSink(repo: string, retentionDays: number, now = Date.now()): Promise<string[]> {
	const dir = sinkDir(repo);
	await assertNoSymlinks(repo, dir);
	const oldest = day(now - retentionDays * DAY_MS);
	const names = await readdir(dir).catch(() => [] as string[]);
	const removed: string[] = [];
	for (const name of names) {
		const date = DAY_FILE.exec(name)?.[1];
		if (date && date < oldest) {
			await removeFile(repo, join(dir, name));
			removed.push(name);
		}
	}
	return removed;
}
