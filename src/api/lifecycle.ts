/**
 * Run lifecycle beyond a foreground run: background coordinators, cancel from any process, resume after a crash or
 * a cancel, and the dead-letter queue.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { foreignReason } from "../config/owner.js";
import { projectTrust } from "../config/trust.js";
import { sendControl } from "../engine/control.js";
import { type DeadLetter, deadLetters } from "../engine/deadletter.js";
import { planFromState, reopenForResume } from "../engine/plan.js";
import { matchAnswer } from "../engine/questions.js";
import { EventLogWriter } from "../store/event-log.js";
import { shownStatus as shownTaskStatus, TERMINAL_RUN } from "../store/events.js";
import { acquireLease, holderLiveness, readLease } from "../store/lease.js";
import {
	createRunDir,
	listRunIds,
	loadRun,
	newRunId,
	RunTail,
	type RunView,
	runPaths,
	untrustedReason,
} from "../store/run-store.js";
import { openAppend } from "../util/safe-fs.js";
import { reapTask } from "../workers/reaper.js";
import { context } from "./context.js";
import {
	assertDepth,
	coordinateHere,
	findRepo,
	importedFrom,
	type OnEvent,
	OperationError,
	type StartRequest,
	UsageError,
} from "./index.js";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "pi-crew.js");
const BACKGROUND_START_TIMEOUT_MS = 30_000;

/**
 * Hands `start` to a detached coordinator process (own session, stdio to `coordinator.log`, the full environment,
 * absolute paths) and returns once it holds the run's lease, or its error if it died first.
 */
export async function startBackground(repo: string, start: StartRequest): Promise<RunView> {
	const runId = start.kind === "run" ? newRunId() : start.runId;
	const paths = start.kind === "run" ? await createRunDir(repo, runId) : runPaths(repo, runId);
	const logFile = join(paths.dir, "coordinator.log");
	const out = await openAppend(repo, logFile);
	// The full environment (PATH, API keys), minus the markers of a run this process may itself be a worker of: that
	// run's cleanup must not reach a coordinator that was started to outlive it. The depth stays (the depth guard).
	const env = Object.fromEntries(
		Object.entries(process.env).filter(([k]) => !/^PI_CREW_(RUN_ID|TASK_ID|COORDINATOR_)/.test(k)),
	);
	const child = spawn(process.execPath, [BIN, "_coordinate", runId, "--cwd", repo], {
		cwd: repo,
		detached: true,
		stdio: ["ignore", out.fd, out.fd, "ipc"],
		env,
	});
	let spawnError: Error | undefined;
	child.on("error", (err) => {
		spawnError = err;
	});
	// The start request (the goal may hold a secret) goes over the IPC channel, never through a file.
	child.send(start.kind === "run" ? { ...start, runId } : start);
	await out.close();
	child.unref();
	let exit: number | null | undefined;
	child.on("exit", (code) => {
		exit = code;
	});
	const tail = new RunTail(repo, runId);
	const readable = () =>
		tail.poll().then(
			() => tail.state !== undefined,
			() => false,
		);
	try {
		const deadline = Date.now() + BACKGROUND_START_TIMEOUT_MS;
		for (;;) {
			// Taken: the child holds the lease and the run's first events are durable (so status can read it).
			const holder = await readLease(paths.lease).catch(() => undefined);
			if (holder?.pid === child.pid && (await readable())) break;
			if (spawnError) throw new OperationError(`cannot start the background coordinator: ${spawnError.message}`);
			if (exit !== undefined) {
				if (exit === 0 || ((await readable()) && TERMINAL_RUN.has((await tail.view()).status))) break;
				const last = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-5).join("\n");
				throw new Error(`the background coordinator exited (code ${exit}) before taking the run:\n${last}`);
			}
			if (Date.now() > deadline) throw new Error(`the background coordinator did not start within 30s; see ${logFile}`);
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	} finally {
		if (child.connected) child.disconnect();
	}
	return loadRun(repo, runId);
}

