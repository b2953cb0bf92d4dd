/**
 * One task, from its prompt to its terminal event: attempts, retry with backoff, the rate-limit gate, heartbeats
 * and dead-letter. The task stays `running` between attempts; it fails only when its attempts are exhausted.
 */
import { join, relative } from "node:path";
import type { DeadLetterReason } from "../store/events.js";
import { attemptDir, CREW_STATE, writeArtifact } from "../store/run-store.js";
import { withCorrelation } from "../util/correlation.js";
import { OperationError } from "../util/errors.js";
import { makeDirs, readConfined } from "../util/safe-fs.js";
import {
	failure,
	type Review,
	StopRequest,
	type TaskSpec,
	type WorkerEvent,
	type WorkerOutcome,
} from "../workers/runtime.js";
import { runVerify } from "../workers/verify.js";
import { workerEnv } from "../workers/worker-env.js";
import type { Snapshot } from "../workspace/snapshot.js";
import type { Workspace } from "../workspace/worktrees.js";
import { type PlannedStep, parsePlan, planFormat } from "./adaptive.js";
import { ApprovalRounds, withoutDropped } from "./approval.js";
import { type RunContext, sleep } from "./context.js";
import { deadLetterAlert } from "./deadletter-alert.js";
import { askingVerdict, judge, loopReview, sentBack } from "./loop.js";
import { type PlannedTask, plannedPayload, plannedTask, taskModels, taskTools, taskWrites } from "./plan.js";
import { type DependencyResult, messagesSection, systemPrompt, taskPrompt } from "./prompt.js";
import { attemptRequests } from "./requests.js";
import { recoverResolution, resolveConflict } from "./resolve.js";
import { retryDelay } from "./retry.js";
import { type ReviewWork, reviewRounds } from "./review.js";
import { workerShape } from "./shape.js";
import type { AttemptFiles, SideWorker } from "./side-worker.js";

/** A task may wait for the rate-limit gate this often before a rate limit counts as an ordinary failure. */
const MAX_RATE_LIMIT_WAITS = 5;

