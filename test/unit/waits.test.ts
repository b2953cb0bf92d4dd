/**
 * Waits for a person in the engine (runtimes that only ask or answer): an answer reused only across a resume, a
 * question compared as it was logged, the wall budget over every wait, words that arrive before the wait is durable,
 * and requests that end with their attempt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ApprovalRounds, type ApproveCommand } from "../../src/engine/approval.js";
import type { RunContext } from "../../src/engine/context.js";
import { sendControl } from "../../src/engine/control.js";
import { executeRun } from "../../src/engine/coordinator.js";
import { planRun } from "../../src/engine/plan.js";
import { Questions } from "../../src/engine/questions.js";
import { PersonWaits } from "../../src/engine/waits.js";
import { loadCatalog } from "../../src/resources/catalog.js";
import { readEventLog } from "../../src/store/event-log.js";
import type { RunState, Waiting } from "../../src/store/events.js";
import { createRunDir } from "../../src/store/run-store.js";
import { failure, type TaskSpec, type WorkerOutcome } from "../../src/workers/runtime.js";
import { approvalTeam } from "../support/approval.js";
import { fixtures, projectTeam, sandbox } from "../support/index.js";
import { askingRun, askingRuntime, responder, resumeWaiting, waitingRun } from "../support/waits.js";

// Without the fixes below these runs wait forever: each test is bounded.
const BOUNDED = { timeout: 30_000 };

async function typesOf(file: string, type: string) {
	return (await readEventLog(file)).events.filter((e) => e.type === type);
}

test(
	"the same question asked twice in one attempt is asked twice: an answer is not reused within its attempt",
	BOUNDED,
	async () => {
		const box = await sandbox();
		const replies: string[] = [];
		const run = await askingRun(
			box,
			askingRuntime(["Ready to proceed?", "Ready to proceed?"], replies),
			responder((n) => `yes ${n}`),
		);
		assert.equal(run.state.status, "succeeded", run.state.reason);
		assert.deepEqual(replies, ["yes 1", "yes 2"]);
		assert.equal((await typesOf(run.paths.events, "task.asked")).length, 2);
	},
);

test(
	"a question holding a secret-like string, answered after its coordinator died, is answered from the log once resumed",
	BOUNDED,
	async () => {
		const box = await sandbox();
		const question = "Deploy with the key sk-ant-abcdefghijklmnopqrstu?";
		const { plan, paths } = await waitingRun(box, "r-secret", question);
		await sendControl(paths, { type: "respond", taskId: "decide", questionId: "decide.q1", answer: "go", from: "t" });
		const replies: string[] = [];
		const run = await resumeWaiting(box, "r-secret", plan, askingRuntime([question], replies));
		assert.equal(run.state.status, "succeeded", run.state.reason);
		assert.deepEqual(replies, ["go"]);
		const asked = await typesOf(paths.events, "task.asked");
		assert.equal(asked.length, 1, "asked once");
		assert.doesNotMatch(JSON.stringify(asked), /sk-ant-abcdef/);
	},
);

test(
	"a resumed task that waits for an answer before it starts still ends at the run's wall budget",
	BOUNDED,
	async () => {
		const box = await sandbox();
		const { plan } = await waitingRun(box, "r-wall", "Which one?", { budget: { maxWallMs: 1000 } });
		const run = await resumeWaiting(box, "r-wall", plan, askingRuntime(["Which one?"], []));
		assert.equal(run.state.status, "failed");
		assert.match(run.state.reason ?? "", /^budget-exceeded: \d+s of 1s wall time/);
		assert.equal(run.state.tasks.get("decide")?.status, "skipped");
	},
);

test("a wait for approval ends at the run's wall budget: the task fails with why", BOUNDED, async () => {
	const box = await sandbox();
	await approvalTeam(box, "gated", [{ id: "draft", role: "explorer", approval: true }]);
	const catalog = await loadCatalog({ repo: box.repo, home: join(box.dir, "home"), trustProject: false });
	const run = await executeRun({
		repo: box.repo,
		plan: planRun(catalog, "gated"),
		goal: "g",
		runtime: {
			name: "fake",
			async run(spec: TaskSpec): Promise<WorkerOutcome> {
				const review = await spec.review?.("draft");
				return review && "refused" in review ? failure("rejected", review.refused) : { kind: "succeeded", answer: "x" };
			},
		},
		settings: { ...fixtures.created.settings, budget: { maxWallMs: 1000 } },
	});
	const task = run.state.tasks.get("draft");
	assert.equal(task?.status, "failed");
	assert.equal(task?.reason, "budget-exceeded: no approval within the run's 1s");
});

test(
	"a question still open when its worker dies ends with the attempt (its wait does not outlive it)",
	BOUNDED,
	async () => {
		const box = await sandbox();
		let ended: string | undefined;
		const run = await askingRun(box, {
			name: "fake",
			async run(spec: TaskSpec): Promise<WorkerOutcome> {
				spec.crew?.request({ type: "ask", text: "Which one?" }).then(
					() => {
						ended = "answered";
					},
					(err: Error) => {
						ended = err.message;
					},
				);
				await new Promise((resolve) => setTimeout(resolve, 200)); // the question is logged
				return failure("crashed", "worker was killed by SIGKILL");
			},
		});
		assert.equal(run.state.tasks.get("decide")?.status, "failed");
		await new Promise((resolve) => setImmediate(resolve));
		assert.equal(ended, "the task was stopped while it waited for an answer");
	},
);

/** A coordinator's context whose fold applies what was appended only once it is durable (`drain`), as the log's does. */
async function lateFold(onAppend: (type: string) => void = () => undefined) {
	const box = await sandbox();
	const paths = await createRunDir(box.repo, "r-late");
	const tasks = new Map<string, { waiting?: Waiting }>([["decide", {}]]);
	const folds: (() => void)[] = [];
	const appended: string[] = [];
	const watcher = { pause: () => undefined, resume: () => undefined };
	const ctx = {
		paths,
		settings: fixtures.created.settings,
		now: Date.now,
		watcher,
		state: () => ({ tasks, createdAt: new Date().toISOString() }) as unknown as RunState,
		log: {
			runId: "r-late",
			append: async (type: string) => {
				appended.push(type);
				onAppend(type);
			},
			drain: async () => {
				for (const fold of folds.splice(0)) fold();
			},
		},
		plan: { roles: [] },
	} as unknown as RunContext;
	return { ctx, tasks, folds, appended };
}

