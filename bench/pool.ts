/**
 * The warm pool (issue 26 §1, §3): the 200-task child DAG at concurrency 8 with the pool (the default config) and with
 * `workers.recycleAfter: 1` (a fresh pi per task, as before the pool), side by side in one bench run.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sandbox, soloTeam, timed } from "./support.js";

const GOAL_S = 15;

/** The DAG of bench/run.ts `dag`: layers of 10, each task on one or two tasks of the layer before. */
function dagSteps(tasks: number) {
	return Array.from({ length: tasks }, (_, i) => {
		const layer = Math.floor(i / 10);
		const previous = (k: number) => `n${(layer - 1) * 10 + (k % 10)}`;
		return { id: `n${i}`, dependsOn: layer === 0 ? [] : [previous(i), ...(i % 3 === 0 ? [previous(i + 1)] : [])] };
	});
}

async function dagRun(cli: string, tasks: number, config: string) {
	const box = await sandbox("pool");
	await soloTeam(box, "dag", dagSteps(tasks), "ls");
	await box.write("scenario.yaml", 'default:\n  - say: "ok"\n');
	if (config) {
		await mkdir(box.env.PI_CREW_HOME, { recursive: true });
		await writeFile(join(box.env.PI_CREW_HOME, "config.yaml"), config);
	}
	const args = ["run", "dag", "the dag", "--runtime", "child", "--model", "crew-scripted/scripted"];
	const run = await timed(
		process.execPath,
		[cli, ...args, "--scenario", "scenario.yaml", "--concurrency", "8", "--json"],
		box.repo,
		box.env,
	);
	const json = JSON.parse(run.stdout) as { status: string; tasks: { status: string }[] };
	await box.cleanup();
	const ok = json.tasks.filter((t) => t.status === "succeeded").length;
	return { ...run, status: `${json.status} (${ok}/${tasks})` };
}

export async function poolBench(cli: string, tasks: number): Promise<string[]> {
	const pooled = await dagRun(cli, tasks, "");
	const fresh = await dagRun(cli, tasks, "workers: { recycleAfter: 1 }\n");
	const row = (name: string, r: typeof pooled) =>
		`| ${name} | ${r.status} | ${(r.ms / 1000).toFixed(1)} s | ${(r.ms / tasks).toFixed(0)} ms | ${r.peakTreeRssMiB.toFixed(0)} MiB |`;
	const seconds = pooled.ms / 1000;
	return [
		`### Warm pool: ${tasks}-task DAG, concurrency 8, scripted model, --runtime child`,
		"",
		"| workers | status | wall time | per task | peak RSS (process tree) |",
		"|---|---|---|---|---|",
		row("warm pool (default: recycleAfter 20)", pooled),
		row("a fresh pi per task (recycleAfter 1)", fresh),
		"",
		`Pool vs fresh: ${(fresh.ms / pooled.ms).toFixed(1)}x faster; peak RSS ${(pooled.peakTreeRssMiB / fresh.peakTreeRssMiB).toFixed(2)}x the fresh run's.`,
		tasks === 200
			? `Goal: the 200-task DAG in at most ${GOAL_S} s with the pool: ${seconds.toFixed(1)} s, ${seconds <= GOAL_S ? "met" : "not met"}.`
			: `Goal (${GOAL_S} s) applies to 200 tasks; this run had ${tasks}.`,
		"",
	];
}
