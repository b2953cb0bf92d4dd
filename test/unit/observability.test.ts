/**
 * Metrics from events: a recorded run replays to the expected counts; the sink and the diagnostic export never hold
 * a secret; old sink files go; the Prometheus exposition passes promtool.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { effectiveConfig } from "../../src/api/index.js";
import { exportDiagnostics } from "../../src/api/metrics.js";
import { CrewMetrics } from "../../src/observability/crew-metrics.js";
import { MetricRegistry, type MetricSnapshot } from "../../src/observability/metrics.js";
import { exposition, isLoopback, prometheusName, serveMetrics } from "../../src/observability/prometheus.js";
import { replayRuns } from "../../src/observability/replay.js";
import { appendSink, pruneSink, sinkDir } from "../../src/observability/sink.js";
import { observeRuns, pushAll } from "../../src/observability/telemetry.js";
import { readEventLog } from "../../src/store/event-log.js";
import type { CrewEvent, RunState } from "../../src/store/events.js";
import { applyEvent } from "../../src/store/fold.js";
import { setReporter, stopBackground } from "../../src/util/background.js";
import { fixtures } from "../support/fixtures.js";
import { handWrittenLog, hasTool, ROOT, sandbox } from "../support/index.js";

after(() => stopBackground());

const GOLDEN_RUN = "20261125-140728-eeef84";

const CREW_METRICS = [
	"crew.run.count",
	"crew.run.duration_ms",
	"crew.task.count",
	"crew.task.duration_ms",
	"crew.task.retry_count",
	"crew.task.tokens_total",
	"crew.cost.usd",
	"crew.task.attempt_count",
	"crew.heartbeat.staleness_ms",
	"crew.deadletter.count",
	"crew.worker.active",
	"crew.loop.rounds",
];

/** A repository holding the golden retry/dead-letter run as a finished run. */
async function goldenRepo() {
	const box = await sandbox();
	const dir = join(box.repo, ".crew", "runs", GOLDEN_RUN);
	await mkdir(dir, { recursive: true });
	await writeFile(join(dir, "events.jsonl"), await readFile(join(ROOT, "test/golden/v1-retry-deadletter.jsonl")));
	return box;
}

function series(snapshots: MetricSnapshot[], name: string) {
	const m = snapshots.find((s) => s.name === name);
	assert.ok(m, `no metric ${name}`);
	return m;
}

function values(snapshots: MetricSnapshot[], name: string): Record<string, number> {
	const m = series(snapshots, name);
	return Object.fromEntries(
		m.series.map((s) => [Object.values(s.labels).join(",") || "-", "value" in s ? s.value : s.count]),
	);
}

test("replaying a recorded run gives its counts, durations, retries and tokens", async () => {
	const box = await goldenRepo();
	const replay = await replayRuns(box.repo);
	assert.deepEqual(
		replay.runs.map((v) => v.state.runId),
		[GOLDEN_RUN],
	);
	const snap = replay.metrics.registry.snapshot(Date.parse("2026-11-25T14:30:00Z"));
	assert.deepEqual(
		snap.map((m) => m.name),
		CREW_METRICS,
	);
	assert.deepEqual(values(snap, "crew.run.count"), { failed: 1 });
	assert.deepEqual(values(snap, "crew.task.count"), {
		"failed,explorer": 1,
		"skipped,writer": 1,
		"succeeded,explorer": 1,
	});
	assert.deepEqual(values(snap, "crew.deadletter.count"), { "max-retries": 1 });
	assert.deepEqual(values(snap, "crew.task.tokens_total"), {
		// Every prompt token: pi's uncached input plus the cached parts (this log's older pi counted its prompt twice).
		"explorer,input": 1224 + 1224 + 1227 + 706 + 539 + (1224 + 1224 + 1227 + 706),
		"explorer,output": 4 + 2,
		"explorer,cache_read": 539,
		"explorer,cache_write": 1224 + 1224 + 1227 + 706,
	});
	const duration = series(snap, "crew.task.duration_ms");
	assert.ok(duration.type === "histogram");
	// The attempts' running time, not the waits between them: doomed 28.619 -> 29.838 and 29.952 -> 31.022, flaky
	// 28.619 -> 29.830 and 29.940 -> 31.039 (the skipped task never ran).
	assert.deepEqual(
		duration.series.map((s) => [s.labels.role, s.count, s.sum]),
		[["explorer", 2, 1219 + 1070 + 1211 + 1099]],
	);
	const retries = series(snap, "crew.task.retry_count");
	assert.ok(retries.type === "histogram");
	assert.deepEqual(
		retries.series.map((s) => [s.count, s.sum]),
		[[2, 2]],
	);
	const run = series(snap, "crew.run.duration_ms");
	assert.ok(run.type === "histogram");
	assert.deepEqual(
		run.series.map((s) => [s.labels.team, s.sum]),
		[["golden", 31_044 - 28_611]], // from run.started
	);
	assert.deepEqual(values(snap, "crew.worker.active"), {}, "a finished run has no workers");
});

