/** Notifications outside pi (config `notify`): a program and a webhook hear of run ends and dead letters, once each. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { cli, projectTeam, runJson, SCRIPTED, sandbox, waitFor } from "../support/index.js";

interface Notification {
	schemaVersion: number;
	id: string;
	event: string;
	runId: string;
	status: string;
	taskId?: string;
	goal: string;
	text: string;
}

/** A webhook receiver on 127.0.0.1: every body POSTed to it, parsed. */
async function receiver(): Promise<{ url: string; got: Notification[] }> {
	const got: Notification[] = [];
	const server = createServer((req, res) => {
		let body = "";
		req.on("data", (d) => {
			body += d;
		});
		req.on("end", () => {
			assert.equal(req.method, "POST");
			assert.equal(req.headers["content-type"], "application/json");
			got.push(JSON.parse(body) as Notification);
			res.end("ok");
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	after(() => server.close());
	return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

const lines = async (file: string): Promise<Notification[]> =>
	existsSync(file)
		? (await readFile(file, "utf8"))
				.split("\n")
				.filter(Boolean)
				.map((l) => JSON.parse(l) as Notification)
		: [];

test("a webhook and a command get each run end and dead letter once: foreground, resumed and background runs", async () => {
	const box = await sandbox();
	const hook = await receiver();
	const inbox = join(box.dir, "inbox.jsonl");
	const script = await box.write(
		"../notify.mjs",
		`import { appendFileSync, readFileSync } from "node:fs";\nappendFileSync(process.argv[2], readFileSync(0, "utf8"));\n`,
	);
	await box.write(
		"../crew-home/config.yaml",
		[
			"autoRetry: true",
			"retry: { maxAttempts: 2, backoffMs: 100 }",
			"notify:",
			`  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(script)}, ${JSON.stringify(inbox)}]`,
			`  webhook: ${hook.url}`,
			"",
		].join("\n"),
	);
	await projectTeam(box, "doomed", [{ id: "d1", role: "explorer" }]);
	// Both attempts of the run fail; the requeued third succeeds (the explorer's default script).
	const scenario = await box.write("scenario.yaml", `"task:d1@1":\n  - fault: empty\n"task:d1@2":\n  - fault: empty\n`);
	const failed = await runJson(
		["doomed", "find the password=hunter2hunter2 bug", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(failed.code, 1, failed.stderr);
	const runId = failed.json.runId;
	const requeued = await cli(["deadletter", "requeue", runId, "d1", "--json"], box);
	assert.equal(requeued.code, 0, requeued.stderr);
	const expected = [
		["task.deadlettered", "failed", "d1"],
		["run.finished", "failed", undefined],
		["run.finished", "succeeded", undefined],
	];
	for (const got of [hook.got, await lines(inbox)]) {
		assert.deepEqual(
			got.map((n) => [n.event, n.status, n.taskId]),
			expected,
			"each event once: the resume did not repeat the first end",
		);
		assert.ok(got.every((n) => n.runId === runId && n.schemaVersion === 1));
		assert.equal(new Set(got.map((n) => n.id)).size, 3);
		assert.match(got[0]?.text ?? "", /task d1 dead-lettered \(max-retries: .*\); requeue: pi-crew deadletter requeue/);
		assert.ok(
			got.every((n) => !JSON.stringify(n).includes("hunter2hunter2")),
			"no secret of the goal in the body",
		);
	}
	assert.deepEqual(hook.got, await lines(inbox), "the same document to both");
	// A background run's coordinator notifies as well, after its starter is gone.
	const background = await cli(["run", "fast-fix", "goal", "--runtime", "scaffold", "--background"], box);
	assert.equal(background.code, 0, background.stderr);
	const bgId = background.stdout.trim();
	const end = await waitFor("the background run's notification", async () => hook.got.find((n) => n.runId === bgId));
	assert.equal(end.status, "succeeded");
	await waitFor("the command's copy", async () =>
		(await lines(inbox)).some((n) => n.runId === bgId) ? true : undefined,
	);
});

test("notify from a repository's config is ignored and reported; a failing or hung program never fails the run", async () => {
	const box = await sandbox();
	const planted = join(box.dir, "planted");
	await box.write(
		".crew/config.yaml",
		`notify:\n  command: [touch, ${JSON.stringify(planted)}]\n  webhook: http://127.0.0.1:9/\n`,
	);
	await box.write(
		"../crew-home/config.yaml",
		`notify:\n  command: [${JSON.stringify(process.execPath)}, -e, "setInterval(() => {}, 1000)"]\n  webhook: http://127.0.0.1:9/hook?token=s3cr3tT0kenValue42\n  timeoutMs: 500\n`,
	);
	const config = await cli(["config"], box);
	assert.equal(config.code, 0, config.stderr);
	assert.match(
		config.stdout,
		/not applied from the project config:\n.*config\.yaml:1 \[notify\]: warning: ignored: a repository may not set notify, only your own config can/,
	);
	assert.doesNotMatch(config.stdout, /s3cr3tT0kenValue42/, "the webhook's token is not shown");
	const json = JSON.parse((await cli(["config", "--json"], box)).stdout) as { notify: { command: string[] } };
	assert.equal(json.notify.command[0], process.execPath, "yours, not the repository's");
	const run = await cli(["run", "fast-fix", "goal", "--runtime", "scaffold"], box);
	assert.equal(run.code, 0, run.stderr);
	assert.match(
		run.stderr,
		/notify\.command .*node.* failed for run\.finished .*: stopped after 500 ms \(timeoutMs\) \(the run is not affected\)/,
	);
	assert.match(run.stderr, /notify\.webhook http:\/\/127\.0\.0\.1:9 failed for run\.finished/);
	assert.doesNotMatch(run.stderr, /token=s3cr3tT0kenValue42/);
	assert.ok(!existsSync(planted), "the repository's command never ran");
	const status = JSON.parse((await cli(["status", "--json"], box)).stdout) as { status: string };
	assert.equal(status.status, "succeeded");
});