export async function runTask(ctx: RunContext, task: PlannedTask): Promise<void> {
	const id = task.id;
	const dir = `tasks/${id}`;
	const tools = taskTools(ctx.settings, task.agent);
	// A step may ask to work in the checkout (`isolation: shared`).
	const writes = taskWrites(ctx.settings, task.agent);
	const isolated = task.isolation !== "shared" ? ctx.workspace : undefined;
	const workspace = writes ? isolated : undefined;
	const known = ctx.state().tasks.get(id);
	const messages = await ctx.mailbox.claim(id);
	let prompt = taskPrompt(task, {
		goal: ctx.goal,
		deps: await dependencyResults(ctx, task),
		reads: await readResults(ctx, task),
		messages,
		projectTrusted: ctx.projectTrusted,
	});
	prompt += sentBack(known);
	// A loop's next round, for its kept worker (kept.ts): the finding and new messages; its first prompt it has.
	let followUp = known?.finding
		? `${sentBack(known).trimStart()}${messages.length ? `\n${messagesSection(messages)}` : ""}`
		: undefined;
	// A loop's later round: its prompt beside its attempt, the first round's kept.
	const promptAt = known?.round ? `${attemptDir(id, known.attempt + 1)}/prompt.md` : `${dir}/prompt.md`;
	const promptFile = await writeArtifact(ctx.paths, promptAt, prompt);
	const started = async () => {
		const attempt = (ctx.state().tasks.get(id)?.attempt ?? 0) + 1;
		await ctx.log.append("task.started", { attempt, promptPath: relative(ctx.paths.dir, promptFile) }, id);
	};
	let cwd = ctx.repo;
	try {
		// A writer works on a branch of its own; in an isolated run a reader reads the run's work so far.
		if (isolated) cwd = writes ? await isolated.prepare(id, known?.round !== undefined) : await isolated.view(id);
	} catch (err) {
		if (!(err instanceof OperationError)) throw err;
		await started();
		await fail(ctx, id, `its worktree could not be made: ${err.message}`);
		return;
	}
	// A writer in the checkout itself: what it changed there is recorded as trees of the checkout (`diff`).
	const inCheckout = writes && cwd === ctx.repo;
	const committed = ctx.state().tasks.get(id)?.committed;
	if (workspace && committed) {
		// Its work was committed before the run stopped (a crash mid-merge, or a conflict resolved by hand): merge it.
		await started();
		return landOrFail(ctx, workspace, task, committed);
	}
	if (task.adaptive)
		prompt += `\n${planFormat(ctx.plan.roles, new Set([...ctx.state().tasks.values()].filter((t) => !t.from).map((t) => t.role)))}`;
	const models = taskModels(ctx.settings, task);
	const loop = {
		promptPath: promptFile,
		failures: 0,
		rateLimitWaits: 0,
		/** Which of `models` the next attempt runs on: a rate limit or an outage moves on to the next. */
		model: 0,
		/** The next attempt is a fallback's: it does not wait for the rate-limit gate another model closed. */
		fallingBack: false,
	};
	let replanned = false;
	/** One attempt, in its own correlation span: whether another follows. */
	const attemptOnce = async (attempt: number): Promise<"again" | "done"> => {
		const taskDir = join(ctx.paths.artifacts, attemptDir(id, attempt));
		await makeDirs(ctx.paths.repo, taskDir);
		const late = await ctx.mailbox.claimRetry(id, attempt);
		if (late.length > 0) {
			prompt += `\n${messagesSection(late)}`;
			if (followUp) followUp += `\n${messagesSection(late)}`;
			loop.promptPath = await writeArtifact(ctx.paths, `${attemptDir(id, attempt)}/prompt.md`, prompt);
		}
		const system = systemPrompt(task, ctx.plan.team, attempt);
		const systemPromptPath = await writeArtifact(ctx.paths, `${attemptDir(id, attempt)}/system.md`, system);
		const { promptPath } = loop;
		const model = models[loop.model];
		const sandboxed = ctx.runtime.sandboxed?.({ tools, extensions: task.agent.extensions });
		await ctx.log.append(
			"task.started",
			{
				attempt,
				promptPath: relative(ctx.paths.dir, promptPath),
				...(model ? { model } : {}),
				...(sandboxed !== undefined ? { sandboxed } : {}),
			},
			id,
		);
		const approval = task.approval ? new ApprovalRounds(ctx, task, attempt) : undefined;
		const verdict = ctx.state().tasks.get(id)?.verdict?.seq;
		const checked = await recordingCheckout(ctx, id, inCheckout, async (before) => {
			const files = { prompt, promptPath, systemPromptPath, taskDir, keep: { followUp } };
			// A reviewer agent judges each answer while the worker stays open (after the verify command, before approval).
			const work: ReviewWork = {
				attempt,
				cwd,
				base: workspace ? "head" : inCheckout ? before : undefined,
				run: (side, sideFiles, dir, sideModel, hooks) =>
					runAttempt(ctx, side, sideFiles, dir, sideModel, undefined, hooks),
			};
			const reviewer = reviewRounds(ctx, task, {
				...work,
				command: (answer) => verify(ctx, task, cwd, attemptDir(id, attempt), { kind: "succeeded", answer }),
				approval,
			});
			const review =
				reviewer ?? (approval ? (answer: string, stop: AbortSignal) => approval.review(answer, stop) : undefined);
			const ran = await runAttempt(ctx, task, files, cwd, model, review);
			if (ran.kind !== "succeeded" || !task.verify || reviewer) return ran;
			// A loop that takes its verdict from a reviewer asks it once the command passed (its findings go to `to`).
			return loopReview(ctx, task, work, await verify(ctx, task, cwd, attemptDir(id, attempt), ran));
		});
		const outcome = await judge(ctx, task, verdict, checked, workspace && (() => workspace.discard(id)));
		// Its worker, kept for a loop's next round, is not once this answer does not stand.
		if (outcome === "looped" || outcome.kind !== "succeeded") ctx.kept.release(id);
		if (outcome === "looped") return "done";
		if (outcome.kind === "succeeded" && task.adaptive && !expandedAlready(ctx, id)) {
			const plan = parsePlan(outcome.answer, ctx.plan.roles, new Set(ctx.state().tasks.keys()));
			if ("errors" in plan) {
				const reason = `invalid plan: ${plan.errors.join("; ")}`;
				if (replanned) return fail(ctx, id, reason);
				// One re-plan, told what was wrong.
				replanned = true;
				prompt += `\n## Your previous plan was rejected\n\n${plan.errors.map((e) => `- ${e}`).join("\n")}\n\nAnswer again with a corrected plan.\n`;
				loop.promptPath = await writeArtifact(ctx.paths, `${attemptDir(id, attempt + 1)}/prompt.md`, prompt);
				await ctx.log.append("task.retrying", { attempt, reason, delayMs: 0 }, id);
				return "again";
			}
			await expand(ctx, task, withoutDropped(plan.steps, approval?.dropped ?? []));
		}
		if (outcome.kind === "succeeded") {
			const resultPath = await writeArtifact(ctx.paths, `${dir}/result.md`, outcome.answer);
			const result = { resultPath: relative(ctx.paths.dir, resultPath), chars: outcome.answer.length };
			ctx.gate.opened();
			if (!workspace) {
				await ctx.log.append("task.succeeded", result, id);
				return "done";
			}
			const commit = await workspace
				.commit(id, { role: task.role, answer: outcome.answer, agent: task.agent.name, model })
				.catch((err: Error) => err);
			if (commit instanceof Error) {
				if (!(commit instanceof OperationError)) throw commit;
				return fail(ctx, id, `its work could not be committed: ${commit.message}`);
			}
			await ctx.log.append("task.committed", { ...result, ...commit }, id);
			await landOrFail(ctx, workspace, task, result);
			return "done";
		}
		const { kind, detail } = outcome;
		if (kind === "cancelled") {
			await ctx.log.append("task.cancelled", { reason: detail }, id);
			return "done";
		}
		if (kind === "stalled") return fail(ctx, id, detail, "heartbeat-dead");
		// The agent's fallback models, in order, before any wait or retry policy: the agent asked for them.
		const fallback = models[loop.model + 1];
		if ((kind === "rate_limited" || kind === "provider_unavailable") && fallback) {
			loop.model++;
			loop.fallingBack = true;
			await ctx.log.append("task.retrying", { attempt, reason: detail, delayMs: 0, fallback }, id);
			return "again";
		}
		const retry = ctx.settings.retry;
		if (!retry || !outcome.retryable) return fail(ctx, id, detail);
		if (kind === "rate_limited" && loop.rateLimitWaits < MAX_RATE_LIMIT_WAITS) {
			loop.rateLimitWaits++;
			const delayMs = await ctx.gate.close(detail);
			await ctx.log.append("task.retrying", { attempt, reason: detail, delayMs, rateLimited: true }, id);
			return "again";
		}
		loop.failures++;
		if (loop.failures >= retry.maxAttempts)
			return fail(ctx, id, `${detail} (attempt ${attempt}, retries exhausted)`, "max-retries");
		const delayMs = retryDelay(retry, loop.failures, ctx.random);
		await ctx.log.append("task.retrying", { attempt, reason: detail, delayMs }, id);
		await sleep(delayMs, ctx.cancel);
		return "again";
	};
	for (;;) {
		if (!loop.fallingBack) await ctx.gate.wait(ctx.cancel);
		loop.fallingBack = false;
		if (ctx.cancel.aborted) {
			await ctx.log.append("task.cancelled", { reason: "run cancelled" }, id);
			return;
		}
		const attempt = (ctx.state().tasks.get(id)?.attempt ?? 0) + 1;
		const span = { runId: ctx.log.runId, taskId: id, span: String(attempt) };
		if ((await withCorrelation(span, () => attemptOnce(attempt))) === "done") return;
	}
}