/**
 * Follows a run through its log, from any process: every event (from the first) with the state after it, until the
 * run ends or reads interrupted. Polls the log; never writes.
 */
export async function follow(
	cwd: string | undefined,
	runId: string,
	onEvent: OnEvent,
	signal?: AbortSignal,
	pollMs = 250,
): Promise<RunView> {
	const tail = new RunTail(findRepo(cwd), runId);
	for (;;) {
		await tail.poll(onEvent);
		const view = await tail.view(onEvent);
		if (view.status !== "running" && view.status !== "pending") return view;
		if (signal?.aborted) return view;
		await new Promise((resolve) => setTimeout(resolve, pollMs));
	}
}

/** The detached side of startBackground: `pi-crew _coordinate <runId>`. */
export async function coordinateBackground(cwd: string | undefined, runId: string): Promise<RunView> {
	const repo = findRepo(cwd);
	const start = await new Promise<StartRequest>((resolve, reject) => {
		if (!process.send) return reject(new UsageError("_coordinate is started by pi-crew itself (run --background)"));
		process.once("message", (message) => resolve(message as StartRequest));
	});
	process.disconnect?.();
	if (start.runId !== runId) throw new UsageError(`the start request is for run ${start.runId}, not ${runId}`);
	// Detached from any terminal: a closed terminal or pipe must not end the run.
	process.on("SIGHUP", () => undefined);
	const controller = new AbortController();
	process.once("SIGTERM", () => controller.abort());
	return coordinateHere(repo, start, { signal: controller.signal });
}

export interface ResumeRequest {
	cwd?: string;
	runId: string;
	/** Failed (e.g. dead-lettered) tasks to run again, with their skipped dependents. */
	requeue?: string[];
	background?: boolean;
	/** Nobody answers its workers' questions (`--no-input`): the config's `questions.unattended` decides. */
	unattended?: boolean;
	signal?: AbortSignal;
	onEvent?: OnEvent;
}

/**
 * Refuses to act on a run not created here: a run directory that arrived with a clone (or from another machine) is
 * input to inspect, never a run to coordinate, resume or requeue with the settings its log carries. Nor on a run whose
 * log does not verify (tampered, or unauthenticated): its record is not the coordinator's.
 */
export async function assertLocal(view: RunView): Promise<void> {
	const why = view.imported ? importedFrom(view.imported) : await foreignReason(view.state);
	if (why)
		throw new UsageError(
			`run ${view.state.runId} was not created here: ${why}. pi-crew never resumes, requeues or coordinates such a run; inspect it with pi-crew status ${view.state.runId}`,
		);
	const untrusted = untrustedReason(view);
	if (untrusted) throw new UsageError(untrusted);
}

/**
 * Continues an interrupted or cancelled run from its log (or a failed one, for requeued tasks): succeeded tasks are
 * never run again; tasks that were running or cancelled get a new attempt.
 */
export async function resume(req: ResumeRequest): Promise<RunView> {
	const repo = findRepo(req.cwd);
	const view = await loadRun(repo, req.runId);
	await assertLocal(view);
	const { state, status } = view;
	if (status === "running" || status === "pending")
		throw new UsageError(`run ${req.runId} is ${status} (coordinator pid ${view.coordinator?.pid}): nothing to resume`);
	reopenForResume(state, req.requeue ?? []); // refuse early, with the same reasons the coordinator applies
	const { catalog, config } = await context(repo);
	await assertDepth(config);
	// The policy as it is now holds a resumed run too: the models it recorded, before any worker starts again.
	if (state.settings.runtime !== "scaffold") {
		const plan = planFromState(state, catalog, projectTrust(repo).trusted);
		const { assertModelPolicy } = await import("./model-policy.js");
		const piDefault = async () =>
			(await (await import("./models.js")).resolveEach(new Map([[undefined, []]]), repo)).piDefaultModel;
		await assertModelPolicy(plan, state.settings, config.values.models.allow, piDefault);
	}
	const start: StartRequest = {
		kind: "resume",
		runId: req.runId,
		requeue: req.requeue ?? [],
		...(req.unattended ? { unattended: true } : {}),
	};
	if (req.background) return startBackground(repo, start);
	return coordinateHere(repo, start, { signal: req.signal, onEvent: req.onEvent });
}

