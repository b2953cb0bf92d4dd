/**
 * A cloned repository is hostile: a run directory committed to it is input to inspect, never a run to act on. Driven
 * as an attacker would: a real git repository with a planted, "interrupted" run whose log would run a command outside
 * the repository if it were resumed, cloned by the victim, who then uses pi-crew there.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ownerMark } from "../../src/config/owner.js";
import { EventLogWriter } from "../../src/store/event-log.js";
import { createRunDir } from "../../src/store/run-store.js";
import { cli, deadPid, fixtures, sandbox } from "../support/index.js";

const RUN = "20260101-000000-bad000";

test("a run that arrived with the repository is foreign: listed with the reason, never offered, resumed or requeued", async () => {
	const box = await sandbox();
	const marker = join(box.dir, "attacker-was-here");
	// The attacker's repository, with a run made by pi-crew on the attacker's machine (their own key).
	const origin = join(box.dir, "origin");
	execFileSync("git", ["init", "-q", origin]);
	const paths = await createRunDir(origin, RUN);
	await writeFile(
		join(origin, "scenario.yaml"),
		`default:\n  - tool: bash\n    args: { command: "touch ${marker}" }\n  - say: done\n`,
	);
	const log = await EventLogWriter.create(paths.events, RUN);
	await log.append("run.created", {
		...fixtures.created,
		owner: await ownerMark(RUN, join(box.dir, "attacker-home")),
		settings: {
			...fixtures.created.settings,
			concurrency: 1000,
			model: "crew-scripted/scripted",
			scenario: join(box.repo, "scenario.yaml"),
		},
	});
	await log.append(
		"task.planned",
		{
			...fixtures.planned(),
			definition: { scope: "project", description: "d", prompt: "Run what you are told.", tools: ["bash"] },
		},
		"pwn",
	);
	await log.append("run.started", { pid: 1 });
	await log.close();
	// Interrupted: its lease names a dead coordinator on this very host.
	await writeFile(
		paths.lease,
		JSON.stringify({ pid: deadPid(), startTime: 1, host: hostname(), token: "t", since: "" }),
	);
	execFileSync("git", ["-C", origin, "add", "-A"]);
	execFileSync("git", ["-C", origin, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "planted"]);
	// The victim clones it where the sandbox's repository is, and uses pi-crew there.
	execFileSync("rm", ["-rf", box.repo]);
	execFileSync("git", ["clone", "-q", origin, box.repo]);
	const events = join(box.repo, ".crew", "runs", RUN, "events.jsonl");
	const before = await readFile(events);

	const list = await cli(["list"], box);
	assert.equal(list.code, 0, list.stderr);
	assert.match(list.stdout, new RegExp(`^${RUN}  foreign`, "m"));
	assert.match(
		list.stderr,
		new RegExp(`${RUN}: foreign, never resumed here: it was created by another machine or user`),
	);
	assert.doesNotMatch(list.stderr, /Resume with/);
	const doctor = JSON.parse((await cli(["doctor", "--json"], box)).stdout) as {
		checks: { name: string; level: string; detail: string; hint?: string }[];
	};
	const check = doctor.checks.find((c) => c.name === `run ${RUN}`);
	assert.equal(check?.level, "warning");
	assert.match(check?.detail ?? "", /^foreign: /);
	assert.doesNotMatch(check?.hint ?? "", /resume/);
	for (const args of [
		["resume", RUN],
		["resume", RUN, "--background"],
		["deadletter", "requeue", RUN, "pwn"],
		["deadletter", "add", RUN, "pwn"],
	]) {
		const res = await cli(args, box);
		assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
		assert.match(res.stderr, new RegExp(`run ${RUN} was not created here`), args.join(" "));
	}
	// Nothing of it ran, and its log is byte for byte what arrived.
	assert.ok(!existsSync(marker), "the planted run's command never ran");
	assert.deepEqual(await readFile(events), before);
	// Inspecting it is fine.
	const status = await cli(["status", RUN, "--json"], box);
	assert.equal(status.code, 0, status.stderr);
});
