/**
 * A 10 000-task run for the views' tests and benchmark (board, dashboard, status at scale), written through the real
 * log writer. No test-runner imports here: the benchmark uses it too.
 */
import { ownerMark } from "../../src/config/owner.js";
import type { Checkpoints } from "../../src/store/checkpoint.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import { acquireLease } from "../../src/store/lease.js";
import { createRunDir } from "../../src/store/run-store.js";
import { checkpointed } from "./checkpoint.js";
import { fixtures } from "./fixtures.js";

/** How the tasks of a `hugeRun` end: the counts its views must show. */
export interface HugeRunShape {
	tasks: number;
	succeeded: number;
	failed: number;
	running: number;
	pending: number;
}

/** The shape of a run of `tasks` tasks: 1 % failed, 0.5 % running, 1.5 % pending, the rest succeeded. */
export function hugeShape(tasks: number): HugeRunShape {
	const failed = Math.ceil(tasks / 100);
	const running = Math.ceil(tasks / 200);
	const pending = Math.ceil((tasks * 3) / 200);
	return { tasks, succeeded: tasks - failed - running - pending, failed, running, pending };
}

const usage = { input: 100, output: 20, cacheRead: 0, cacheWrite: 0, total: 120 };

/**
 * A running run of `tasks` tasks (each after the task 100 before it), about 6 events per task: planned, started, a
 * tool call (start and end), usage, a heartbeat, its end. The last `pending` tasks never started, the `running` ones
 * before them are still at work, the `failed` ones before those failed (the first half dead-lettered).
 */
export async function hugeRun(
	repo: string,
	runId: string,
	tasks = 10_000,
): Promise<{
	shape: HugeRunShape;
	events: number;
	more(n: number): Promise<void>;
	checkpoints: Checkpoints;
	release(): Promise<void>;
}> {
	const shape = hugeShape(tasks);
	const paths = await createRunDir(repo, runId);
	const lease = await acquireLease(paths.lease);
	let clock = Date.now() - 600_000;
	const log = await EventLogWriter.create(paths.events, runId, {
		now: () => {
			clock += 5;
			return new Date(clock);
		},
	});
	const { checkpoints } = await checkpointed(repo, log);
	const id = (i: number) => `t${i}`;
	let events = 0;
	let pending: Promise<unknown>[] = [];
	const append: EventLogWriter["append"] = (type, data, taskId) => {
		events++;
		const written = log.append(type, data, taskId);
		pending.push(written);
		return written;
	};
	// In batches: a few thousand appends in flight at a time, as a busy coordinator has.
	const settle = async () => {
		await Promise.all(pending);
		pending = [];
	};
	append("run.created", {
		...fixtures.created,
		team: "huge",
		goal: "ten thousand tasks",
		owner: await ownerMark(runId),
	});
	for (let i = 0; i < tasks; i++) append("task.planned", fixtures.planned(i < 100 ? [] : [id(i - 100)]), id(i));
	append("run.started", { pid: process.pid });
	await settle();
	const started = tasks - shape.pending;
	const ended = started - shape.running;
	for (let i = 0; i < started; i++) {
		const t = id(i);
		append("task.started", { attempt: 1, promptPath: `artifacts/tasks/${t}/prompt.md` }, t);
		append("task.tool", { tool: "read", phase: "start", summary: `src/file${i}.ts` }, t);
		append("task.tool", { tool: "read", phase: "end", isError: false }, t);
		append("task.usage", usage, t);
		append("task.heartbeat", { level: "healthy", silentMs: 0 }, t);
		if (i < shape.succeeded) append("task.succeeded", { resultPath: `artifacts/tasks/${t}/result.md`, chars: 1 }, t);
		else if (i < ended) {
			append("task.failed", { reason: "model error: overloaded" }, t);
			if (i < shape.succeeded + shape.failed / 2)
				append("task.deadlettered", { reason: "max-retries", detail: "model error: overloaded" }, t);
		}
		if (i % 2000 === 1999) await settle();
	}
	await settle();
	return {
		shape,
		events,
		/** `n` more events of the running tasks, as a live run appends them. */
		more: async (n) => {
			for (let k = 0; k < n; k++) append("task.usage", usage, id(ended + (k % shape.running)));
			await settle();
		},
		checkpoints,
		release: async () => {
			await log.close();
			await checkpoints.settled();
			await lease.release();
		},
	};
}

type Method = (this: { size?: number; length?: number }, ...args: unknown[]) => unknown;

/**
 * How many elements `work` visits by passing over a Map or an array of at least `min` of them (each pass counts the
 * whole collection): a view that visits every task or every event of a large run shows here; reading what is shown
 * (`get`, an index) does not.
 */
export async function largeVisits(work: () => unknown, min = 1000): Promise<number> {
	const passes: [object, PropertyKey[]][] = [
		[Map.prototype, ["values", "keys", "entries", "forEach", Symbol.iterator]],
		[
			Array.prototype,
			["forEach", "map", "filter", "reduce", "some", "every", "find", "findIndex", "indexOf", "slice", Symbol.iterator],
		],
	];
	const saved: [Record<PropertyKey, Method>, PropertyKey, Method][] = [];
	let visits = 0;
	for (const [proto, names] of passes)
		for (const name of names) {
			const methods = proto as Record<PropertyKey, Method>;
			const original = methods[name] as Method;
			saved.push([methods, name, original]);
			methods[name] = function (this: { size?: number; length?: number }, ...args: unknown[]) {
				const n = this.size ?? this.length ?? 0;
				if (n >= min) visits += n;
				return original.apply(this, args);
			};
		}
	try {
		await work();
	} finally {
		for (const [methods, name, original] of saved) methods[name] = original;
	}
	return visits;
}
