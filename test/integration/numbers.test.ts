/**
 * Numbers you can trust, on real runs: failed tool calls read as failed and input tokens are counted (a scripted run);
 * pi's own retries of a rate-limited model call show as "retrying (n)", and cost is reported and budgeted (a model
 * over real HTTP, priced in models.json).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
	cli,
	projectTeam,
	type RunJson,
	runJson,
	type Sandbox,
	SCRIPTED,
	sandbox,
	startCli,
	waitForRunLog,
} from "../support/index.js";
import { openAiServer } from "../support/openai-server.js";

type Usage = { input: number; output: number; total: number; cost?: number };
type StatusJson = RunJson & { usage: Usage; tasks: (RunJson["tasks"][number] & { usage: Usage; retrying?: number })[] };
type MetricsJson = { metrics: { name: string; series: { labels: Record<string, string>; value: number }[] }[] };

const statusJson = async (box: Sandbox, runId: string) =>
	JSON.parse((await cli(["status", runId, "--json"], box)).stdout) as StatusJson;
const metric = async (box: Sandbox, runId: string, name: string) =>
	(JSON.parse((await cli(["metrics", runId, "--json"], box)).stdout) as MetricsJson).metrics.find(
		(m) => m.name === name,
	);

test("a scripted run: a failed bash call reads failed; input tokens are counted in status, summary and metrics", async () => {
	const box = await sandbox();
	await projectTeam(box, "numbers", [{ id: "work", role: "executor" }]);
	const scenario = await box.write(
		"scenario.yaml",
		`"task:work":\n  - tool: bash\n    args: { command: "echo failing; exit 3" }\n  - say: "done"\n`,
	);
	const res = await cli(["run", "numbers", "count it", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(res.code, 0, res.stderr);
	assert.match(res.stderr, /work: bash echo failing; exit 3\n/);
	assert.match(res.stderr, /work: ✗ bash echo failing; exit 3 \(exit 3\)/);
	const runId = /run (\d{8}-\d{6}-[0-9a-f]+)/.exec(res.stderr)?.[1] ?? "";

	const status = await statusJson(box, runId);
	assert.equal(status.status, "succeeded");
	const input = status.usage.input;
	assert.ok(input > 0, `input tokens counted: ${JSON.stringify(status.usage)}`);
	assert.equal(status.tasks[0]?.usage.input, input);
	assert.equal(status.usage.input + status.usage.output, status.usage.total);
	const summary = await readFile(join(status.runDir, "artifacts", "summary.md"), "utf8");
	assert.ok(Number.parseFloat(/input (\d+(?:\.\d)?)k?/.exec(summary)?.[1] ?? "0") > 0, summary);
	const tokens = await metric(box, runId, "crew.task.tokens_total");
	assert.equal(tokens?.series.find((s) => s.labels.kind === "input")?.value, input);
});

/** A team of `steps` on a priced model over HTTP (`gw/m1`: $1 per million input tokens, $2 per million output). */
async function pricedModel(box: Sandbox, port: number, steps: { id: string; role: string; dependsOn?: string[] }[]) {
	await box.write(
		"../pi-agent/models.json",
		JSON.stringify({
			providers: {
				gw: {
					baseUrl: `http://127.0.0.1:${port}/v1`,
					api: "openai-completions",
					apiKey: "$MY_GATEWAY_TOKEN",
					models: [
						{
							id: "m1",
							contextWindow: 200_000,
							maxTokens: 4096,
							cost: { input: 1, output: 2, cacheRead: 0, cacheWrite: 0 },
						},
					],
				},
			},
		}),
	);
	await projectTeam(box, "priced", steps);
	return { ...box, env: { ...box.env, MY_GATEWAY_TOKEN: "gw-secret-0123456789abcdef" } };
}

test("a cost budget on a model pi has no price for is refused before anything starts: the model, the budget, what to do", async () => {
	const box = await sandbox();
	// A custom model without a price (as local and gateway models often are): pi reports no cost for its calls.
	const provider = { baseUrl: "http://127.0.0.1:9/v1", api: "openai-completions", apiKey: "$MY_GATEWAY_TOKEN" };
	await box.write(
		"../pi-agent/models.json",
		JSON.stringify({
			providers: { gw: { ...provider, models: [{ id: "m0", contextWindow: 8192, maxTokens: 1024 }] } },
		}),
	);
	await projectTeam(box, "unpriced", [{ id: "work", role: "writer" }]);
	const env = { ...box, env: { ...box.env, MY_GATEWAY_TOKEN: "gw-secret-0123456789abcdef" } };
	const flag = await cli(["run", "unpriced", "x", "--model", "gw/m0", "--max-cost", "1"], env);
	assert.equal(flag.code, 2, flag.stderr);
	assert.match(
		flag.stderr,
		/model "gw\/m0" \(task work\): gw\/m0 has no price in pi's registry, so pi reports no cost for its calls and the cost budget \(--max-cost\) cannot be enforced: drop the cost budget and limit tokens instead \(--max-tokens, budget\.maxTokens\), or price the model in models\.json/,
	);
	// The config's default budget is named with its file and line.
	const config = await box.write("../crew-home/config.yaml", "concurrency: 2\nbudget:\n  maxCost: 5\n");
	const configured = await cli(["run", "unpriced", "x", "--model", "gw/m0"], env);
	assert.equal(configured.code, 2, configured.stderr);
	assert.ok(configured.stderr.includes(`the cost budget (budget.maxCost, user ${config}:3) cannot be enforced`));
	assert.match((await cli(["status"], env)).stderr, /no runs yet/, "no run was started");
});

