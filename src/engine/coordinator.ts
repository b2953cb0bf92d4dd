/**
 * The coordinator of one run: holds the run's lease, is the only writer of its log, and schedules the task graph.
 * Every decision reads the run state folded from the events it has written, never a second copy.
 */
import { mkdir, readFile } from "node:fs/promises";
import { relative } from "node:path";
import { EventLogWriter } from "../store/event-log.js";
import { applyEvent, type CrewEvent, type FinalRunStatus, type RunState, TERMINAL_TASK } from "../store/events.js";
import { acquireLease } from "../store/lease.js";
import { createRunDir, newRunId, type RunPaths, writeArtifact } from "../store/run-store.js";
import type { TaskSpec, WorkerRuntime } from "../workers/runtime.js";
import type { Plan, PlannedTask } from "./plan.js";
import { type DependencyResult, systemPrompt, taskPrompt } from "./prompt.js";
import { renderSummary } from "./summary.js";

export interface RunOptions {
	repo: string;
	plan: Plan;
	goal: string;
	runtime: WorkerRuntime;
	concurrency: number;
	taskTimeoutMs: number;
	/** `--model`: wins over every agent's own model. */
	model?: string;
	/** The configured default: used for agents that name no model. */
	defaultModel?: string;
	scenario?: string;
	signal?: AbortSignal;
	/** Called with each event once it is durable, and the state after it. */
	onEvent?: (event: CrewEvent, state: RunState) => void;
}

export interface RunResult {
	runId: string;
	state: RunState;
	paths: RunPaths;
}

export async function executeRun(opts: RunOptions): Promise<RunResult> {
	const runId = newRunId();
	const paths = await createRunDir(opts.repo, runId);
	const lease = await acquireLease(paths.lease);
	const log = await EventLogWriter.create(paths.events, runId);
	let state: RunState | undefined;
	log.subscribe((event) => {
		state = applyEvent(state, event);
		opts.onEvent?.(event, state);
	});
	try {
		await writeArtifact(paths, "goal.md", `${opts.goal.trim()}\n`);
		const { plan } = opts;
		await log.append("run.created", {
			goal: opts.goal,
			team: plan.team.name,
			workflow: plan.workflow.name,
			runtime: opts.runtime.name,
			concurrency: opts.concurrency,
			...(opts.model ? { model: opts.model } : {}),
			cwd: opts.repo,
		});
		for (const t of plan.tasks)
			await log.append("task.planned", { role: t.role, agent: t.agent.name, dependsOn: t.dependsOn }, t.id);
		await log.append("run.started", { pid: process.pid });
		const scheduler = new Scheduler(opts, log, paths, () => state as RunState);
		let outcome: { status: FinalRunStatus; reason?: string };
		try {
			outcome = await scheduler.run();
		} catch (err) {
			// A bug or an I/O failure (disk full) in the coordinator: workers are already stopped; say so in the log
			// if it still takes writes, then let the error surface.
			const reason = `coordinator error: ${(err as Error).message}`;
			await log.append("run.finished", { status: "failed", reason, summaryPath: "" }).catch(() => undefined);
			throw err;
		}
		const final = state as RunState;
		await writeArtifact(paths, "summary.md", renderSummary(final, outcome.status, outcome.reason));
		await log.append("run.finished", { ...outcome, summaryPath: relative(paths.dir, paths.summary) });
		return { runId, state: state as RunState, paths };
	} finally {
		try {
			await log.close();
		} finally {
			await lease.release();
		}
	}
}

class Scheduler {
	private readonly running = new Map<string, { done: Promise<void>; abort: AbortController }>();

	constructor(
		private readonly opts: RunOptions,
		private readonly log: EventLogWriter,
		private readonly paths: RunPaths,
		private readonly state: () => RunState,
	) {}

	async run(): Promise<{ status: FinalRunStatus; reason?: string }> {
		const byId = new Map(this.opts.plan.tasks.map((t) => [t.id, t]));
		const cancelAll = () => {
			for (const r of this.running.values()) r.abort.abort();
		};
		this.opts.signal?.addEventListener("abort", cancelAll, { once: true });
		try {
			await this.loop(byId);
		} catch (err) {
			cancelAll();
			await Promise.allSettled([...this.running.values()].map((r) => r.done));
			throw err;
		} finally {
			this.opts.signal?.removeEventListener("abort", cancelAll);
		}
		return this.finish();
	}

	private async loop(byId: Map<string, PlannedTask>): Promise<void> {
		for (;;) {
			if (!this.opts.signal?.aborted) {
				await this.skipBlocked();
				for (const task of this.ready()) {
					if (this.running.size >= this.opts.concurrency) break;
					this.start(byId.get(task) as PlannedTask);
				}
			}
			if (this.running.size === 0) return;
			await Promise.race([...this.running.values()].map((r) => r.done));
		}
	}

	private tasks() {
		return [...this.state().tasks.values()];
	}