/**
 * Runs an attempt; for a task that writes in the checkout, records what it changed there as two trees of the checkout
 * (`task.changed`, for `diff`), or why one of them was not taken (no git repository, too large).
 */
async function recordingCheckout(
	ctx: RunContext,
	id: string,
	inCheckout: boolean,
	attempt: (before: Snapshot | undefined) => Promise<WorkerOutcome>,
): Promise<WorkerOutcome> {
	if (!inCheckout) return attempt(undefined);
	const { checkoutTree } = await import("../workspace/snapshot.js");
	const before = await checkoutTree(ctx.repo, CREW_STATE);
	const outcome = await attempt(before);
	const after = await checkoutTree(ctx.repo, CREW_STATE);
	await ctx.log.append("task.changed", changedBetween(before, after), id);
	return outcome;
}

/** What `task.changed` records of an attempt: the trees around it, or why one of them was not taken. */
function changedBetween(before: Snapshot, after: Snapshot): { from: string; to: string } | { skipped: string } {
	if ("skipped" in before) return before;
	if ("skipped" in after) return after;
	return { from: before.tree, to: after.tree };
}

/**
 * The step's verify command, run by the host in the task's directory once its agent succeeded: the task succeeds only
 * if it exits 0. A repository's command runs only while the repository is trusted (checked again here: a run that
 * started trusted may be resumed after the trust was taken back).
 */
