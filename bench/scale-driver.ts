/**
 * One in-process run of N generated tasks, for bench/scale.ts: `node bench/scale-driver.ts N` in a repository whose
 * team `wide` has a one-step workflow. A workflow file holds at most 500 steps, so the run's plan is that step's task
 * repeated N times (a wide DAG, layers of 100) and handed to the coordinator as `pi-crew run` would (same settings,
 * runtime, telemetry), in plain Node on the built dist/ (no loader in the measured process). Prints the outcome, the
 * run's wall time and the CPU time this process spent on it (what a shared machine's load does not inflate) as JSON.
 */

import type { PlannedTask } from "../src/engine/plan.js";

// The built modules (no declarations in dist/), typed as their sources.
const dist = (module: string): Promise<unknown> => import(`../dist/${module}.js`);
const { createRuntime, runSettings } = (await dist("api/index")) as typeof import("../src/api/index.js");
const { context } = (await dist("api/context")) as typeof import("../src/api/context.js");
const { executeRun } = (await dist("engine/coordinator")) as typeof import("../src/engine/coordinator.js");
const { planRun } = (await dist("engine/plan")) as typeof import("../src/engine/plan.js");
const { observeRuns } = (await dist("observability/telemetry")) as typeof import("../src/observability/telemetry.js");

const n = Number(process.argv[2]);
const { repo, config, catalog } = await context(process.cwd());
const one = planRun(catalog, "wide", undefined, { approvePlans: false });
const template = one.tasks[0] as PlannedTask;
const tasks: PlannedTask[] = Array.from({ length: n }, (_, i) => {
	const layer = Math.floor(i / 100);
	const previous = (k: number) => `n${(layer - 1) * 100 + (k % 100)}`;
	const dependsOn = layer === 0 ? [] : [previous(i), ...(i % 3 === 0 ? [previous(i + 1)] : [])];
	return { ...template, id: `n${i}`, output: `n${i}`, dependsOn };
});
const plan = { ...one, tasks };
const model = "crew-scripted/scripted";
const request = { team: "wide", goal: "go", runtime: "inprocess" as const, model, sessionModel: model, concurrency: 8 };
const settings = runSettings(request, config.values, plan, `${repo}/scenario.yaml`);
const observer = await observeRuns(repo, config.values.metrics);
const start = performance.now();
const cpu = process.cpuUsage();
const result = await executeRun({
	repo,
	plan,
	goal: "go",
	settings,
	runtime: await createRuntime(settings, config),
	allowEnv: config.values.env.allow,
	onEvent: (event, state) => observer.observe(event, state),
});
const ms = performance.now() - start;
const used = process.cpuUsage(cpu);
const cpuMs = (used.user + used.system) / 1000;
await observer.end();
const succeeded = [...result.state.tasks.values()].filter((t) => t.status === "succeeded").length;
process.stdout.write(`${JSON.stringify({ status: result.state.status, succeeded, ms, cpuMs })}\n`);
