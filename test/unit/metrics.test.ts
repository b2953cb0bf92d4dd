/** The metric registry: names, labels, buckets and quantiles (hand-computed: exact, then clamped estimates), the one-hour window, bounded series. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
	MAX_SAMPLES,
	MAX_SERIES,
	MetricNameError,
	MetricRegistry,
	MS_BUCKETS,
	OVERFLOW_LABEL,
	quantileOf,
	WINDOW_MS,
} from "../../src/observability/metrics.js";

const quiet = () => new MetricRegistry(() => undefined);

test("metric names must be crew.<area>.<measure>: a bad one fails at registration, naming it", () => {
	const r = quiet();
	for (const bad of ["run.count", "crew.run", "crew.Run.count", "crew.run.count-x", "crew.run.1count", "crew..count"])
		assert.throws(
			() => r.counter(bad, "h"),
			(err: Error) => err instanceof MetricNameError && err.message.includes(JSON.stringify(bad)),
			bad,
		);
	r.counter("crew.run.count", "h");
	r.histogram("crew.task.duration_ms", "h");
	assert.throws(() => r.gauge("crew.run.count", "h"), /registered twice/);
});

test("labels are the registered names exactly", () => {
	const c = quiet().counter("crew.task.count", "h", { labels: ["status", "role"] });
	c.inc({ status: "succeeded", role: "explorer" });
	assert.throws(() => c.inc({ status: "succeeded" }), /labels \{status\} given, \{status,role\} registered/);
	assert.throws(() => c.inc({ status: "x", role: "y", prompt: "z" }), MetricNameError);
	assert.deepEqual(
		c.snapshot(Date.now()).series.map((x) => [x.labels, x.value]),
		[[{ status: "succeeded", role: "explorer" }, 1]],
	);
	assert.throws(() => c.inc({ status: "x", role: "y" }, -1), /cannot go down/);
});

test("histogram buckets are cumulative per bound; quantiles of few values are exact", () => {
	const h = quiet().histogram("crew.task.duration_ms", "h");
	for (const v of [3, 7, 20, 60, 400]) h.observe({}, v);
	const snap = h.snapshot(Date.now());
	assert.equal(snap.type, "histogram");
	const [series] = snap.type === "histogram" ? snap.series : [];
	assert.ok(series);
	assert.deepEqual(
		series.buckets.map((b) => [b.le, b.count]),
		[
			[1, 0],
			[2, 0],
			[5, 1],
			[10, 2],
			[25, 3],
			[50, 3],
			[100, 4],
			[250, 4],
			[500, 5],
			[1000, 5],
			[2500, 5],
			[5000, 5],
			[10000, 5],
			...MS_BUCKETS.slice(13).map((le) => [le, 5]),
			["+Inf", 5],
		],
	);
	assert.equal(series.sum, 490);
	// Ranks 0..4: p50 is rank 2 (20); p95 is rank 3.8, between 60 and 400: 60 + 0.8 * 340; p99 rank 3.96.
	assert.equal(series.p50, 20);
	assert.ok(Math.abs((series.p95 ?? 0) - 332) < 1e-9, String(series.p95));
	assert.ok(Math.abs((series.p99 ?? 0) - 386.4) < 1e-9, String(series.p99));
	assert.equal(h.quantile({}, 0.5), 20);
});

test("one value is every quantile of it: a 3.6 s run reads 3.6 s, an 11 s task 11 s (not a bucket's middle)", () => {
	const h = quiet().histogram("crew.task.duration_ms", "h", { labels: ["role"] });
	h.observe({ role: "a" }, 3600);
	h.observe({ role: "b" }, 11_000);
	const snap = h.snapshot(Date.now());
	assert.ok(snap.type === "histogram");
	for (const [role, value] of [
		["a", 3600],
		["b", 11_000],
	] as const) {
		const s = snap.series.find((x) => x.labels.role === role);
		assert.deepEqual([s?.p50, s?.p95, s?.p99], [value, value, value], role);
		assert.deepEqual([s?.lastHour.p50, s?.lastHour.p95], [value, value], role);
	}
});

test("past MAX_SAMPLES values, quantiles come from the buckets and stay inside the observed range", () => {
	const h = quiet().histogram("crew.task.duration_ms", "h");
	// All in (10 s, 30 s], between 11 s and 12 s: a bucket estimate unclamped would reach 20 s and 29.6 s.
	for (let i = 0; i <= MAX_SAMPLES; i++) h.observe({}, 11_000 + (i % 2) * 1000);
	const snap = h.snapshot(Date.now());
	assert.ok(snap.type === "histogram");
	const [s] = snap.series;
	assert.equal(s?.count, MAX_SAMPLES + 1);
	for (const q of [s?.p50, s?.p95, s?.p99, s?.lastHour.p50, s?.lastHour.p99])
		assert.ok(q !== null && q !== undefined && q >= 11_000 && q <= 12_000, String(q));
	assert.equal(h.quantile({}, 0), 11_000);
	assert.equal(h.quantile({}, 1), 12_000);
});

test("bucket estimates without the values: empty is null, the bucket narrowed to the observed min and max", () => {
	const d = (values: number[]) => {
		const counts = new Array<number>(MS_BUCKETS.length + 1).fill(0);
		for (const v of values) {
			const i = MS_BUCKETS.findIndex((b) => v <= b);
			counts[i < 0 ? MS_BUCKETS.length : i] = (counts[i < 0 ? MS_BUCKETS.length : i] ?? 0) + 1;
		}
		return {
			counts,
			sum: values.reduce((a, b) => a + b, 0),
			count: values.length,
			min: Math.min(...values),
			max: Math.max(...values),
		};
	};
	assert.equal(quantileOf(MS_BUCKETS, d([]), 0.5), null);
	assert.equal(quantileOf(MS_BUCKETS, d([42]), 0.5), 42, "one value: its bucket narrows to it");
	assert.equal(quantileOf(MS_BUCKETS, d([42, 42]), 0.5, [42, 42]), 42);
	// Two values in (5 min, 10 min]: the bucket narrows to [6 min, 7 min].
	assert.equal(quantileOf(MS_BUCKETS, d([360_000, 420_000]), 0.5), 390_000);
	assert.equal(quantileOf(MS_BUCKETS, d([360_000, 420_000]), 1), 420_000);
	// Past the last bound (4 h) the overflow bucket ends at the largest value, not at 4 h.
	assert.equal(quantileOf(MS_BUCKETS, d([5 * 3_600_000, 6 * 3_600_000]), 1), 6 * 3_600_000);
	assert.equal(quantileOf(MS_BUCKETS, d([5 * 3_600_000, 6 * 3_600_000]), 0.5), 5.5 * 3_600_000);
	// 4 values in (100, 250], narrowed to [110, 140]: p25 is a quarter of the way.
	assert.equal(quantileOf(MS_BUCKETS, d([110, 120, 130, 140]), 0.25), 117.5);
	const retries = quiet().histogram("crew.task.retry_count", "h", { buckets: [0, 1, 2, 3, 5, 10] });
	for (const v of [0, 0, 0, 1]) retries.observe({}, v);
	assert.equal(retries.quantile({}, 0.5), 0);
	assert.equal(retries.quantile({}, 1), 1);
});

test("the last hour: totals keep everything, the window only the last 60 minutes", () => {
	const now = Date.parse("2026-11-25T12:00:00Z");
	const r = quiet();
	const c = r.counter("crew.run.count", "h", { labels: ["status"] });
	const h = r.histogram("crew.run.duration_ms", "h");
	c.inc({ status: "failed" }, 1, { ts: now - 2 * WINDOW_MS });
	h.observe({}, 5000, { ts: now - 2 * WINDOW_MS });
	for (let minute = 0; minute < 300; minute++) c.inc({ status: "failed" }, 1, { ts: now - minute * 60_000 });
	h.observe({}, 3, { ts: now - 10_000 });
	const snap = r.snapshot(now);
	const counter = snap.find((m) => m.name === "crew.run.count");
	assert.ok(counter?.type === "counter");
	assert.equal(counter.series[0]?.value, 301);
	assert.equal(counter.series[0]?.lastHour, 61, "minutes 0..60 back, both ends in the window");
	const hist = snap.find((m) => m.name === "crew.run.duration_ms");
	assert.ok(hist?.type === "histogram");
	assert.equal(hist.series[0]?.count, 2);
	assert.equal(hist.series[0]?.lastHour.count, 1);
	assert.equal(hist.series[0]?.lastHour.p50, 3, "the one recent value");
	assert.equal(h.quantile({}, 0.5, now), 3);
	// All time, 3 and 5000: rank 0.99 between them.
	assert.equal(h.quantile({}, 0.99), 3 + 0.99 * 4997);
});

test("series are bounded: past the cap, and for over-long values, they count as _other (warned once)", () => {
	const warnings: string[] = [];
	const c = new MetricRegistry((m) => warnings.push(m)).counter("crew.task.count", "h", { labels: ["role"] });
	for (let i = 0; i < MAX_SERIES + 100; i++) c.inc({ role: `r${i}` });
	c.inc({ role: "x".repeat(500) });
	const snap = c.snapshot(Date.now());
	assert.equal(snap.series.length, MAX_SERIES + 1);
	const other = snap.series.find((s) => s.labels.role === OVERFLOW_LABEL);
	assert.equal(other?.value, 101);
	assert.equal(warnings.length, 1);
	assert.match(warnings[0] ?? "", /crew\.task\.count: more than 500 series/);
});