/** Feeds hand-made events of run `live` through a fresh subscriber, folding as a coordinator does. */
function liveRun() {
	const metrics = new CrewMetrics(new MetricRegistry(() => undefined));
	let state: RunState | undefined;
	let seq = 0;
	const feed = (type: CrewEvent["type"], data: unknown, taskId?: string, at = "12:00:00") => {
		const e = { v: 1, seq: ++seq, ts: `2026-11-25T${at}.000Z`, runId: "live", type, data, taskId } as CrewEvent;
		state = applyEvent(state, e);
		metrics.observe(e, state);
	};
	feed("run.created", fixtures.created);
	const snapshot = (at: string) => metrics.registry.snapshot(Date.parse(`2026-11-25T${at}.000Z`));
	return { metrics, feed, snapshot };
}

const PLANNED = { role: "executor", agent: "executor", dependsOn: [], template: "t", output: "o" };

test("workers and staleness follow what the heartbeat watcher logged: 0 while healthy, the silence once it is not", () => {
	const { metrics, feed, snapshot } = liveRun();
	feed("task.planned", PLANNED, "a");
	feed("run.started", { pid: 1 });
	feed("task.started", { attempt: 1, promptPath: "p" }, "a", "12:00:01");
	let snap = snapshot("12:00:31");
	assert.deepEqual(values(snap, "crew.worker.active"), { executor: 1 });
	assert.deepEqual(values(snap, "crew.heartbeat.staleness_ms"), { "-": 0 }, "healthy: streaming output beats unlogged");
	feed("task.heartbeat", { level: "warn", silentMs: 30_000 }, "a", "12:00:31");
	assert.deepEqual(values(snapshot("12:00:41"), "crew.heartbeat.staleness_ms"), { "-": 40_000 });
	feed("task.heartbeat", { level: "healthy", silentMs: 0 }, "a", "12:00:45");
	assert.deepEqual(values(snapshot("12:04:00"), "crew.heartbeat.staleness_ms"), { "-": 0 });
	feed("task.heartbeat", { level: "dead", silentMs: 300_000 }, "a", "12:09:45");
	snap = snapshot("12:10:00");
	assert.deepEqual(values(snap, "crew.heartbeat.staleness_ms"), { "-": 315_000 });
	assert.deepEqual(values(snap, "crew.worker.active"), { executor: 0 }, "a dead task is being stopped");
	metrics.forget("live");
	snap = snapshot("12:10:00");
	assert.deepEqual(values(snap, "crew.worker.active"), { executor: 0 }, "a role seen reads 0, not its last value");
	assert.deepEqual(values(snap, "crew.heartbeat.staleness_ms"), { "-": 0 });
});

