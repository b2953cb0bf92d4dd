/**
 * The coordinator of one run: holds the run's lease, is the only writer of its log, listens on its control channel,
 * watches heartbeats, and drives the scheduler. A new run and a resumed run differ only in how they start.
 */
import { relative } from "node:path";
import { ownerMark } from "../config/owner.js";
import { boundSettings, type ResolvedConfig } from "../config/resolve.js";
import { projectTrust } from "../config/trust.js";
import { Checkpoints } from "../store/checkpoint.js";
import { EventLogWriter, readEventLog, UntrustedLogError } from "../store/event-log.js";
import type { CrewEvent, RunState } from "../store/events.js";
import { applyEvent, foldEvents } from "../store/fold.js";
import { acquireLease, type Lease } from "../store/lease.js";
import { createRunDir, newRunId, type RunPaths, runPaths, writeArtifact } from "../store/run-store.js";
import type { RunSettings } from "../store/settings.js";
import { withCorrelation } from "../util/correlation.js";
import { UsageError } from "../util/errors.js";
import { makeDirs } from "../util/safe-fs.js";
import { reapTask } from "../workers/reaper.js";
import type { WorkerChannel, WorkerRuntime } from "../workers/runtime.js";
import type { ApproveCommand } from "./approval.js";
import { RateGate, type RunContext } from "./context.js";
import { ControlInbox } from "./control.js";
import { Conversation } from "./conversation.js";
import { KeptWorkers } from "./kept.js";
import { Mailbox } from "./mailbox.js";
import { type Plan, plannedPayload, reopenForResume } from "./plan.js";
import { Questions } from "./questions.js";
import { retryDelay } from "./retry.js";
import { type RunOutcome, Scheduler } from "./scheduler.js";
import { warmFirstTasks } from "./shape.js";
import { renderSummary } from "./summary.js";
import { PersonWaits } from "./waits.js";
import { HeartbeatWatcher } from "./watcher.js";

interface Common {
	repo: string;
	runtime: WorkerRuntime;
	/** Ctrl-C / SIGTERM of the process running the coordinator. */
	signal?: AbortSignal;
	/** Called with each event once it is durable, and the state after it. */
	onEvent?: (event: CrewEvent, state: RunState) => void;
	random?: () => number;
	now?: () => number;
	/** Variables workers (and verify commands) get besides the essentials (config `env.allow`). */
	allowEnv?: readonly string[];
}

export interface RunOptions extends Common {
	plan: Plan;
	goal: string;
	settings: RunSettings;
	/** A run id whose directory the caller created (background runs); otherwise a new one. */
	runId?: string;
}

export interface ResumeOptions extends Common {
	runId: string;
	plan: Plan;
	/** Failed tasks to run again (dead-letter requeue); running and cancelled ones always are. */
	requeue: string[];
	/**
	 * The effective config now: the settings the log recorded are bounded by it (concurrency, timeout, budgets never
	 * above it; its denied tools added), and the bounds are logged with the resume.
	 */
	limits?: Pick<ResolvedConfig, "values" | "sources">;
	/** Nobody answers its questions from now on (`resume --no-input`): what they get instead, logged with the resume. */
	unattended?: NonNullable<RunSettings["unattended"]>;
}

export interface RunResult {
	runId: string;
	/** The coordinator's own fold of what it wrote: the run's outcome, whatever the file says now. */
	state: RunState;
	paths: RunPaths;
	/** Set when something other than the coordinator wrote its log: how it was found. */
	foreignWrite?: string;
}

export async function executeRun(opts: RunOptions): Promise<RunResult> {
	const runId = opts.runId ?? newRunId();
	return withCorrelation({ runId, span: "1" }, () => startRun(runId, opts).catch(closing(opts)));
}

/** A run that fails before it coordinates ends its runtime's workers too (a warmed one may be starting already). */
function closing(opts: Common): (err: unknown) => Promise<never> {
	return async (err) => {
		await opts.runtime.close?.().catch(() => undefined);
		throw err;
	};
}