test("an answer sent as soon as its question is written, before the coordinator folded it, is delivered", async () => {
	const { ctx, tasks, folds, appended } = await lateFold();
	// Written (the CLI read it) but not yet durable: the coordinator's fold has not applied it.
	folds.push(() => tasks.set("decide", { waiting: { kind: "question", id: "decide.q1", text: "Which?", since: "" } }));
	await new Questions(ctx).respond({ taskId: "decide", questionId: "decide.q1", answer: "this", from: "t" });
	assert.deepEqual(appended, ["task.answered"]);
});

test("a verdict given while its approval round is being written reaches the round", BOUNDED, async () => {
	let approvals: PersonWaits<ApproveCommand> | undefined;
	const { ctx } = await lateFold((type) => {
		// `approve` read the round from the file and the coordinator took its command before the append resolved.
		if (type === "task.awaiting_approval")
			approvals?.give("draft", "draft-1-1", {
				type: "approve",
				taskId: "draft",
				approvalId: "draft-1-1",
				from: "t",
			});
	});
	approvals = new PersonWaits(ctx, "approval");
	const task = { id: "draft", adaptive: false } as ConstructorParameters<typeof ApprovalRounds>[1];
	const rounds = new ApprovalRounds({ ...ctx, approvals } as RunContext, task, 1);
	assert.deepEqual(await rounds.review("my draft", new AbortController().signal), { approved: true });
});

test("a message sent while its task waits to try again is in the next attempt's prompt", BOUNDED, async () => {
	const box = await sandbox();
	await box.write(
		".crew/agents/talker.md",
		"---\nname: talker\ndescription: talks\ntools: read, message\n---\nYou talk.\n",
	);
	await projectTeam(box, "talk", [
		{ id: "a", role: "talker" },
		{ id: "b", role: "talker" },
	]);
	const catalog = await loadCatalog({ repo: box.repo, home: join(box.dir, "home"), trustProject: true });
	let backingOff: () => void = () => undefined;
	const backOff = new Promise<void>((resolve) => {
		backingOff = resolve;
	});
	const prompts: string[] = [];
	let sent = "";
	const run = await executeRun({
		repo: box.repo,
		plan: planRun(catalog, "talk"),
		goal: "g",
		runtime: {
			name: "fake",
			async run(spec: TaskSpec): Promise<WorkerOutcome> {
				if (spec.taskId === "b") {
					await backOff;
					sent = (await spec.crew?.request({ type: "message", to: "a", text: "use the v2 API" })) ?? "";
					return { kind: "succeeded", answer: "b done" };
				}
				prompts.push(spec.prompt);
				return prompts.length === 1
					? failure("crashed", "worker exited with code 1")
					: { kind: "succeeded", answer: "a" };
			},
		},
		settings: { ...fixtures.created.settings, retry: { maxAttempts: 2, backoffMs: 1000, factor: 1, jitter: 0 } },
		onEvent: (e) => {
			if (e.type === "task.retrying") backingOff();
		},
	});
	assert.equal(run.state.status, "succeeded", run.state.reason);
	assert.match(sent, /^queued for task a, which waits to try again/);
	assert.doesNotMatch(prompts[0] ?? "", /use the v2 API/);
	assert.match(prompts[1] ?? "", /## Messages from other tasks[\s\S]*use the v2 API/);
	const steered = (await typesOf(run.paths.events, "task.steered")).filter((e) => e.taskId === "a");
	assert.deepEqual(
		steered.map((e) => e.type === "task.steered" && e.data.delivered),
		[true],
	);
});