test("replay after a crash: the resumed life starts again, and gauges count only runs whose coordinator is alive", async () => {
	const box = await sandbox();
	const runId = "20261125-120000-c0ffee";
	const at = (type: string, data: unknown, taskId: string | undefined, ts: string) => ({
		type,
		data,
		taskId,
		ts: `2026-11-${ts}.000Z`,
	});
	const head = [
		at("run.created", fixtures.created, undefined, "24T12:00:00"),
		at("task.planned", PLANNED, "a", "24T12:00:00"),
		at("run.started", { pid: 1 }, undefined, "24T12:00:00"),
		at("task.started", { attempt: 1, promptPath: "p" }, "a", "24T12:00:01"),
	];
	// The coordinator died here; a day later the run is resumed and the task succeeds in 2 s.
	const tail = [
		at("run.resumed", { pid: 2, reopened: ["a"] }, undefined, "25T12:00:00"),
		at("task.started", { attempt: 2, promptPath: "p" }, "a", "25T12:00:01"),
		at("task.succeeded", { resultPath: "r", chars: 1 }, "a", "25T12:00:03"),
		at("run.finished", { status: "succeeded", summaryPath: "s" }, undefined, "25T12:00:04"),
	];
	const dir = await handWrittenLog(box.repo, runId, head);
	// Its lease names a coordinator on another host: no telling whether it lives, so it is not counted.
	await writeFile(
		join(dir, "lease.json"),
		JSON.stringify({ pid: 1, startTime: 1, host: "elsewhere", token: "t", since: "" }),
	);
	let snap = (await replayRuns(box.repo)).metrics.registry.snapshot();
	assert.deepEqual(values(snap, "crew.worker.active"), {});
	await handWrittenLog(box.repo, runId, [...head, ...tail]);
	snap = (await replayRuns(box.repo)).metrics.registry.snapshot();
	const duration = series(snap, "crew.task.duration_ms");
	assert.ok(duration.type === "histogram");
	assert.deepEqual([duration.series[0]?.count, duration.series[0]?.sum], [1, 2000]);
	const retries = series(snap, "crew.task.retry_count");
	assert.ok(retries.type === "histogram");
	assert.deepEqual([retries.series[0]?.count, retries.series[0]?.sum], [1, 0]);
});

test("a requeued task and a resumed run count each ending; durations and retries are per life; refused events count nothing", () => {
	const { feed, snapshot } = liveRun();
	feed("task.planned", PLANNED, "a");
	feed("run.started", { pid: 1 }, undefined, "12:00:00");
	feed("task.started", { attempt: 1, promptPath: "p" }, "a", "12:00:00");
	feed("task.retrying", { attempt: 1, reason: "boom", delayMs: 0 }, "a", "12:00:10");
	feed("task.started", { attempt: 2, promptPath: "p" }, "a", "12:00:10");
	feed("task.failed", { reason: "boom again" }, "a", "12:00:20");
	feed("task.failed", { reason: "written twice" }, "a", "12:00:21"); // refused by the fold
	feed("run.finished", { status: "failed", summaryPath: "s" }, undefined, "12:00:30");
	feed("run.finished", { status: "failed", summaryPath: "s" }, undefined, "12:00:31"); // refused
	// A day later: requeued, it succeeds in 5 s.
	feed("run.resumed", { pid: 2, reopened: [] }, undefined, "23:00:00");
	feed("task.requeued", { reason: "requeue" }, "a", "23:00:00");
	feed("task.started", { attempt: 3, promptPath: "p" }, "a", "23:00:01");
	feed("task.succeeded", { resultPath: "r", chars: 1 }, "a", "23:00:06");
	feed("run.finished", { status: "succeeded", summaryPath: "s" }, undefined, "23:00:07");
	const snap = snapshot("23:01:00");
	assert.deepEqual(values(snap, "crew.run.count"), { failed: 1, succeeded: 1 });
	assert.deepEqual(values(snap, "crew.task.count"), { "failed,executor": 1, "succeeded,executor": 1 });
	const duration = series(snap, "crew.task.duration_ms");
	assert.ok(duration.type === "histogram");
	assert.deepEqual([duration.series[0]?.count, duration.series[0]?.sum], [2, 20_000 + 5_000]);
	const retries = series(snap, "crew.task.retry_count");
	assert.ok(retries.type === "histogram");
	assert.deepEqual([retries.series[0]?.count, retries.series[0]?.sum], [2, 1 + 0]);
	const runs = series(snap, "crew.run.duration_ms");
	assert.ok(runs.type === "histogram");
	assert.deepEqual([runs.series[0]?.count, runs.series[0]?.sum], [2, 30_000 + 7_000], "from start, then from resume");
});

