/** The run's alert when tasks of this repository are dead-lettered at a high rate (`run.alert deadletter-rate`). */
import { stat } from "node:fs/promises";
import { listRunIds, loadRun, runPaths } from "../store/run-store.js";
import type { RunContext } from "./context.js";
import { DEADLETTER_ALERT, deadLetters } from "./deadletter.js";

/** Raises the alert once a task was dead-lettered, if more than the alert's count were within its window. */
export async function deadLetterAlert(ctx: RunContext): Promise<void> {
	// One check at a time, and one alert per coordinator: tasks dead-lettered together raise it once.
	const alert = ctx.deadLetterAlert;
	alert.check = alert.check.then(async () => {
		if (alert.raised) return;
		const recent = await recentDeadLetters(ctx);
		if (recent <= DEADLETTER_ALERT.count) return;
		alert.raised = true;
		await ctx.log.append("run.alert", {
			kind: "deadletter-rate",
			message: `${recent} tasks dead-lettered in this repository within the last hour (see: pi-crew deadletter)`,
		});
	});
	await alert.check;
}

/** Dead-letters of every run of this repository within the alert window, this run's included. */
async function recentDeadLetters(ctx: RunContext): Promise<number> {
	const since = ctx.now() - DEADLETTER_ALERT.windowMs;
	let count = 0;
	for (const runId of await listRunIds(ctx.repo)) {
		const state = runId === ctx.log.runId ? ctx.state() : await recentState(ctx.repo, runId, since);
		if (state) count += deadLetters(state).filter((d) => Date.parse(d.ts) >= since).length;
	}
	return count;
}

/** Another run's state, if its log changed since `since`: an older log holds no dead-letter inside the window. */
async function recentState(repo: string, runId: string, since: number) {
	const mtime = await stat(runPaths(repo, runId).events).then(
		(st) => st.mtimeMs,
		() => 0,
	);
	return mtime >= since
		? loadRun(repo, runId).then(
				(v) => v.state,
				() => undefined,
			)
		: undefined;
}