async function startRun(runId: string, opts: RunOptions): Promise<RunResult> {
	const { repo, settings } = opts;
	warmFirstTasks(opts.runtime, { runId, repo, projectTrusted: projectTrust(repo).trusted, settings }, opts.plan);
	const paths = opts.runId ? runPaths(opts.repo, runId) : await createRunDir(opts.repo, runId);
	await makeDirs(paths.repo, paths.artifacts);
	const lease = await acquireLease(paths.lease);
	const log = await EventLogWriter.create(paths.events, runId, { now: nowDate(opts) }).catch(async (err) => {
		await lease.release();
		throw err;
	});
	const fold = follow(log, opts, undefined);
	const { plan } = opts;
	try {
		await writeArtifact(paths, "goal.md", `${opts.goal.trim()}\n`);
		// Planned as one batch: a log that has run.started has every task.planned before it.
		await Promise.all([
			log.append("run.created", {
				owner: await ownerMark(runId),
				goal: opts.goal,
				team: plan.team,
				workflow: plan.workflow,
				cwd: opts.repo,
				settings: opts.settings,
			}),
			...plan.tasks.map((t) => log.append("task.planned", plannedPayload(t), t.id)),
		]);
		await log.append("run.started", { pid: process.pid, ...runtimeNotes(opts) });
	} catch (err) {
		await log.close().catch(() => undefined);
		await lease.release();
		throw err;
	}
	return coordinate(opts, { resumed: false, paths, lease, log, plan, goal: opts.goal, state: fold });
}

function runtimeNotes(opts: Common): { notes?: string[] } {
	return opts.runtime.notes?.length ? { notes: [...opts.runtime.notes] } : {};
}

export async function resumeRun(opts: ResumeOptions): Promise<RunResult> {
	const paths = runPaths(opts.repo, opts.runId);
	await makeDirs(paths.repo, paths.artifacts); // the way down to the run is link-free
	const lease = await acquireLease(paths.lease);
	try {
		// A worker of the dead coordinator may still be running (its guard stops it within a second): make sure.
		await reapTask(opts.runId);
		// Decided on the state read under the lease: another resumer may have finished the run meanwhile.
		const read = await readEventLog(paths.events, { runId: opts.runId });
		if (read.integrity !== "verified") throw new UntrustedLogError(opts.runId, read.integrity, read.integrityProblem);
		const state = foldEvents(read.events);
		if (!state) throw new Error(`run ${opts.runId} has no events`);
		const reopened = reopenForResume(state, opts.requeue);
		const limited = opts.limits
			? boundSettings(state.settings, opts.limits)
			: { settings: state.settings, bounded: [] };
		const { bounded } = limited;
		const unattended = opts.unattended !== undefined && opts.unattended !== limited.settings.unattended;
		const settings = unattended ? { ...limited.settings, unattended: opts.unattended } : limited.settings;
		const log = await EventLogWriter.resume(paths.events, opts.runId, { now: nowDate(opts) });
		const fold = follow(log, opts, state);
		const segment = { runId: opts.runId, span: String(state.resumes + 2) };
		return await withCorrelation(segment, async () => {
			const changed = opts.plan.changedAgents ?? [];
			await log.append("run.resumed", {
				pid: process.pid,
				reopened,
				...(changed.length > 0 ? { changedAgents: changed } : {}),
				...(bounded.length > 0 || unattended ? { settings } : {}),
				...(bounded.length > 0 ? { bounded } : {}),
				...runtimeNotes(opts),
			});
			return coordinate(opts, { resumed: true, paths, lease, log, plan: opts.plan, goal: state.goal, state: fold });
		});
	} catch (err) {
		await lease.release();
		throw err;
	}
}

function nowDate(opts: Common): () => Date {
	const now = opts.now;
	return now ? () => new Date(now()) : () => new Date();
}

/** Folds every durable event of `log` into the run state (the only state the coordinator reads). */
function follow(log: EventLogWriter, opts: Common, initial: RunState | undefined): () => RunState {
	let state = initial;
	log.subscribe((event) => {
		state = applyEvent(state, event);
	});
	// Separately: a failing UI callback is dropped by the log writer; the fold must never be.
	const onEvent = opts.onEvent;
	if (onEvent) log.subscribe((event) => onEvent(event, state as RunState));
	return () => state as RunState;
}

interface Started {
	resumed: boolean;
	paths: RunPaths;
	lease: Lease;
	log: EventLogWriter;
	plan: Plan;
	goal: string;
	state: () => RunState;
}

/** The run's workspace, its integration branch made at the base commit (a resumed run finds its own). */
async function isolated(repo: string, state: RunState) {
	const { Workspace } = await import("../workspace/worktrees.js");
	const { baseCommit } = state.settings;
	if (!baseCommit) throw new UsageError(`run ${state.runId} is isolated but records no base commit`);
	const workspace = await Workspace.open(repo, state.runId);
	const merged = [...state.tasks.values()].filter((t) => t.merged).map((t) => t.id);
	await workspace.begin(baseCommit, merged);
	return workspace;
}