test("a hand-written log cannot put anything but short strings in labels, nor a bad id in an exemplar", async () => {
	const { feed, snapshot } = liveRun();
	const line = 'x"} 1\ninjected_metric{a="b"} 42';
	feed("task.planned", { ...PLANNED, role: [line] }, "a"); // not a string: the overflow series
	feed("task.planned", { ...PLANNED, role: line }, "b"); // a string: escaped
	feed("run.started", { pid: 1 });
	for (const id of ["a", "b"]) {
		feed("task.started", { attempt: 1, promptPath: "p" }, id);
		feed("task.usage", { input: 5, output: 0, cacheRead: 0, cacheWrite: 0, total: 5 }, id);
		feed("task.succeeded", { resultPath: "r", chars: 1 }, id);
	}
	// An event whose time is not a date counts nothing (a NaN exemplar time would fail the whole scrape).
	feed("task.planned", PLANNED, "c");
	feed("task.skipped", { reason: "r" }, "c", "not a time");
	const snap = snapshot("12:00:02");
	assert.deepEqual(values(snap, "crew.task.count"), { "_other,_other": 1, [`succeeded,${line}`]: 1 });
	for (const openMetrics of [false, true]) {
		const { body } = await exposition(snap, openMetrics);
		assert.doesNotMatch(body, /^injected/m);
		assert.doesNotMatch(body, /NaN/);
		assert.match(body, /role="x\\"} 1\\ninjected_metric\{a=\\"b\\"} 42"/);
	}
	const m = new CrewMetrics(new MetricRegistry(() => undefined));
	let state: RunState | undefined;
	for (const [i, [type, data]] of (
		[
			["run.created", fixtures.created],
			["run.finished", { status: "failed", summaryPath: "s" }],
		] as const
	).entries()) {
		const e = { v: 1, seq: i + 1, ts: "2026-11-25T12:00:00.000Z", runId: "r", cid: [`${line}`], type, data };
		state = applyEvent(state, e as unknown as CrewEvent);
		m.observe(e as unknown as CrewEvent, state);
	}
	const runs = series(m.registry.snapshot(), "crew.run.count");
	assert.ok(runs.type === "counter");
	assert.equal(runs.series[0]?.exemplar, undefined, "an id that is not the writer's shape is left out");
});

const FAKE_KEY = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123";

test("a secret in a run's events reaches neither the metrics sink nor the diagnostic export", async () => {
	const box = await sandbox();
	const runId = "20261125-120000-5ec2e7";
	// Written by hand, past the log writer's own redaction: the sink and the export must redact by themselves.
	const at = (type: string, data: unknown, taskId?: string) => ({
		type,
		data,
		taskId,
		ts: new Date().toISOString(),
		cid: `${runId}:${taskId ?? "-"}:1`,
	});
	const dir = await handWrittenLog(
		box.repo,
		runId,
		[
			at("run.created", { ...fixtures.created, team: "leaky" }),
			at("task.planned", { role: FAKE_KEY, agent: "executor", dependsOn: [], template: "t", output: "o" }, "t1"),
			at("run.started", { pid: 1 }),
			at("task.started", { attempt: 1, promptPath: "p" }, "t1"),
			at("task.failed", { reason: `the provider refused ${FAKE_KEY}` }, "t1"),
			at("run.finished", { status: "failed", reason: `t1 failed: ${FAKE_KEY}`, summaryPath: "s" }),
		],
		{ crewHome: box.env.PI_CREW_HOME },
	);

	const observer = await observeRuns(box.repo, {});
	let state: RunState | undefined;
	for (const e of (await readEventLog(join(dir, "events.jsonl"))).events) {
		state = applyEvent(state, e);
		observer.observe(e, state);
	}
	await observer.end();
	const [file] = await readdir(sinkDir(box.repo));
	assert.ok(file);
	const sink = await readFile(join(sinkDir(box.repo), file), "utf8");
	assert.match(sink, /"kind":"run"/);
	assert.match(sink, /crew\.task\.count/);
	assert.ok(!sink.includes(FAKE_KEY), "the sink holds the key");
	assert.match(sink, /\[REDACTED\]/);

	const previous = process.env.PI_CREW_HOME;
	process.env.PI_CREW_HOME = box.env.PI_CREW_HOME;
	try {
		const { path, report } = await exportDiagnostics(box.repo, "diag.json");
		const text = await readFile(path, "utf8");
		assert.ok(!text.includes(FAKE_KEY), "the diagnostic export holds the key");
		assert.equal(report.schemaVersion, 2);
		assert.ok(report.metrics.some((m) => m.name === "crew.task.count"));
		assert.deepEqual(
			report.errors.map((e) => [e.kind, e.taskId]),
			[
				["task-failed", "t1"],
				["run-failed", undefined],
			],
		);
		assert.match(JSON.stringify(report.errors), /\[REDACTED\]/);
		assert.deepEqual(
			(report.runs as { runId: string; status: string }[]).map((r) => [r.runId, r.status]),
			[[runId, "failed"]],
		);
		assert.ok(typeof report.environment.node === "string");
	} finally {
		process.env.PI_CREW_HOME = previous;
	}
});