	private ready(): string[] {
		const tasks = this.state().tasks;
		return this.tasks()
			.filter((t) => t.status === "pending" && !this.running.has(t.id))
			.filter((t) => t.dependsOn.every((d) => tasks.get(d)?.status === "succeeded"))
			.map((t) => t.id);
	}

	/** Dependents of a task that did not succeed are skipped, transitively, with the reason. */
	private async skipBlocked(): Promise<void> {
		for (let changed = true; changed; ) {
			changed = false;
			const tasks = this.state().tasks;
			for (const t of this.tasks()) {
				if (t.status !== "pending") continue;
				const blocker = t.dependsOn
					.map((d) => tasks.get(d))
					.find((d) => d && TERMINAL_TASK.has(d.status) && d.status !== "succeeded");
				if (!blocker) continue;
				await this.log.append("task.skipped", { reason: `dependency "${blocker.id}" ${blocker.status}` }, t.id);
				changed = true;
			}
		}
	}

	private start(task: PlannedTask): void {
		const abort = new AbortController();
		const done = this.attempt(task, abort.signal).finally(() => this.running.delete(task.id));
		this.running.set(task.id, { done, abort });
	}

	private async attempt(task: PlannedTask, signal: AbortSignal): Promise<void> {
		const id = task.id;
		const attempt = (this.state().tasks.get(id)?.attempt ?? 0) + 1;
		const dir = `tasks/${id}`;
		const deps = await this.dependencyResults(task);
		const prompt = taskPrompt(task, this.opts.goal, deps);
		const sysPrompt = systemPrompt(task, this.opts.plan.team.name);
		const promptPath = await writeArtifact(this.paths, `${dir}/prompt.md`, prompt);
		const systemPromptPath = await writeArtifact(this.paths, `${dir}/system.md`, sysPrompt);
		const taskDir = `${this.paths.artifacts}/${dir}`;
		await mkdir(taskDir, { recursive: true });
		await this.log.append("task.started", { attempt, promptPath: relative(this.paths.dir, promptPath) }, id);
		const spec: TaskSpec = {
			runId: this.log.runId,
			taskId: id,
			agent: task.agent.name,
			cwd: this.opts.repo,
			systemPromptPath,
			prompt,
			promptPath,
			taskDir,
			model: this.opts.model ?? task.agent.model ?? this.opts.defaultModel,
			tools: task.agent.tools,
			thinking: task.agent.thinking,
			maxTurns: task.agent.maxTurns,
			timeoutMs: this.opts.taskTimeoutMs,
			scenario: this.opts.scenario,
		};
		const progress: Promise<unknown>[] = [];
		let outcome: Awaited<ReturnType<WorkerRuntime["run"]>>;
		try {
			outcome = await this.opts.runtime.run(spec, signal, (event) => {
				if (event.type === "tool") {
					const { type: _, ...data } = event;
					progress.push(this.log.append("task.tool", data, id));
				} else if (event.type === "usage") progress.push(this.log.append("task.usage", event.usage, id));
			});
		} catch (err) {
			outcome = { ok: false, reason: `worker runtime failed: ${(err as Error).message}` };
		}
		await Promise.all(progress);
		if (outcome.ok) {
			const resultPath = await writeArtifact(this.paths, `${dir}/result.md`, outcome.answer);
			await this.log.append(
				"task.succeeded",
				{ resultPath: relative(this.paths.dir, resultPath), chars: outcome.answer.length },
				id,
			);
		} else if (outcome.cancelled) await this.log.append("task.cancelled", { reason: outcome.reason }, id);
		else await this.log.append("task.failed", { reason: outcome.reason }, id);
	}

	private async dependencyResults(task: PlannedTask): Promise<DependencyResult[]> {
		const byId = new Map(this.opts.plan.tasks.map((t) => [t.id, t]));
		return Promise.all(
			task.dependsOn.map(async (depId) => {
				const rel = this.state().tasks.get(depId)?.resultPath ?? "";
				const path = `${this.paths.dir}/${rel}`;
				return { task: byId.get(depId) as PlannedTask, text: await readFile(path, "utf8"), path };
			}),
		);
	}

	private async finish(): Promise<{ status: FinalRunStatus; reason?: string }> {
		if (this.opts.signal?.aborted) {
			for (const t of this.tasks())
				if (t.status === "pending") await this.log.append("task.cancelled", { reason: "run cancelled" }, t.id);
			return { status: "cancelled", reason: "cancelled by the user" };
		}
		const failed = this.tasks().filter((t) => t.status !== "succeeded");
		if (failed.length === 0) return { status: "succeeded" };
		const first = failed.find((t) => t.status === "failed") ?? failed[0];
		return {
			status: "failed",
			reason: `${failed.length} of ${this.state().tasks.size} tasks did not succeed; first: ${first?.id} ${first?.status}${first?.reason ? ` (${first.reason})` : ""}`,
		};
	}
}