test("pi's own retry of a rate-limited call shows as retrying (n); cost in status, summary and metrics", async () => {
	const box = await sandbox();
	// pi retries the 429 itself, quickly; the retried call then waits until the test has looked at the run.
	await box.write(
		"../pi-agent/settings.json",
		JSON.stringify({ retry: { enabled: true, maxRetries: 2, baseDelayMs: 10 } }),
	);
	let open = () => {};
	const gate = new Promise<void>((resolve) => {
		open = resolve;
	});
	const server = await openAiServer(
		"priced answer",
		{ prompt_tokens: 400_000, completion_tokens: 50_000 },
		{ failFirst: 1, gate },
	);
	try {
		const env = await pricedModel(box, server.port, [{ id: "work", role: "writer" }]);
		const { done } = startCli(["run", "priced", "price it", "--model", "gw/m1"], env);
		const runId = await waitForRunLog(env, "pi's retry of the rate-limited call", '"task.model_retry"');
		const shown = await cli(["status", runId], env);
		assert.match(shown.stdout, /▶ work .* running .*\(retrying \(1\)\)/);
		assert.equal((await statusJson(env, runId)).tasks[0]?.retrying, 1);
		open();
		const res = await done;
		assert.equal(res.code, 0, res.stderr);
		assert.match(res.stderr, /↻ work: model call failed \([^)]*429[^)]*\); retrying \(1 of 2\)/);

		// $1 per million of 400k input tokens and $2 per million of 50k output: $0.50.
		const status = await statusJson(env, runId);
		assert.equal(status.tasks[0]?.retrying, undefined, "retrying no more");
		assert.ok(Math.abs((status.usage.cost ?? 0) - 0.5) < 1e-9, JSON.stringify(status.usage));
		assert.ok(Math.abs((status.tasks[0]?.usage.cost ?? 0) - 0.5) < 1e-9);
		assert.match((await cli(["status", runId], env)).stdout, /tokens, \$0\.50\)[\s\S]*work .* tok +\$0\.50/);
		const summary = await readFile(join(status.runDir, "artifacts", "summary.md"), "utf8");
		assert.match(summary, /cost \$0\.50/);
		const cost = await metric(env, runId, "crew.cost.usd");
		assert.ok(Math.abs((cost?.series[0]?.value ?? 0) - 0.5) < 1e-9, JSON.stringify(cost));
	} finally {
		open();
		server.close();
	}
});

test("--max-cost: a task reserves the mean cost of the finished ones; the run ends as over a token budget", async () => {
	const box = await sandbox();
	await box.write("../pi-agent/settings.json", JSON.stringify({ retry: { enabled: false } }));
	const server = await openAiServer("priced answer", { prompt_tokens: 400_000, completion_tokens: 50_000 });
	try {
		const env = await pricedModel(box, server.port, [
			{ id: "s1", role: "writer" },
			{ id: "s2", role: "writer", dependsOn: ["s1"] },
			{ id: "s3", role: "writer", dependsOn: ["s2"] },
		]);
		// Each task costs $0.50: after two ($1.00), a third would reach $1.50, over $1.20.
		const { code, json, stderr } = await runJson(["priced", "price it", "--model", "gw/m1", "--max-cost", "1.2"], env);
		assert.equal(code, 1, stderr);
		assert.equal(json.status, "failed");
		assert.match(json.reason ?? "", /^budget-exceeded: \$1\.0000 of \$1\.2000 spent, next task estimated at \$0\.5000/);
		assert.deepEqual(
			json.tasks.map((t) => t.status),
			["succeeded", "succeeded", "skipped"],
		);
		assert.equal(server.seen.length, 2, "the third task never called the model");
		const summary = await readFile(join(json.runDir, "artifacts", "summary.md"), "utf8");
		assert.match(summary, /budget: \$1\.2/);
		const bad = await cli(["run", "priced", "x", "--max-cost", "free"], env);
		assert.equal(bad.code, 2);
		assert.match(bad.stderr, /--max-cost must be an amount of US dollars above 0/);
	} finally {
		server.close();
	}
});