export type CancelResult =
	| { outcome: "cancelled"; view: RunView }
	| { outcome: "already-ended"; view: RunView }
	| { outcome: "not-running"; view: RunView; reaped: number };

/**
 * Asks the run's coordinator (foreground or background, any process) to cancel, through its control channel, and
 * waits for the run to end. A finished run is a no-op; an interrupted one has nothing to stop but stray processes.
 * Whatever its log's integrity: stopping a run trusts nothing the log says (a tampered log's fold never shows the end,
 * so the wait ends when the coordinator lets go of the run).
 */
export async function cancel(cwd: string | undefined, runId: string, waitMs = 10_000): Promise<CancelResult> {
	const repo = findRepo(cwd);
	const view = await loadRun(repo, runId);
	if (TERMINAL_RUN.has(view.status)) return { outcome: "already-ended", view };
	if (view.status === "interrupted") return { outcome: "not-running", view, reaped: await reapTask(runId) };
	await sendControl(view.paths, { type: "cancel", from: `pi-crew cancel (pid ${process.pid})` });
	const tail = new RunTail(repo, runId);
	const deadline = Date.now() + waitMs;
	for (;;) {
		await tail.poll();
		const now = await tail.view();
		if (now.status !== "running" && now.status !== "pending") return { outcome: "cancelled", view: now };
		if (Date.now() > deadline)
			throw new OperationError(
				`run ${runId} did not stop within ${waitMs / 1000}s of the cancel request; its coordinator (pid ${now.coordinator?.pid}) may be stuck. ` +
					`Check: pi-crew status ${runId}. If it stays running, stop that process; the run then reads interrupted and can be resumed.`,
			);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

/**
 * Runs of this repository that were interrupted: their coordinator died holding the lease (a finished or cancelled
 * run releases it). Only lease files are read for the rest, so this is cheap enough for pi's session start. A lease
 * held by a live process, or on another host, is never touched.
 */
export async function findInterrupted(cwd: string | undefined): Promise<RunView[]> {
	const repo = findRepo(cwd);
	const found: RunView[] = [];
	for (const id of await listRunIds(repo)) {
		const holder = await readLease(runPaths(repo, id).lease).catch(() => undefined);
		if (!holder || holderLiveness(holder) !== "dead") continue;
		const view = await loadRun(repo, id).catch(() => undefined);
		// A run that arrived with the repository is never offered for resume (see assertLocal).
		if (view?.status === "interrupted" && !untrustedReason(view) && !(await foreignReason(view.state)))
			found.push(view);
	}
	return found;
}

/**
 * Puts a failed task of a finished run on the dead-letter queue by hand (reason `manual`), to requeue it later.
 * Writes the log as its owner: it takes the run's lease first, like any coordinator.
 */
export async function deadLetterTask(cwd: string | undefined, runId: string, taskId: string): Promise<RunView> {
	const repo = findRepo(cwd);
	const view = await loadRun(repo, runId);
	await assertLocal(view);
	if (!TERMINAL_RUN.has(view.status))
		throw new UsageError(`run ${runId} is ${view.status}; dead-letter its tasks once it has ended`);
	const task = view.state.tasks.get(taskId);
	if (task?.status !== "failed")
		throw new UsageError(
			`task "${taskId}" is ${task?.status ?? "not a task of this run"}; only failed tasks can be dead-lettered`,
		);
	if (task.deadLetter) return view;
	const lease = await acquireLease(view.paths.lease);
	try {
		const log = await EventLogWriter.resume(view.paths.events, runId);
		const detail = task.reason ?? "failed";
		await log.append("task.deadlettered", { reason: "manual", detail }, taskId);
		await log.close();
	} finally {
		await lease.release();
	}
	return loadRun(repo, runId);
}

/**
 * Sends a message to a running task of a run (the only running one, or `taskId`) through the control channel, and
 * waits for the coordinator's answer: delivered, or why not (the task is not running, its worker has ended).
 * `followUp`: after the worker's current turn instead of before its next model call.
 */
export async function steer(
	cwd: string | undefined,
	runId: string,
	message: string,
	taskId?: string,
	{ followUp = false }: { followUp?: boolean } = {},
): Promise<{ delivered: boolean; taskId?: string; reason?: string }> {
	const repo = findRepo(cwd);
	const view = await loadRun(repo, runId);
	if (view.status !== "running") throw new UsageError(`run ${runId} is ${view.status}: nothing to steer`);
	if (!message.trim()) throw new UsageError("the message is empty");
	const after = view.state.lastSeq;
	const from = `pi-crew (pid ${process.pid})`;
	await sendControl(view.paths, { type: "steer", message, taskId, ...(followUp && { followUp }), from });
	const tail = new RunTail(repo, runId);
	for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
		const answer = (await tail.poll()).find((e) => e.seq > after && e.type === "task.steered");
		if (answer?.type === "task.steered")
			return { delivered: answer.data.delivered, taskId: answer.taskId, reason: answer.data.reason };
		const now = await tail.view();
		if (now.status !== "running") return { delivered: false, reason: `the run ended ${now.status} first` };
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	throw new OperationError(`run ${runId}'s coordinator did not answer the steer message within 15s`);
}

/**
 * Answers the question task `taskId` of run `runId` waits for, from any process: sent through the run's control
 * channel, delivered by its coordinator (`task.answered`). A run that no coordinator runs now (interrupted) gets it
 * when it is resumed: `queued`.
 */
export async function respond(
	cwd: string | undefined,
	runId: string,
	taskId: string,
	answer: string,
): Promise<{ questionId: string; text: string; queued?: boolean }> {
	const repo = findRepo(cwd);
	const view = await loadRun(repo, runId);
	const task = view.state.tasks.get(taskId);
	if (!task)
		throw new UsageError(
			`run ${runId} has no task "${taskId}" (its tasks: ${[...view.state.tasks.keys()].join(", ")})`,
		);
	const waiting = task.waiting;
	if (waiting?.kind !== "question" || TERMINAL_RUN.has(view.status))
		throw new UsageError(
			`task ${taskId} of run ${runId} is not waiting for an answer (it is ${shownTaskStatus(task)})`,
		);
	if (!answer.trim()) throw new UsageError("the answer is empty");
	const text = matchAnswer(waiting.choices, answer);
	if (text === undefined)
		throw new UsageError(`"${answer}" is not one of the choices: ${(waiting.choices ?? []).join(", ")}`);
	const after = view.state.lastSeq;
	const from = `pi-crew (pid ${process.pid})`;
	await sendControl(view.paths, { type: "respond", taskId, questionId: waiting.id, answer: text, from });
	if (view.status !== "running") return { questionId: waiting.id, text, queued: true };
	const tail = new RunTail(repo, runId);
	for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
		const answered = (await tail.poll()).find(
			(e) => e.seq > after && e.type === "task.answered" && e.data.id === waiting.id,
		);
		if (answered?.type === "task.answered") return { questionId: waiting.id, text: answered.data.text };
		const now = await tail.view();
		if (now.status !== "running") return { questionId: waiting.id, text, queued: true };
		if (now.state.tasks.get(taskId)?.waiting?.id !== waiting.id)
			throw new OperationError(
				`task ${taskId} stopped waiting for that answer (it is ${shownTaskStatus(now.state.tasks.get(taskId) ?? task)})`,
			);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	throw new OperationError(
		`run ${runId}'s coordinator did not log the answer within 15s; see whether the task still waits: pi-crew status ${runId}`,
	);
}

/** Dead-lettered tasks of one run, or of every run of the repository. */
export async function listDeadLetters(cwd: string | undefined, runId?: string): Promise<DeadLetter[]> {
	const repo = findRepo(cwd);
	if (runId) return deadLetters((await loadRun(repo, runId)).state); // a named run must exist
	const all: DeadLetter[] = [];
	for (const id of await listRunIds(repo)) {
		const view = await loadRun(repo, id).catch(() => undefined);
		if (view) all.push(...deadLetters(view.state));
	}
	return all;
}

/** What `approve` did: approved (with the plan's tasks dropped), or rejected with feedback. */
export interface ApproveResult {
	taskId: string;
	outcome: "approved" | "rejected";
	drop?: string[];
}

/**
 * Approves the answer a task waits for approval with (the only one waiting, or `taskId`), or rejects it with
 * feedback (`reject`); `drop`: tasks of an adaptive planner's plan that are not to run. Sent through the control
 * channel; resolves once the coordinator has logged the verdict.
 */
export async function approve(
	cwd: string | undefined,
	runId: string,
	{ taskId, drop, reject }: { taskId?: string; drop?: string[]; reject?: string } = {},
): Promise<ApproveResult> {
	const repo = findRepo(cwd);
	const view = await loadRun(repo, runId);
	const waiting = [...view.state.tasks.values()].filter((t) => t.waiting?.kind === "approval");
	if (view.status !== "running" || waiting.length === 0)
		throw new UsageError(`run ${runId} is ${view.status}: nothing waits for approval`);
	const task = taskId ? waiting.find((t) => t.id === taskId) : waiting.length === 1 ? waiting[0] : undefined;
	if (!task)
		throw new UsageError(
			taskId
				? `task ${taskId} of run ${runId} does not wait for approval (waiting: ${waiting.map((t) => t.id).join(", ")})`
				: `say which task: ${waiting.map((t) => t.id).join(", ")} wait for approval`,
		);
	const shown = task.waiting?.kind === "approval" ? task.waiting : undefined;
	if (!shown) throw new UsageError(`task ${task.id} does not wait for approval`);
	if (reject !== undefined && !reject.trim()) throw new UsageError("the feedback of --reject is empty");
	if (drop?.length) {
		if (reject !== undefined) throw new UsageError("--drop goes with an approval, not with --reject");
		const ids = (shown.plan ?? []).map((s) => s.id);
		if (!shown.plan)
			throw new UsageError(`--drop is for an adaptive planner's plan; task ${task.id} has none to drop from`);
		const unknown = drop.filter((d) => !ids.includes(d));
		if (unknown.length > 0)
			throw new UsageError(
				`--drop: ${unknown.join(", ")} not in the plan of ${task.id} (its tasks: ${ids.join(", ")})`,
			);
	}
	const after = view.state.lastSeq;
	const from = `pi-crew (pid ${process.pid})`;
	await sendControl(view.paths, {
		type: "approve",
		taskId: task.id,
		approvalId: shown.id,
		...(drop?.length ? { drop } : {}),
		...(reject !== undefined ? { reject } : {}),
		from,
	});
	const tail = new RunTail(repo, runId);
	for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
		for (const e of await tail.poll()) {
			if (e.seq <= after || e.taskId !== task.id) continue;
			if (e.type === "task.approved" && e.data.id === shown.id)
				return { taskId: task.id, outcome: "approved", ...(e.data.drop ? { drop: e.data.drop } : {}) };
			if (e.type === "task.rejected" && e.data.id === shown.id) return { taskId: task.id, outcome: "rejected" };
		}
		const now = await tail.view();
		if (now.status !== "running") throw new OperationError(`run ${runId} ended ${now.status} first`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	throw new OperationError(`run ${runId}'s coordinator did not answer the approval within 15s`);
}
