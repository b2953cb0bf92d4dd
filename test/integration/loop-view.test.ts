/** The CLI shows a run's loop rounds: `status` (`execute ×3`), `status --json` (`rounds`) and `events` (`r2`). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cli, sandbox } from "../support/index.js";
import { LOOP_RUN, loopedRun } from "../support/loop-log.js";

test("status, status --json and events of a run in its third loop round say so", async () => {
	const box = await sandbox();
	await loopedRun(box.repo, box.env.PI_CREW_HOME);
	const json = await cli(["status", LOOP_RUN, "--json"], box);
	assert.equal(json.code, 0, json.stderr);
	const run = JSON.parse(json.stdout) as { rounds?: unknown; tasks: { id: string; round?: number }[] };
	assert.deepEqual(run.rounds, [
		{
			step: "verify",
			to: "execute",
			round: 3,
			max: 3,
			lastFinding: "npm test: test/date.test.ts:30 leap years still fail",
		},
	]);
	assert.deepEqual(
		run.tasks.map((t) => [t.id, t.round]),
		[
			["execute", 3],
			["verify", 3],
		],
	);
	const text = await cli(["status", LOOP_RUN], box);
	assert.match(text.stdout, /✓ execute ×3 .*\n +round 3 of 3: sent back with: npm test: test\/date\.test\.ts:30/);
	const events = await cli(["events", LOOP_RUN], box);
	assert.equal(events.code, 0, events.stderr);
	assert.match(events.stdout, /task\.started +execute r2 \{"attempt":2/);
	assert.match(events.stdout, /task\.looped +verify \{"round":2/, "the first loop back ends verify's round 1");
});