test("sink files older than the retention are removed when a coordinator starts; others are left", async () => {
	const box = await sandbox();
	const dir = sinkDir(box.repo);
	await mkdir(dir, { recursive: true });
	const now = Date.parse("2026-11-25T12:00:00Z");
	const names = ["2026-11-25", "2026-11-19", "2026-11-18", "2026-11-17", "2026-10-26"].map((d) => `${d}.jsonl`);
	for (const name of [...names, "notes.txt", "2026-10-01.jsonl.bak"]) await writeFile(join(dir, name), "{}\n");
	assert.deepEqual(await pruneSink(box.repo, 7, now), ["2026-10-26.jsonl", "2026-11-17.jsonl"]);
	assert.deepEqual((await readdir(dir)).sort(), [...names.slice(0, 3), "notes.txt", "2026-10-01.jsonl.bak"].sort());
	// A coordinator starting prunes (by today's date).
	const old = `${new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10)}.jsonl`;
	const today = `${new Date().toISOString().slice(0, 10)}.jsonl`;
	await writeFile(join(dir, old), "{}\n");
	await writeFile(join(dir, today), "{}\n");
	await observeRuns(box.repo, { retentionDays: 7 });
	const left = await readdir(dir);
	assert.ok(!left.includes(old) && left.includes(today), left.join(" "));
});

test("the diagnostic export goes to the repository's .crew by default and never through a symlink", async () => {
	const box = await sandbox();
	const previous = process.env.PI_CREW_HOME;
	process.env.PI_CREW_HOME = box.env.PI_CREW_HOME;
	try {
		await mkdir(join(box.repo, "pkg"), { recursive: true });
		const { path } = await exportDiagnostics(join(box.repo, "pkg"));
		assert.equal(dirname(path), join(box.repo, ".crew"));
		const victim = join(box.dir, "victim.txt");
		await writeFile(victim, "keep\n");
		await symlink(victim, join(box.repo, "diag.json"));
		await assert.rejects(exportDiagnostics(box.repo, "diag.json"), /may not be symlinks/);
		await symlink(victim, join(box.dir, "outside.json"));
		await assert.rejects(exportDiagnostics(box.repo, join(box.dir, "outside.json")), /may not be symlinks/);
		// A directory the repository ships as a symlink, reached through another spelling of the repository's path.
		const elsewhere = join(box.dir, "elsewhere");
		await mkdir(elsewhere);
		await symlink(elsewhere, join(box.repo, ".crew", "reports"));
		await symlink(box.dir, join(box.dir, "alias"));
		await assert.rejects(
			exportDiagnostics(box.repo, join(box.dir, "alias", "repo", ".crew", "reports", "d.json")),
			/refusing to use .*reports: pi-crew paths may not be symlinks/,
		);
		assert.deepEqual(await readdir(elsewhere), []);
		// A symlink outside the repository on the way is the user's own.
		const viaAlias = await exportDiagnostics(box.repo, join(box.dir, "alias", "report.json"));
		assert.ok(viaAlias.path.endsWith("report.json"));
		await assert.rejects(exportDiagnostics(box.repo, "../x.json", { confine: true }), /points outside/);
		assert.equal(await readFile(victim, "utf8"), "keep\n");
	} finally {
		process.env.PI_CREW_HOME = previous;
	}
});

