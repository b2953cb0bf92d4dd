/** Notifications outside pi (config `notify`): a program and a webhook hear of run ends and dead letters, once each. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { processStartTime } from "../../src/store/lease.js";
import {
	type CliResult,
	cli,
	liveProcesses,
	projectTeam,
	runJson,
	SCRIPTED,
	sandbox,
	startCli,
	waitFor,
} from "../support/index.js";

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
		// Its parent is the run's coordinator: the test waits for it to be gone before its sandbox is removed.
		`import { appendFileSync, readFileSync, writeFileSync } from "node:fs";\nappendFileSync(process.argv[2], readFileSync(0, "utf8"));\nwriteFileSync(process.argv[2] + ".coordinator", String(process.ppid));\n`,
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
	const coordinator = Number(await readFile(`${inbox}.coordinator`, "utf8"));
	await waitFor("the background coordinator to exit", async () =>
		processStartTime(coordinator) === undefined ? true : undefined,
	);
});

/** Live processes running `sleep <seconds>`: a notify program's grandchild, by its unique nap. */
function sleepers(seconds: string): Promise<number[]> {
	return liveProcesses((p) => p.argv[0]?.endsWith("sleep") === true && p.argv[1] === seconds);
}

test("notify from a repository's config is ignored and reported; a failing or hung program never holds the run", async () => {
	const box = await sandbox();
	const planted = join(box.dir, "planted");
	await box.write(
		".crew/config.yaml",
		`notify:\n  command: [touch, ${JSON.stringify(planted)}]\n  webhook: http://127.0.0.1:9/\n`,
	);
	// A program that hangs in a child of its own: the child holds the program's stderr open after the program dies.
	const nap = String(3000 + Math.floor(Math.random() * 1000));
	await box.write(
		"../crew-home/config.yaml",
		`notify:\n  command: [sh, -c, "sleep ${nap}; true"]\n  webhook: http://127.0.0.1:9/hook\n  timeoutMs: 500\n`,
	);
	const config = await cli(["config"], box);
	assert.equal(config.code, 0, config.stderr);
	assert.match(
		config.stdout,
		/not applied from the project config:\n.*config\.yaml:1 \[notify\]: warning: ignored: a repository may not set notify, only your own config can/,
	);
	assert.match(config.stdout, /notify\.command +sh \+ 2 arguments +user /, "yours, not the repository's");
	const { child, done } = startCli(["run", "fast-fix", "goal", "--runtime", "scaffold"], box);
	let ended: CliResult | undefined;
	void done.then((r) => {
		ended = r;
	});
	try {
		// Generous: the run takes seconds; before, it waited for the sleeping child (an hour).
		const run = await waitFor("the run's process to exit", async () => ended, 60_000);
		assert.equal(run.code, 0, run.stderr);
		assert.match(
			run.stderr,
			/notify\.command sh \+ 2 arguments failed for run\.finished .*: stopped after 500 ms \(timeoutMs\) \(the run is not affected\)/,
		);
		assert.match(run.stderr, /notify\.webhook http:\/\/127\.0\.0\.1:9 failed for run\.finished/);
		await waitFor("the program's sleeping child to be gone", async () =>
			(await sleepers(nap)).length === 0 ? true : undefined,
		);
	} finally {
		child.kill("SIGKILL");
		for (const pid of await sleepers(nap)) process.kill(pid, "SIGKILL");
	}
	assert.ok(!existsSync(planted), "the repository's command never ran");
	const status = JSON.parse((await cli(["status", "--json"], box)).stdout) as { status: string };
	assert.equal(status.status, "succeeded");
});

test("config and doctor --export show the webhook's origin and the command's program, never a token in them", async () => {
	const box = await sandbox();
	const secrets = ["Xq7pathTokenDiscordLike", "Zr9queryTokenValue", "Bearer Wk3argTokenValue"];
	await box.write(
		"../crew-home/config.yaml",
		[
			"notify:",
			`  command: [curl, -H, "Authorization: ${secrets[2]}", https://chat.example.com/post]`,
			`  webhook: https://hooks.example.com/api/webhooks/1234/${secrets[0]}?key=${secrets[1]}`,
			"",
		].join("\n"),
	);
	const text = await cli(["config"], box);
	const json = await cli(["config", "--json"], box);
	const exported = await cli(["doctor", "--export", "diag.json"], box);
	for (const res of [text, json, exported]) assert.equal(res.code, 0, res.stderr);
	const report = await readFile(join(box.repo, "diag.json"), "utf8");
	for (const shown of [text.stdout, json.stdout, report])
		for (const secret of [...secrets, "1234", "chat.example.com"])
			assert.ok(!shown.includes(secret), `${secret} shown`);
	assert.deepEqual((JSON.parse(json.stdout) as { notify: unknown }).notify, {
		command: "curl + 3 arguments",
		webhook: "https://hooks.example.com",
		timeoutMs: 10_000,
	});
	assert.match(text.stdout, /notify\.webhook +https:\/\/hooks\.example\.com +user /);
});

test("the program is an absolute path or a name on PATH, and never runs in the repository", async () => {
	const box = await sandbox();
	const planted = join(box.dir, "planted");
	await box.write("notify.sh", `touch ${JSON.stringify(planted)}\n`);
	await box.write("../crew-home/config.yaml", "notify:\n  command: [./notify.sh]\n");
	const refused = await cli(["config"], box);
	assert.notEqual(refused.code, 0);
	assert.match(
		refused.stderr,
		/crew-home\/config\.yaml:2 \[notify\.command\.0\]: .*\n\s+fix: the program: an absolute path, or a bare name looked up on PATH/,
	);
	// A bare program given a relative file: it finds none in pi-crew's home, and the clone's is never run.
	await box.write("../crew-home/config.yaml", "notify:\n  command: [sh, notify.sh]\n");
	const run = await cli(["run", "fast-fix", "goal", "--runtime", "scaffold"], box);
	assert.equal(run.code, 0, run.stderr);
	assert.match(run.stderr, /notify\.command sh \+ 1 argument failed for run\.finished .*: exit \d+: .*notify\.sh/);
	assert.ok(!existsSync(planted), "the repository's notify.sh never ran");
});
