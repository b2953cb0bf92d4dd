/**
 * A run caught in its third loop round, written through the real log writer (which stamps each task event's round)
 * with a fixed clock, for the tests of what shows the rounds. No test-runner imports here.
 */
import { ownerMark } from "../../src/config/owner.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import type { EventPayloads, EventType } from "../../src/store/events.js";
import { createRunDir } from "../../src/store/run-store.js";
import { fixtures } from "./fixtures.js";

export const LOOP_RUN = "20261207-100000-100b00";
/** 10:00:00 UTC, when the run was created; "now" for its renderings is 60 s later. */
export const LOOP_T0 = Date.parse("2026-12-07T10:00:00.000Z");
export const LOOP_NOW = LOOP_T0 + 60_000;

const FIRST_FINDING = "npm test: test/date.test.ts:12 expected 2, got 1\n  at parseDate (src/date.ts:40)";
export const SECOND_FINDING = "npm test: test/date.test.ts:30 leap years still fail";

/**
 * Workflow `default`: `execute`, then `verify` (its verify command loops back to execute, at most 3 rounds). The
 * command failed twice (two `task.looped`); now execute succeeded a third time and verify runs round 3. `home`: the
 * crew home whose keys sign the log (a CLI in a sandbox verifies it with its own).
 */
export async function loopedRun(repo: string, home?: string): Promise<void> {
	const paths = await createRunDir(repo, LOOP_RUN);
	let clock = LOOP_T0;
	const log = await EventLogWriter.create(paths.events, LOOP_RUN, { now: () => new Date(clock), home });
	const at = <K extends EventType>(seconds: number, type: K, data: EventPayloads[K], taskId?: string) => {
		clock = LOOP_T0 + seconds * 1000;
		return log.append(type, data, taskId);
	};
	await at(0, "run.created", {
		...fixtures.created,
		goal: "fix the date parser",
		team: "default",
		workflow: "default",
		owner: await ownerMark(LOOP_RUN, home),
	});
	await at(0, "task.planned", { ...fixtures.planned(), role: "executor", agent: "executor" }, "execute");
	await at(
		0,
		"task.planned",
		{
			...fixtures.planned(["execute"]),
			role: "verifier",
			agent: "verifier",
			verify: { command: "npm test", scope: "builtin" },
			loop: { to: "execute", until: "verify", max: 3 },
		},
		"verify",
	);
	await at(0.1, "run.started", { pid: 1 });
	const round = async (from: number, attempt: number, finding?: string) => {
		await at(from, "task.started", { attempt, promptPath: "artifacts/tasks/execute/prompt.md" }, "execute");
		await at(from + 5, "task.succeeded", { resultPath: "artifacts/tasks/execute/result.md", chars: 10 }, "execute");
		await at(from + 6, "task.started", { attempt, promptPath: "artifacts/tasks/verify/prompt.md" }, "verify");
		if (!finding) return;
		await at(
			from + 9,
			"task.verdict",
			{ clean: false, findings: finding, by: "command", source: "npm test" },
			"verify",
		);
		const next = { round: attempt + 1, to: "execute", reopened: ["execute", "verify"], finding };
		await at(from + 9, "task.looped", next, "verify");
	};
	await round(1, 1, FIRST_FINDING);
	await round(11, 2, SECOND_FINDING);
	await round(21, 3);
	await log.close();
}