function promtool(text: string) {
	return spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
}

test("the Prometheus exposition follows Prometheus naming and passes promtool", async (t) => {
	assert.deepEqual(
		[
			prometheusName({ name: "crew.run.count", type: "counter" }),
			prometheusName({ name: "crew.task.tokens_total", type: "counter" }),
			prometheusName({ name: "crew.task.duration_ms", type: "histogram" }),
			prometheusName({ name: "crew.task.retry_count", type: "histogram" }),
			prometheusName({ name: "crew.heartbeat.staleness_ms", type: "gauge" }),
		],
		[
			{ name: "crew_run_total", scale: 1 },
			{ name: "crew_task_tokens_total", scale: 1 },
			{ name: "crew_task_duration_seconds", scale: 0.001 },
			{ name: "crew_task_retry_count", scale: 1 },
			{ name: "crew_heartbeat_staleness_seconds", scale: 0.001 },
		],
	);
	const box = await goldenRepo();
	const snap = (await replayRuns(box.repo)).metrics.registry.snapshot();
	const { body, contentType } = await exposition(snap);
	assert.match(contentType, /^text\/plain; version=0\.0\.4/);
	assert.match(body, /^crew_task_total\{status="succeeded",role="explorer"\} 1$/m);
	assert.match(body, /^crew_task_duration_seconds_sum\{role="explorer"\} 4\.599$/m);
	assert.match(body, /^crew_task_duration_seconds_bucket\{role="explorer",le="2\.5"\} 2$/m);
	assert.match(body, /^crew_deadletter_total\{reason="max-retries"\} 1$/m);
	if (!hasTool(t, "promtool")) return;
	const checked = promtool(body);
	assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
});

