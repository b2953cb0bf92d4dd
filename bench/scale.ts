/**
 * Scale on one machine: a generated DAG of N read-only scripted tasks (scale-driver.ts) run in-process at concurrency
 * 8, for a small and a large N (`BENCH_SCALE_TASKS`, default 1000,10000): wall time, per-task cost at each N and their ratio (flat means
 * no work that grows with the run: fold, scheduler, board), and the peak RSS of the process tree.
 */
import { join } from "node:path";
import { ROOT, sandbox, soloTeam, timed } from "./support.js";

/** Plain Node runs it (types stripped), so the measured process is only pi-crew's. */
const DRIVER = join(ROOT, "bench", "scale-driver.ts");

interface Measured {
	tasks: number;
	ms: number;
	cpuMs: number;
	peakMiB: number;
	succeeded: number;
}

async function runScale(tasks: number): Promise<Measured> {
	const box = await sandbox("scale");
	await soloTeam(box, "wide", [{ id: "n0" }], "ls");
	await box.write("scenario.yaml", 'default:\n  - say: "ok"\n');
	const run = await timed(process.execPath, [DRIVER, String(tasks)], box.repo, box.env);
	await box.cleanup();
	const json = JSON.parse(run.stdout) as { status: string; succeeded: number; cpuMs: number };
	if (json.succeeded !== tasks)
		throw new Error(`scale: ${json.succeeded} of ${tasks} tasks succeeded (${json.status})`);
	return { tasks, ms: run.ms, cpuMs: json.cpuMs, peakMiB: run.peakTreeRssMiB, succeeded: json.succeeded };
}

export async function scale(): Promise<string[]> {
	const counts = (process.env.BENCH_SCALE_TASKS ?? "1000,10000").split(",").map(Number);
	const runs: Measured[] = [];
	for (const n of counts) runs.push(await runScale(n));
	const small = runs[0] as Measured;
	const large = runs.at(-1) as Measured;
	const perTask = (r: Measured) => r.ms / r.tasks;
	const cpuPerTask = (r: Measured) => r.cpuMs / r.tasks;
	const flat = perTask(large) / perTask(small);
	const cpuFlat = cpuPerTask(large) / cpuPerTask(small);
	const verdict = (ok: boolean) => (ok ? "met" : "not met");
	return [
		"### In-process tasks at scale: a wide DAG (layers of 100), concurrency 8, scripted model",
		"",
		"| tasks | wall time | per task | CPU per task (the run's process) | peak RSS of the process tree |",
		"|---|---|---|---|---|",
		...runs.map(
			(r) =>
				`| ${r.tasks} | ${(r.ms / 1000).toFixed(1)} s | ${perTask(r).toFixed(2)} ms | ${cpuPerTask(r).toFixed(2)} ms | ${r.peakMiB.toFixed(0)} MiB |`,
		),
		"",
		"| goal | result | |",
		"|---|---|---|",
		`| ${large.tasks} tasks in at most 30 s | ${(large.ms / 1000).toFixed(1)} s | ${verdict(large.ms <= 30_000)} |`,
		`| peak RSS at most 300 MiB | ${large.peakMiB.toFixed(0)} MiB | ${verdict(large.peakMiB <= 300)} |`,
		`| per-task cost flat, ${large.tasks} vs ${small.tasks} (at most 1.2) | ${flat.toFixed(2)} | ${verdict(flat <= 1.2)} |`,
		`| per-task CPU flat, ${large.tasks} vs ${small.tasks} (at most 1.2) | ${cpuFlat.toFixed(2)} | ${verdict(cpuFlat <= 1.2)} |`,
		"",
	];
}