export async function verify(
	ctx: RunContext,
	task: PlannedTask,
	cwd: string,
	/** Its artifacts' directory, relative (`tasks/<id>/attempt-<n>`): `verify.log` goes there. */
	dir: string,
	succeeded: WorkerOutcome,
): Promise<WorkerOutcome> {
	const check = task.verify;
	if (!check?.command) return succeeded;
	const command = check.command;
	const { scope, refused } = check;
	if (refused) return failure("verify_failed", refused, false);
	if (scope === "project" && !ctx.projectTrusted)
		return failure(
			"verify_failed",
			`verify \`${command}\` not run: it comes from the repository's workflow and the repository is not trusted`,
			false,
		);
	const outputFile = join(ctx.paths.artifacts, dir, "verify.log");
	const env = await workerEnv(
		{ runId: ctx.log.runId, taskId: task.id, cwd, repo: ctx.repo, projectTrusted: ctx.projectTrusted },
		{ allow: ctx.allowEnv, credentials: false },
	);
	const run = await runVerify({
		command,
		cwd,
		env,
		timeoutMs: ctx.settings.taskTimeoutMs,
		dir: join(ctx.paths.artifacts, dir),
		outputFile,
		signal: ctx.cancel,
		runId: ctx.log.runId,
		taskId: task.id,
		confine: (program, tmp) =>
			ctx.runtime.confine?.(program, { cwd, repo: ctx.repo }, tmp, env) ?? Promise.resolve(program),
	});
	const passed = run.code === 0;
	await ctx.log.append(
		"task.verified",
		{
			command,
			code: run.code,
			passed,
			outputPath: relative(ctx.paths.dir, outputFile),
			...(run.stopped ? { reason: run.stopped } : {}),
		},
		task.id,
	);
	if (!passed && ctx.cancel.aborted) return failure("cancelled", "run cancelled while verifying");
	const tail = run.tail.trim() ? `:\n${run.tail.trim()}` : " (no output)";
	const detail = passed ? "" : `verify \`${command}\` ${run.stopped ?? `exited with code ${run.code}`}${tail}`;
	// A loop until its verify passes: the exit code is the step's verdict (engine/loop.ts).
	if (task.loop?.until === "verify")
		await ctx.log.append("task.verdict", { clean: passed, findings: detail, by: "command", source: command }, task.id);
	return passed ? succeeded : failure("verify_failed", detail);
}

function expandedAlready(ctx: RunContext, id: string): boolean {
	return [...ctx.state().tasks.values()].some((t) => t.from === id);
}

/**
 * Adds a plan's tasks to the run: each waits for the planning task (and its phase's predecessors); tasks that waited
 * for the planning task now also wait for everything the plan added. Logged before the planner's success, so the
 * scheduler never sees the planner done without its tasks.
 */
async function expand(ctx: RunContext, planner: PlannedTask, steps: PlannedStep[]): Promise<void> {
	const added: string[] = [];
	for (const step of steps) {
		const agent = ctx.plan.roles.get(step.role);
		if (!agent) continue; // parsePlan checked the roles
		const model = ctx.plan.roleModels?.get(step.role);
		const task: PlannedTask = {
			id: step.id,
			role: step.role,
			agent,
			dependsOn: [planner.id, ...step.dependsOn],
			template: step.task,
			output: step.id,
			from: planner.id,
			...(model ? { model } : {}),
			...(planner.scope ? { scope: planner.scope } : {}),
			// The team's or the config's reviewer judges a writing task the plan adds, as it does the planned ones.
			...(ctx.settings.reviewer && taskWrites(ctx.settings, agent) ? { verify: ctx.settings.reviewer } : {}),
		};
		added.push(task.id);
		await ctx.log.append("task.planned", plannedPayload(task), task.id);
	}
	for (const waiter of ctx.state().tasks.values())
		if (waiter.status === "pending" && waiter.dependsOn.includes(planner.id) && !added.includes(waiter.id))
			await ctx.log.append("task.depends", { add: added }, waiter.id);
}

