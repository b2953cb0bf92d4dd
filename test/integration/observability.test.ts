/**
 * Observability end to end, with real pi workers on the scripted model: metrics replayed from real runs, a real
 * Prometheus server scraping `pi-crew metrics --serve`, an OTLP receiver decoding what a run pushes, a collector that
 * is down or hangs (the run neither fails nor waits), and the metrics surfaces inside pi.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import {
	askPi,
	cli,
	hasTool,
	projectTeam,
	rpc,
	runJson,
	type Sandbox,
	SCRIPTED,
	sandbox,
	startCli,
	waitFor,
} from "../support/index.js";

/** A two-task team (explore, then verify) and a quick scenario for it. */
async function pair(box: Sandbox): Promise<string[]> {
	await projectTeam(box, "pair", [
		{ id: "look", role: "explorer" },
		{ id: "check", role: "verifier", dependsOn: ["look"] },
	]);
	const scenario = await box.write("scenario.yaml", `default:\n  - say: "{task} done"\n`);
	return ["pair", "observe this", "--model", SCRIPTED, "--scenario", scenario];
}

async function listen(server: Server): Promise<number> {
	server.listen(0, "127.0.0.1");
	await once(server, "listening");
	return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
	const server = createServer();
	const port = await listen(server);
	server.close();
	return port;
}

function body(req: IncomingMessage): Promise<string> {
	return new Promise((resolve) => {
		let text = "";
		req.on("data", (d) => {
			text += d;
		});
		req.on("end", () => resolve(text));
	});
}