async function coordinate(opts: Common, run: Started): Promise<RunResult> {
	const { paths, lease, log, state } = run;
	const settings = state().settings;
	// Subscribed after the fold (follow): each checkpoint is the state at the end of a durable batch.
	const checkpoints = await Checkpoints.start(log, paths, state);
	const random = opts.random ?? Math.random;
	const now = opts.now ?? Date.now;
	const cancel = new AbortController();
	let ending = false;
	// A log another process writes is no record: stop the workers now; the run ends failed (below).
	log.onForeignWrite(() => cancel.abort());
	const requestCancel = async (source: string) => {
		if (cancel.signal.aborted || ending) return;
		await log.append("run.cancelling", { source });
		cancel.abort();
	};
	const onSignal = () => void requestCancel("signal").catch(() => undefined);
	opts.signal?.addEventListener("abort", onSignal, { once: true });
	if (opts.signal?.aborted) onSignal();
	const channels = new Map<string, WorkerChannel>();
	const conversation = new Conversation({ state, log, channels, now });
	// A steer may wait for its task's worker; it never holds up the commands behind it (a cancel must be quick).
	const inbox = new ControlInbox(paths, async (command) => {
		if (command.type === "cancel") return requestCancel(`cancel from ${command.from}`);
		if (command.type === "steer") void conversation.steer(command).catch(() => undefined);
		// An approval meant for another round (or a task no longer waiting) is dropped: `approve` sees nothing logged.
		if (command.type === "approve") approvals.give(command.taskId, command.approvalId, command);
		if (command.type === "respond") return questions.respond(command);
	});
	const watcher = new HeartbeatWatcher(
		settings.heartbeat,
		(taskId, level, silentMs) => {
			const span = String(state().tasks.get(taskId)?.attempt ?? 0);
			withCorrelation({ runId: log.runId, taskId, span }, () =>
				log.append("task.heartbeat", { level, silentMs }, taskId).catch(() => undefined),
			);
		},
		now,
	);
	const questions = new Questions({ log, state, settings, paths, watcher, now });
	const approvals = new PersonWaits<ApproveCommand>({ watcher, settings, state, now }, "approval");
	const ctx: RunContext = {
		repo: opts.repo,
		projectTrusted: projectTrust(opts.repo).trusted,
		paths,
		log,
		plan: run.plan,
		goal: run.goal,
		settings,
		runtime: opts.runtime,
		allowEnv: opts.allowEnv ?? [],
		state,
		watcher,
		// Only a run with retries closes the gate (a rate-limited task without retries just fails).
		gate: new RateGate((hit) => (settings.retry ? retryDelay(settings.retry, hit, random) : 0), log, state, now),
		cancel: cancel.signal,
		abortAll: () => cancel.abort(),
		random,
		now,
		deadLetterAlert: { check: Promise.resolve(), raised: false },
		channels,
		kept: new KeptWorkers(opts.runtime, cancel.signal, state),
		approvals,
		questions,
		mailbox: new Mailbox({ state, log, conversation }),
	};
	try {
		// A resumed run may find cancels meant for its previous coordinator; a new run has none.
		if (run.resumed) await inbox.clearBefore(Date.parse(lease.holder.since));
		inbox.start();
		watcher.start();
		const unsandboxed = opts.runtime.unsandboxed;
		if (unsandboxed) await log.append("run.alert", { kind: "sandbox-unavailable", message: unsandboxed });
		let outcome: RunOutcome;
		try {
			if (settings.isolation === "worktree") ctx.workspace = await isolated(opts.repo, state());
			outcome = await new Scheduler(ctx).run();
		} catch (err) {
			// A bug or an I/O failure (disk full): workers are stopped. The run is not finished: once this process lets
			// go of the lease it reads `interrupted`, and `resume` continues it when the cause is fixed.
			const message = `coordinator error: ${(err as Error).message}; fix the cause, then: pi-crew resume ${log.runId}`;
			await log.append("run.alert", { kind: "coordinator-error", message }).catch(() => undefined);
			throw err;
		}
		ending = true;
		const foreignWrite = await log.checkOwnBytes();
		if (foreignWrite !== undefined) {
			const reason = `its event log was changed by something other than the coordinator (${foreignWrite}): the log is not a record of this run any more; see pi-crew status ${log.runId}, and start a new run`;
			outcome = { status: "failed", reason };
			await log.append("run.alert", { kind: "log-tampered", message: reason });
		}
		await writeArtifact(paths, "summary.md", renderSummary(state(), outcome.status, outcome.reason));
		await log.append("run.finished", { ...outcome, summaryPath: relative(paths.dir, paths.summary) });
		return { runId: log.runId, state: state(), paths, ...(foreignWrite !== undefined ? { foreignWrite } : {}) };
	} finally {
		ending = true;
		inbox.stop();
		watcher.stop();
		opts.signal?.removeEventListener("abort", onSignal);
		try {
			// The runtime's idle warm workers end with the run.
			await opts.runtime.close?.();
			await log.close();
			await checkpoints?.settled();
		} finally {
			await lease.release();
		}
	}
}