/**
 * Merges an isolated task's committed work into the run's integration branch: it succeeds, or a conflict goes to the
 * run's resolver agent (resolve.ts) and needs attention only if that fails; a git that cannot merge (broken, or too
 * old) fails the task, not the run.
 */
async function landOrFail(
	ctx: RunContext,
	workspace: Workspace,
	task: PlannedTask,
	result: { resultPath: string; chars: number },
): Promise<void> {
	const id = task.id;
	const landing = await recoverResolution(ctx, workspace, id)
		.then(() => workspace.land(id))
		.catch((err: Error) => err);
	if (landing instanceof Error) {
		if (!(landing instanceof OperationError)) throw landing;
		await fail(ctx, id, `its work could not be merged: ${landing.message}`);
		return;
	}
	if ("merged" in landing) {
		await ctx.log.append("task.succeeded", { ...result, merged: landing.merged }, id);
		return;
	}
	const resolved = await resolveConflict(ctx, workspace, task, landing.conflict);
	if (resolved && "merged" in resolved) await ctx.log.append("task.succeeded", { ...result, ...resolved }, id);
	else if (resolved && "cancelled" in resolved)
		await ctx.log.append("task.cancelled", { reason: resolved.cancelled }, id);
	else {
		const resolver = resolved ? { resolver: resolved.failed } : {};
		await ctx.log.append("task.conflicted", { files: landing.conflict, ...workspace.place(id), ...resolver }, id);
	}
}