test("OpenMetrics carries the correlation id as an exemplar; label values are escaped", async () => {
	const r = new MetricRegistry(() => undefined);
	r.counter("crew.run.count", "h", { labels: ["status"] }).inc({ status: 'a"b\\c' }, 1, {
		ts: 1_700_000_000_000,
		cid: "r1:-:1",
	});
	r.histogram("crew.task.duration_ms", "h").observe({}, 1500, { ts: 1_700_000_000_000, cid: "r1:t:2" });
	const { body, contentType } = await exposition(r.snapshot(), true);
	assert.match(contentType, /^application\/openmetrics-text/);
	assert.match(body, /^# TYPE crew_run counter$/m);
	assert.match(body, /^crew_run_total\{status="a\\"b\\\\c"\} 1 # \{cid="r1:-:1"\} 1 1700000000$/m);
	assert.match(body, /^crew_task_duration_seconds_bucket\{le="2\.5"\} 1 # \{cid="r1:t:2"\} 1\.5 1700000000$/m);
	assert.match(body, /# EOF\n$/);
});

test("the endpoint binds loopback only, unless the config allows more", async () => {
	assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost") && isLoopback("127.1.2.3"));
	assert.ok(!isLoopback("0.0.0.0") && !isLoopback("192.168.1.5") && !isLoopback("::"));
	await assert.rejects(
		serveMetrics({ port: 0, host: "0.0.0.0" }, async () => []),
		/not a loopback address: set metrics\.prometheus\.allowNonLoopback: true/,
	);
	const open = await serveMetrics({ port: 0, host: "0.0.0.0", allowNonLoopback: true }, async () => []);
	try {
		assert.match(open.url, /^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
		assert.equal((await fetch(open.url.replace("0.0.0.0", "127.0.0.1"))).status, 200);
	} finally {
		open.server.close();
	}
	const { server, url } = await serveMetrics({ port: 0, host: "127.0.0.1" }, async () => []);
	try {
		assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
		assert.equal((await fetch(url)).status, 200);
		assert.equal((await fetch(url.replace("/metrics", "/other"))).status, 404);
	} finally {
		server.close();
	}
});

test("the Grafana dashboard queries only names the exporter produces, and every metric family", async () => {
	const dash = JSON.parse(await readFile(join(ROOT, "docs/grafana/pi-crew.json"), "utf8")) as {
		panels: { targets: { expr: string }[] }[];
		templating: { list: { definition: string }[] };
	};
	const exprs = [
		...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)),
		...dash.templating.list.map((v) => v.definition),
	];
	const used = new Set(exprs.flatMap((e) => e.match(/\bcrew_[a-z_]+/g) ?? []));
	const families = new CrewMetrics(new MetricRegistry(() => undefined)).registry
		.snapshot()
		.map((m) => ({ m, name: prometheusName(m).name }));
	const exported = new Set(
		families.flatMap(({ m, name }) =>
			m.type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
		),
	);
	assert.deepEqual(
		[...used].filter((n) => !exported.has(n)),
		[],
		"queries on names the exporter never produces",
	);
	assert.deepEqual(
		families.filter(({ name }) => ![...used].some((n) => n.startsWith(name))).map(({ name }) => name),
		[],
		"families without a panel",
	);
});

test("exporters run side by side: one failing neither stops the others nor is reported more than once", async () => {
	const lines: string[] = [];
	setReporter((line) => lines.push(line));
	try {
		const got: string[][] = [];
		const ok = (name: string) => ({
			name,
			push: async (s: MetricSnapshot[]) => {
				got.push([name, ...s.map((m) => m.name)]);
			},
			shutdown: async () => undefined,
		});
		const broken = {
			name: "broken",
			push: async () => Promise.reject(new Error("connection refused")),
			shutdown: async () => undefined,
		};
		const snap = new CrewMetrics(new MetricRegistry(() => undefined)).registry.snapshot();
		for (let i = 0; i < 3; i++) await pushAll([ok("first"), broken, ok("second")], snap);
		assert.equal(got.length, 6);
		assert.deepEqual(got[1], ["second", ...CREW_METRICS]);
		assert.deepEqual(lines, [
			"pi-crew: metrics exporter broken failed: Error: connection refused (reported once; runs are not affected)",
		]);
	} finally {
		setReporter();
	}
});

test("a repository cannot point the sink elsewhere: a symlinked directory or day file is refused", async () => {
	const box = await sandbox();
	const outside = join(box.dir, "outside");
	await mkdir(outside);
	await mkdir(join(box.repo, ".crew"), { recursive: true });
	await symlink(outside, sinkDir(box.repo));
	await assert.rejects(appendSink(box.repo, { kind: "run" }), /may not be symlinks/);
	assert.deepEqual(await readdir(outside), []);

	const other = await sandbox();
	const victim = join(other.dir, "victim.txt");
	await writeFile(victim, "keep\n");
	await mkdir(sinkDir(other.repo), { recursive: true });
	await symlink(victim, join(sinkDir(other.repo), `${new Date().toISOString().slice(0, 10)}.jsonl`));
	await assert.rejects(appendSink(other.repo, { kind: "run" }), /may not be symlinks/);
	assert.equal(await readFile(victim, "utf8"), "keep\n");
});

test("the effective config never shows OTLP credentials: headers, a password in the URL, a token in its query", async () => {
	const box = await sandbox();
	await box.write(
		"../crew-home/config.yaml",
		"metrics:\n  otlp:\n    endpoint: https://user:hunter2-pass@collector.example/v1/metrics?token=abcd1234efgh\n    headers: { authorization: Bearer sekret-value-123 }\n",
	);
	const previous = process.env.PI_CREW_HOME;
	process.env.PI_CREW_HOME = box.env.PI_CREW_HOME;
	try {
		const shown = JSON.stringify(await effectiveConfig(box.repo));
		for (const secret of ["hunter2", "abcd1234efgh", "sekret"])
			assert.ok(!shown.includes(secret), `${secret} in ${shown}`);
		assert.match(shown, /collector\.example/);
		assert.match(shown, /"authorization":"\[REDACTED\]"/);
	} finally {
		process.env.PI_CREW_HOME = previous;
	}
});