test("a real run: every event carries its correlation id; metrics replay it; the exposition passes promtool; the sink has its line", async (t) => {
	const box = await sandbox();
	const run = await runJson(await pair(box), box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const runId = run.json.runId;
	const log = await readFile(join(run.json.runDir, "events.jsonl"), "utf8");
	const events = log
		.trim()
		.split("\n")
		.map((l) => JSON.parse(l) as { type: string; taskId?: string; cid: string });
	for (const e of events) {
		const [cidRun, cidTask, span] = e.cid.split(":");
		assert.equal(cidRun, runId);
		assert.equal(cidTask, e.taskId ?? "-", `${e.type}: ${e.cid}`);
		assert.match(span ?? "", /^\d+$/);
	}
	// One id finds everything about one attempt: its start, tools, usage and end.
	const look = events.filter((e) => e.cid === `${runId}:look:1`).map((e) => e.type);
	assert.deepEqual([look[0], look.at(-1)], ["task.started", "task.succeeded"]);
	assert.ok(look.includes("task.usage"));

	const metrics = JSON.parse((await cli(["metrics", runId, "--json"], box)).stdout) as {
		runs: number;
		metrics: { name: string; series: { labels: Record<string, string>; value?: number; count?: number }[] }[];
	};
	assert.equal(metrics.runs, 1);
	const tasks = metrics.metrics.find((m) => m.name === "crew.task.count");
	assert.deepEqual(
		tasks?.series.map((s) => [s.labels.status, s.labels.role, s.value]),
		[
			["succeeded", "explorer", 1],
			["succeeded", "verifier", 1],
		],
	);
	const filtered = await cli(["metrics", "--filter", "crew.run.*"], box);
	assert.equal(filtered.code, 0, filtered.stderr);
	assert.match(filtered.stdout, /^crew\.run\.count\{status=succeeded\}\s+1/m);
	assert.doesNotMatch(filtered.stdout, /crew\.task/);
	const bad = await cli(["metrics", "--filter", "crew.nothing.*"], box);
	assert.equal(bad.code, 2);
	assert.match(bad.stderr, /no metric matches "crew\.nothing\.\*"/);

	const [day] = await readdir(join(box.repo, ".crew", "metrics"));
	const sink = (await readFile(join(box.repo, ".crew", "metrics", day ?? ""), "utf8")).trim().split("\n");
	const line = JSON.parse(sink.at(-1) ?? "{}") as { kind: string; runId: string; cid: string; status: string };
	assert.deepEqual([line.kind, line.runId, line.cid, line.status], ["run", runId, `${runId}:-:1`, "succeeded"]);

	const exported = await cli(["doctor", "--export", "diag.json", "--json"], box);
	assert.equal(exported.code, 0, exported.stderr);
	assert.deepEqual(JSON.parse(exported.stdout), { path: join(box.repo, "diag.json"), schemaVersion: 2 });
	const report = JSON.parse(await readFile(join(box.repo, "diag.json"), "utf8")) as { runs: { runId: string }[] };
	assert.deepEqual(
		report.runs.map((r) => r.runId),
		[runId],
	);

	const text = (await cli(["metrics", "--prometheus"], box)).stdout;
	assert.match(text, /^crew_task_total\{status="succeeded",role="verifier"\} 1$/m);
	// With the sink turned off, a run adds nothing to it.
	await box.write("../crew-home/config.yaml", "metrics:\n  sink: false\n");
	const unsunk = await runJson(await pair(box), box);
	assert.equal(unsunk.json.status, "succeeded", unsunk.stderr);
	const after = await readFile(join(box.repo, ".crew", "metrics", day ?? ""), "utf8");
	assert.equal(after.trim().split("\n").length, sink.length);
	await box.write("../crew-home/config.yaml", "");
	if (!hasTool(t, "promtool")) return;
	const checked = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
	assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
});

test("a real Prometheus server scrapes pi-crew metrics --serve", async (t) => {
	if (!hasTool(t, "prometheus")) return;
	const box = await sandbox();
	const run = await runJson(await pair(box), box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const served = startCli(["metrics", "--serve", "--port", "0", "--json"], box);
	let printed = "";
	served.child.stdout?.on("data", (d) => {
		printed += d;
	});
	let prometheus: ChildProcess | undefined;
	try {
		const url = await waitFor("the endpoint", async () => /"url": "([^"]+)"/.exec(printed)?.[1]);
		const target = new URL(url).host;
		const port = await freePort();
		const config = await box.write(
			"prometheus.yml",
			`global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: crew\n    static_configs:\n      - targets: ["${target}"]\n`,
		);
		prometheus = spawn(
			"prometheus",
			[
				`--config.file=${config}`,
				`--storage.tsdb.path=${join(box.dir, "tsdb")}`,
				`--web.listen-address=127.0.0.1:${port}`,
			],
			{ stdio: "ignore" },
		);
		const api = `http://127.0.0.1:${port}/api/v1`;
		const health = await waitFor(
			"the scrape",
			async () => {
				const targets = (await fetch(`${api}/targets`)
					.then((r) => r.json())
					.catch(() => undefined)) as { data: { activeTargets: { health: string; lastError: string }[] } } | undefined;
				const first = targets?.data.activeTargets[0];
				return first && first.health !== "unknown" ? first : undefined;
			},
			60_000,
		);
		assert.deepEqual([health.health, health.lastError], ["up", ""]);
		const result = await waitFor("the samples", async () => {
			const q = (await fetch(`${api}/query?query=${encodeURIComponent("crew_task_total")}`).then((r) => r.json())) as {
				data: { result: { metric: Record<string, string>; value: [number, string] }[] };
			};
			return q.data.result.length > 0 ? q.data.result : undefined;
		});
		assert.deepEqual(result.map((r) => [r.metric.role, r.metric.status, r.value[1]]).sort(), [
			["explorer", "succeeded", "1"],
			["verifier", "succeeded", "1"],
		]);
	} finally {
		prometheus?.kill();
		served.child.kill("SIGINT");
		await served.done;
	}
});

test("OTLP: a run pushes its metrics to the configured endpoint, headers included", async () => {
	const received: { path?: string; type?: string; auth?: string; json: unknown }[] = [];
	const receiver = createServer(async (req, res) => {
		received.push({
			path: req.url,
			type: req.headers["content-type"],
			auth: req.headers.authorization,
			json: JSON.parse(await body(req)),
		});
		res.writeHead(200, { "content-type": "application/json" }).end("{}");
	});
	const port = await listen(receiver);
	try {
		const box = await sandbox();
		await box.write(
			"../crew-home/config.yaml",
			`metrics:\n  otlp:\n    endpoint: http://127.0.0.1:${port}/v1/metrics\n    headers:\n      authorization: Bearer otlp-test-credential\n`,
		);
		const run = await runJson(await pair(box), box);
		assert.equal(run.json.status, "succeeded", run.stderr);
		assert.ok(received.length >= 1, "at least the final push arrived");
		const last = received.at(-1);
		assert.deepEqual(
			[last?.path, last?.type, last?.auth],
			["/v1/metrics", "application/json", "Bearer otlp-test-credential"],
		);
		type Attr = { key: string; value: { stringValue?: string } };
		const doc = last?.json as {
			resourceMetrics: {
				resource: { attributes: Attr[] };
				scopeMetrics: {
					metrics: {
						name: string;
						unit: string;
						sum?: {
							isMonotonic: boolean;
							aggregationTemporality: number;
							dataPoints: { attributes: Attr[]; asDouble: number }[];
						};
						histogram?: { dataPoints: { count: string | number; explicitBounds: number[] }[] };
					}[];
				}[];
			}[];
		};
		const [resource] = doc.resourceMetrics;
		assert.ok(resource?.resource.attributes.some((a) => a.key === "service.name" && a.value.stringValue === "pi-crew"));
		const metrics = resource?.scopeMetrics[0]?.metrics ?? [];
		const tasks = metrics.find((m) => m.name === "crew.task.count");
		assert.equal(tasks?.sum?.isMonotonic, true);
		assert.equal(tasks?.sum?.aggregationTemporality, 2, "cumulative");
		assert.deepEqual(
			tasks?.sum?.dataPoints.map((p) => [p.attributes.map((a) => a.value.stringValue).join(","), p.asDouble]),
			[
				["succeeded,explorer", 1],
				["succeeded,verifier", 1],
			],
		);
		const durations = metrics.find((m) => m.name === "crew.task.duration_ms");
		assert.equal(durations?.unit, "ms");
		assert.deepEqual(durations?.histogram?.dataPoints[0]?.explicitBounds.slice(0, 3), [1, 2, 5]);
		assert.equal(Number(durations?.histogram?.dataPoints[0]?.count), 1);
	} finally {
		receiver.close();
	}
});

test("an OTLP collector that is down or hangs neither fails nor holds up a run; the failure is reported once", async () => {
	const box = await sandbox();
	const args = await pair(box);
	const down = await freePort(); // nothing listens there
	// No interval push: a run that outlasts one on a busy machine would report the failure outside the run's span.
	await box.write(
		"../crew-home/config.yaml",
		`metrics:\n  otlp:\n    endpoint: http://127.0.0.1:${down}/v1/metrics\n    intervalMs: 600000\n`,
	);
	const refused = await runJson(args, box);
	assert.equal(refused.code, 0);
	assert.equal(refused.json.status, "succeeded");
	assert.equal(refused.stderr.match(/metrics exporter otlp failed/g)?.length, 1, refused.stderr);
	assert.match(
		refused.stderr,
		new RegExp(`^\\[${refused.json.runId}:-:1\\] pi-crew: metrics exporter otlp failed`, "m"),
	);

	// Accepts connections, never answers: only the exporter's 30 s timeout would end a request.
	const hang = createServer(() => undefined);
	const port = await listen(hang);
	try {
		await box.write(
			"../crew-home/config.yaml",
			`metrics:\n  otlp:\n    endpoint: http://127.0.0.1:${port}/v1/metrics\n    timeoutMs: 30000\n`,
		);
		const hung = await runJson(args, box);
		assert.equal(hung.json.status, "succeeded");
		// The run never waits for a push; the command's exit waits at most 1 s for it, then gives up and says so. (A
		// command that waited for the exporter instead would hang for its 30 s timeout and report no abandoned push.)
		assert.equal(hung.stderr.match(/metrics exporter otlp failed: no answer within 1000 ms/g)?.length, 1, hung.stderr);
	} finally {
		hang.closeAllConnections();
		hang.close();
	}
});

test("inside pi: the team tool's metrics, api metrics-snapshot and export diagnostics (confined to the repository)", async () => {
	const box = await sandbox();
	const run = await runJson(await pair(box), box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const calls = [
		{ action: "metrics", filter: "crew.task.*" },
		{ action: "api", operation: "metrics-snapshot", filter: "crew.run.count" },
		{ action: "export", kind: "diagnostics", file: "diag/report.json" },
		{ action: "export", kind: "diagnostics", file: "../outside.json" },
	];
	const script = calls.map((args) => `  - tool: team\n    args: ${JSON.stringify(args)}`).join("\n");
	const scenario = await box.write("parent.yaml", `default:\n${script}\n  - say: done\n`);
	await box.write("diag/.keep", ""); // a report goes into a directory that exists, never one made up on the way
	const asked = await askPi(box, scenario, "look at the metrics", "json");
	assert.equal(asked.code, 0, asked.stderr);
	const [metrics, raw, exported, escaped] = asked.toolResults;
	assert.match(metrics ?? "", /^crew\.task\.count\{status=succeeded,role=explorer\}\s+1/m);
	assert.doesNotMatch(metrics ?? "", /crew\.run\./);
	const snapshot = JSON.parse(raw ?? "{}") as { runs: number; metrics: { name: string }[] };
	assert.deepEqual([snapshot.runs, snapshot.metrics.map((m) => m.name)], [1, ["crew.run.count"]]);
	assert.match(exported ?? "", /^diagnostic report \(schemaVersion 2, secrets redacted\): .*diag\/report\.json$/);
	const report = JSON.parse(await readFile(join(box.repo, "diag", "report.json"), "utf8")) as { schemaVersion: number };
	assert.equal(report.schemaVersion, 2);
	assert.match(escaped ?? "", /points outside/);
});

test("/team-metrics shows the metrics; a session with metrics.prometheus configured serves them while it lasts", async () => {
	const box = await sandbox();
	const run = await runJson(await pair(box), box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const port = await freePort();
	await box.write("../crew-home/config.yaml", `metrics:\n  prometheus:\n    port: ${port}\n`);
	let scraped = "";
	const ui = await rpc(
		box,
		"/team-metrics crew.task.*",
		(r) => r.some((x) => x.method === "notify" && /pi-crew metrics/.test(x.message ?? "")),
		async () => {
			scraped = await waitFor("the session's endpoint", () =>
				fetch(`http://127.0.0.1:${port}/metrics`).then(
					(r) => r.text(),
					() => undefined,
				),
			);
		},
	);
	assert.match(ui.find((x) => x.method === "notify")?.message ?? "", /^pi-crew metrics: 1 run\(s\)$/);
	const widget = ui.find((x) => x.method === "setWidget")?.widgetLines ?? [];
	assert.ok(
		widget.some((l) => /^crew\.task\.count\{status=succeeded,role=verifier\}\s+1/.test(l)),
		widget.join("\n"),
	);
	assert.match(scraped, /^crew_task_total\{status="succeeded",role="explorer"\} 1$/m);
});
