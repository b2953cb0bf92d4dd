/** CLI commands of the run lifecycle: cancel, steer, respond, approve, resume, deadletter, and the hidden `_coordinate` of background runs. */
import * as api from "../api/index.js";
import * as lifecycle from "../api/lifecycle.js";
import { inertLine } from "../util/inert.js";
import { foreground, out, report } from "./main.js";
import { print, warn } from "./print.js";
import type { Values } from "./usage.js";

export async function lifecycleCommand(command: string, args: string[], v: Values): Promise<number> {
	switch (command) {
		case "cancel":
			return cancel(args, v);
		case "steer":
			return steer(args, v);
		case "approve":
			return approve(args, v);
		case "respond":
			return respond(args, v);
		case "resume": {
			const [runId] = args;
			if (!runId) throw new api.UsageError("usage: pi-crew resume <runId>");
			const view = await lifecycle.resume({
				cwd: v.cwd,
				runId,
				background: v.background,
				unattended: v["no-input"] === true || (!v.background && !process.stdin.isTTY),
				...(v.background ? {} : foreground()),
			});
			return report(view, v);
		}
		case "deadletter":
			return deadletter(args, v);
		case "_coordinate": {
			const [runId] = args;
			if (!runId) throw new api.UsageError("usage: pi-crew _coordinate <runId>");
			const view = await lifecycle.coordinateBackground(v.cwd, runId);
			warn(`run ${runId} ended ${api.shownStatus(view)}\n`);
			return 0;
		}
		default:
			throw new api.UsageError(`unknown command "${command}"`);
	}
}

async function cancel(args: string[], v: Values): Promise<number> {
	const [runId] = args;
	if (!runId) throw new api.UsageError("usage: pi-crew cancel <runId>");
	const result = await lifecycle.cancel(v.cwd, runId);
	const message =
		result.outcome === "cancelled"
			? `run ${runId} ${api.shownStatus(result.view)}`
			: result.outcome === "already-ended"
				? `run ${runId} already ended ${api.shownStatus(result.view)}: nothing to cancel`
				: `run ${runId} is ${api.shownStatus(result.view)} (no coordinator is running it): nothing to cancel${result.reaped ? `; stopped ${result.reaped} stray process(es)` : ""}`;
	if (v.json) out({ outcome: result.outcome, message, run: api.runJson(result.view) });
	else print(`${message}\n`);
	return 0;
}

async function steer(args: string[], v: Values): Promise<number> {
	const [runId, taskId, message] = args;
	if (!runId || !taskId || message === undefined)
		throw new api.UsageError('usage: pi-crew steer <runId> <taskId> "<message>" [--follow-up]');
	const result = await lifecycle.steer(v.cwd, runId, message, taskId, { followUp: v["follow-up"] === true });
	const what = v["follow-up"] ? "follow-up" : "steer message";
	const text = result.delivered
		? `${what} delivered to ${taskId} of run ${runId}`
		: `${what} not delivered to run ${runId}: ${inertLine(result.reason ?? "unknown reason")}`;
	if (v.json) out({ ...result, message: text });
	else print(`${text}\n`);
	return result.delivered ? 0 : 1;
}

async function approve(args: string[], v: Values): Promise<number> {
	const [runId, taskId] = args;
	if (!runId)
		throw new api.UsageError('usage: pi-crew approve <runId> [taskId] [--drop taskA,taskB] [--reject "<feedback>"]');
	const drop =
		typeof v.drop === "string"
			? v.drop
					.split(",")
					.map((d) => d.trim())
					.filter(Boolean)
			: undefined;
	const reject = typeof v.reject === "string" ? v.reject : undefined;
	const result = await lifecycle.approve(v.cwd, runId, { taskId, drop, reject });
	const dropped = result.drop?.length ? ` (dropped: ${result.drop.join(", ")})` : "";
	const text =
		result.outcome === "approved"
			? `approved ${result.taskId} of run ${runId}${dropped}`
			: `rejected ${result.taskId} of run ${runId}: its worker answers again with the feedback`;
	if (v.json) out({ ...result, message: text });
	else print(`${text}\n`);
	return 0;
}

async function respond(args: string[], v: Values): Promise<number> {
	const [runId, taskId, answer] = args;
	if (!runId || !taskId || answer === undefined)
		throw new api.UsageError('usage: pi-crew respond <runId> <taskId> "<answer>"');
	const result = await lifecycle.respond(v.cwd, runId, taskId, answer);
	const text = result.queued
		? `answer to ${taskId} of run ${runId} queued: no coordinator runs it now; it gets the answer when resumed (pi-crew resume ${runId})`
		: `answer delivered to ${taskId} of run ${runId}: ${inertLine(result.text)}`;
	if (v.json) out({ ...result, message: text });
	else print(`${text}\n`);
	return 0;
}

async function deadletter(args: string[], v: Values): Promise<number> {
	if (args[0] === "requeue") {
		const [, runId, ...taskIds] = args;
		if (!runId) throw new api.UsageError("usage: pi-crew deadletter requeue <runId> [taskId...]");
		const ids = taskIds.length > 0 ? taskIds : (await lifecycle.listDeadLetters(v.cwd, runId)).map((d) => d.taskId);
		if (ids.length === 0)
			throw new api.UsageError(
				`run ${runId} has no dead-lettered tasks; name failed tasks to requeue them: pi-crew deadletter requeue ${runId} <taskId>`,
			);
		const view = await lifecycle.resume({
			cwd: v.cwd,
			runId,
			requeue: ids,
			background: v.background,
			...(v.background ? {} : foreground()),
		});
		return report(view, v);
	}
	if (args[0] === "add") {
		const [, runId, taskId] = args;
		if (!runId || !taskId) throw new api.UsageError("usage: pi-crew deadletter add <runId> <taskId>");
		const view = await lifecycle.deadLetterTask(v.cwd, runId, taskId);
		if (v.json) out(api.runJson(view));
		else
			print(
				`task ${taskId} of run ${runId} is dead-lettered (manual); requeue: pi-crew deadletter requeue ${runId} ${taskId}\n`,
			);
		return 0;
	}
	const letters = await lifecycle.listDeadLetters(v.cwd, args[0]);
	if (v.json) out(letters);
	else if (letters.length === 0) print("no dead-lettered tasks\n");
	else
		for (const d of letters)
			print(
				`${d.ts}  ${d.runId}  ${d.taskId.padEnd(16)} ${inertLine(d.reason).padEnd(15)} ${d.attempts} attempt(s)  ${inertLine(d.detail)}\n`,
			);
	return 0;
}
