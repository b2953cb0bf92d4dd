/** CLI commands that move or remove whole runs: export, import, prune, forget, cleanup. */
import * as api from "../api/index.js";
import { out } from "./main.js";
import { print, warn } from "./print.js";
import type { Values } from "./usage.js";

export async function runsCommand(command: string, args: string[], v: Values): Promise<number> {
	switch (command) {
		case "export":
			return exportRun(args, v);
		case "import":
			return importRun(args, v);
		case "prune":
			return prune(args, v);
		case "forget":
			return forget(args, v);
		case "cleanup":
			return cleanup(args, v);
		default:
			throw new api.UsageError(`unknown command "${command}"`);
	}
}

async function exportRun(args: string[], v: Values): Promise<number> {
	const [runId] = args;
	if (!runId)
		throw new api.UsageError("usage: pi-crew export <runId> [--out FILE]  (a diagnostic report: doctor --export)");
	const { exportRun } = await import("../api/bundle.js");
	const done = await exportRun(v.cwd, runId, v.out);
	if (v.json) out({ path: done.path, bytes: done.bytes, manifest: done.manifest });
	else {
		print(`${done.path}\n`);
		const { files, skipped } = done.manifest;
		warn(
			`run ${runId}: ${files.length} files in ${done.bytes} bytes (gzipped), secrets redacted, creator mark dropped\n`,
		);
		for (const s of skipped) warn(`  not exported: ${s.path}: ${s.why}\n`);
	}
	return 0;
}

async function importRun(args: string[], v: Values): Promise<number> {
	const [file] = args;
	if (!file) throw new api.UsageError("usage: pi-crew import FILE");
	const { importBundle } = await import("../api/bundle.js");
	const done = await importBundle(v.cwd, file);
	if (v.json) out({ runId: done.runId, dir: done.dir, files: done.files, bytes: done.bytes });
	else {
		print(`${done.runId}\n`);
		warn(
			`imported run ${done.runId} (${done.files} files, exported ${done.manifest.created} by pi-crew ${done.manifest.piCrew}) into ${done.dir}\n` +
				`  it is foreign here: inspect it (pi-crew status ${done.runId}, events, summary); it is never resumed here\n`,
		);
	}
	return 0;
}

async function prune(args: string[], v: Values): Promise<number> {
	if (args.length > 0) throw new api.UsageError(`prune takes no run ids (to remove one run: pi-crew forget <runId>)`);
	const { parseAge, parseStatuses, pruneRuns } = await import("../api/prune.js");
	if (!v["older-than"])
		throw new api.UsageError(
			"prune needs --older-than AGE: it removes your ended runs whose last event is older than that (30m, 12h, 7d, 2w; 0d: any age); e.g. pi-crew prune --older-than 7d --dry-run",
		);
	const result = await pruneRuns({
		cwd: v.cwd,
		olderThanMs: parseAge(v["older-than"]),
		statuses: v.status === undefined ? undefined : parseStatuses(v.status),
		dryRun: v["dry-run"],
		by: `pi-crew prune --older-than ${v["older-than"]}${v.status ? ` --status ${v.status}` : ""}`,
	});
	if (v.json) {
		out(result);
		return 0;
	}
	for (const r of result.removed)
		print(
			`${result.dryRun ? "would remove" : "removed"} ${r.runId}  ${r.status.padEnd(11)} last active ${r.lastActivity}\n`,
		);
	for (const s of result.skipped) print(`left ${s.runId}: ${s.why}\n`);
	warn(
		`${result.removed.length} run(s) ${result.dryRun ? "to remove" : "removed"}, ${result.skipped.length} left alone, ${result.kept} kept (younger or in another status)${result.dryRun ? "; nothing was deleted (--dry-run)" : ""}\n`,
	);
	return 0;
}

async function forget(args: string[], v: Values): Promise<number> {
	const [runId] = args;
	if (!runId || args.length > 1) throw new api.UsageError("usage: pi-crew forget <runId> [--dry-run]");
	const { forgetRun } = await import("../api/prune.js");
	const done = await forgetRun(v.cwd, runId, { dryRun: v["dry-run"] });
	if (v.json) out({ dryRun: v["dry-run"] === true, ...done });
	else if (v["dry-run"]) print(`would forget run ${runId} (${done.status}); nothing was deleted\n`);
	else print(`forgot run ${runId} (${done.status}): ${done.entries} files and directories removed\n`);
	return 0;
}

async function cleanup(args: string[], v: Values): Promise<number> {
	if (args.length > 0) throw new api.UsageError("usage: pi-crew cleanup [--dry-run]");
	const { cleanup } = await import("../api/cleanup.js");
	const result = await cleanup(v.cwd, { dryRun: v["dry-run"] });
	if (v.json) {
		out(result);
		return 0;
	}
	const verb = result.dryRun ? "would remove" : "removed";
	for (const r of result.removed) print(`${verb} ${r.path}: ${r.why}\n`);
	for (const s of result.skippedRuns) warn(`left run ${s.runId} alone: ${s.why}\n`);
	warn(
		`${result.removed.length} leftover(s) ${result.dryRun ? "to remove" : "removed"}${result.dryRun ? "; nothing was deleted (--dry-run)" : ""}\n`,
	);
	return 0;
}