export async function runAttempt(
	ctx: RunContext,
	task: PlannedTask,
	files: AttemptFiles,
	cwd: string,
	model: string | undefined,
	review: ((answer: string, stop: AbortSignal) => Promise<Review>) | undefined,
	side?: SideWorker,
): Promise<WorkerOutcome> {
	const id = task.id;
	const run = { runId: ctx.log.runId, repo: ctx.repo, projectTrusted: ctx.projectTrusted, settings: ctx.settings };
	const shape = workerShape(run, task, cwd, model);
	if ("kind" in shape) return shape;
	const { crewTools = [], ...started } = shape;
	const stopper = new AbortController();
	const onCancel = () => stopper.abort(new StopRequest("cancel", "cancelled"));
	const stops = [ctx.cancel, ...(side ? [side.stop] : [])];
	for (const s of stops) s.addEventListener("abort", onCancel, { once: true });
	if (stops.some((s) => s.aborted)) onCancel();
	if (!side)
		ctx.watcher.track(id, (silentMs) =>
			stopper.abort(new StopRequest("heartbeat-dead", `heartbeat dead: no output for ${Math.round(silentMs / 1000)}s`)),
		);
	// A question nobody can answer ends the attempt, and the task fails with it (no retry could answer it either).
	let unanswerable: string | undefined;
	const end = (reason: string) => {
		unanswerable ??= reason;
		stopper.abort(new StopRequest("cancel", reason));
	};
	// The agent's own `verdict` call (its last one stands), logged once the attempt succeeds.
	let verdict: { clean: boolean; findings: string } | undefined;
	const reviewing = side ? review : askingVerdict(task, review, () => verdict !== undefined);
	const spec: TaskSpec = {
		...started,
		taskId: side?.id ?? id,
		agent: task.agent.name,
		...files,
		maxTurns: task.agent.maxTurns,
		timeoutMs: ctx.settings.taskTimeoutMs,
		...(!side && { channel: (channel) => (channel ? ctx.channels.set(id, channel) : ctx.channels.delete(id)) }),
		...(reviewing ? { review: (answer: string) => reviewing(answer, stopper.signal) } : {}),
		...(crewTools.length > 0 && {
			crew: {
				tools: [...crewTools],
				request: attemptRequests(crewTools, async (request) => {
					if (request.type === "ask") return ctx.questions.ask(id, request, stopper.signal, end);
					if (request.type === "message") return ctx.mailbox.send(id, request);
					verdict = { clean: request.clean, findings: request.findings };
					side?.verdict(verdict);
					return verdict.clean
						? "Verdict recorded: clean."
						: "Verdict recorded: not clean. Your findings go back with the work to be fixed.";
				}),
			},
		}),
	};
	const progress: Promise<unknown>[] = [];
	let logFailure: Error | undefined;
	// A failed append (disk full) stops the worker; its error surfaces once the worker is gone, never unhandled.
	const record = (append: Promise<unknown>) =>
		progress.push(
			append.catch((err: Error) => {
				logFailure ??= err;
				stopper.abort(new StopRequest("cancel", `cannot write the run's log: ${err.message}`));
			}),
		);
	const onEvent = (event: WorkerEvent) => {
		ctx.watcher.beat(id);
		if (event.type === "tool") {
			const { type: _, ...data } = event;
			record(ctx.log.append("task.tool", data, id));
		} else if (event.type === "usage") record(ctx.log.append("task.usage", event.usage, id));
		else if (event.type === "model-retry") {
			const { type: _, ...data } = event;
			record(ctx.log.append("task.model_retry", data, id));
		}
	};
	let outcome: WorkerOutcome;
	try {
		// The task's own worker may be kept for a loop's next round (kept.ts), or be that kept worker.
		outcome = await (files.keep
			? ctx.kept.run(spec, stopper.signal, onEvent, files.keep.followUp)
			: ctx.runtime.run(spec, stopper.signal, onEvent));
	} catch (err) {
		outcome = failure("spawn_failed", `worker runtime failed: ${(err as Error).message}`);
	} finally {
		// Requests and reviews still open once the worker is gone (it died) end with it: none waits on for the next attempt.
		stopper.abort(new StopRequest("cancel", "the attempt ended"));
		if (!side) ctx.watcher.untrack(id);
		for (const s of stops) s.removeEventListener("abort", onCancel);
		await Promise.all(progress);
	}
	if (logFailure) throw logFailure;
	if (unanswerable) return failure("no_answer", unanswerable, false);
	if (outcome.kind === "succeeded" && verdict && !side)
		await ctx.log.append("task.verdict", { ...verdict, by: "self" }, id);
	return outcome;
}

async function fail(ctx: RunContext, id: string, reason: string, deadLetter?: DeadLetterReason): Promise<"done"> {
	await ctx.log.append("task.failed", { reason }, id);
	if (!deadLetter) return "done";
	await ctx.log.append("task.deadlettered", { reason: deadLetter, detail: reason }, id);
	await deadLetterAlert(ctx);
	return "done";
}

/** The results of the earlier tasks it reads (`reads:`) that it does not also depend on; one that has none is left out. */
async function readResults(ctx: RunContext, task: PlannedTask): Promise<DependencyResult[]> {
	const state = ctx.state();
	const deps = new Set(state.tasks.get(task.id)?.dependsOn ?? task.dependsOn);
	const reads = (task.reads ?? []).filter((r) => !deps.has(r) && state.tasks.get(r)?.resultPath);
	return Promise.all(
		reads.map(async (readId) => {
			const rel = state.tasks.get(readId)?.resultPath ?? "";
			const path = join(ctx.paths.dir, rel);
			return { task: plannedTask(state, ctx.plan, readId), text: await readConfined(ctx.paths.dir, rel), path };
		}),
	);
}

/** The results of what the task waits for, as the log says: an adaptive plan may have added to it (`task.depends`). */
async function dependencyResults(ctx: RunContext, task: PlannedTask): Promise<DependencyResult[]> {
	const state = ctx.state();
	return Promise.all(
		(state.tasks.get(task.id)?.dependsOn ?? task.dependsOn).map(async (depId) => {
			const rel = state.tasks.get(depId)?.resultPath ?? "";
			const path = join(ctx.paths.dir, rel);
			return { task: plannedTask(state, ctx.plan, depId), text: await readConfined(ctx.paths.dir, rel), path };
		}),
	);
}
