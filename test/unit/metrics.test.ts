/** The metric registry: names, labels, buckets and quantiles (hand-computed), the one-hour window, bounded series. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
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

test("histogram buckets are cumulative per bound; quantiles interpolate linearly inside the bucket", () => {
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
	// p50: the 2.5th of 5 values falls in (10, 25], which holds the 3rd: 10 + (2.5 - 2) / 1 * 15.
	assert.equal(series.p50, 17.5);
	// p95: the 4.75th falls in (250, 500], which holds the 5th: 250 + 0.75 * 250; p99 likewise 250 + 0.95 * 250.
	assert.equal(series.p95, 437.5);
	assert.ok(Math.abs((series.p99 ?? 0) - 487.5) < 1e-9, String(series.p99));
	assert.equal(h.quantile({}, 0.5), 17.5);
});

test("quantile edges: empty is null, one value interpolates in its bucket, overflow reads as the last bound", () => {
	const d = (values: number[]) => {
		const counts = new Array<number>(MS_BUCKETS.length + 1).fill(0);
		for (const v of values) {
			const i = MS_BUCKETS.findIndex((b) => v <= b);
			counts[i < 0 ? MS_BUCKETS.length : i] = (counts[i < 0 ? MS_BUCKETS.length : i] ?? 0) + 1;
		}
		return { counts, sum: values.reduce((a, b) => a + b, 0), count: values.length };
	};
	assert.equal(quantileOf(MS_BUCKETS, d([]), 0.5), null);
	assert.equal(quantileOf(MS_BUCKETS, d([42]), 0.5), 37.5); // (25, 50]: 25 + 0.5 * 25
	assert.equal(quantileOf(MS_BUCKETS, d([42]), 1), 50);
	// Real tasks and runs last minutes to hours: a 5-minute and a 7-minute task have a p50 inside (5 min, 10 min].
	assert.equal(quantileOf(MS_BUCKETS, d([300_000, 420_000]), 0.5), 300_000);
	assert.equal(quantileOf(MS_BUCKETS, d([300_000, 420_000]), 1), 600_000);
	assert.equal(quantileOf(MS_BUCKETS, d([2 * 3_600_000]), 0.5), 5_400_000); // (1 h, 2 h]: 1 h + 0.5 h
	assert.equal(quantileOf(MS_BUCKETS, d([5 * 3_600_000, 6 * 3_600_000]), 0.5), 14_400_000, "past 4 h: the last bound");
	// All in one bucket: 4 values in (100, 250]: p25 is the 1st of 4, a quarter of the way.
	assert.equal(quantileOf(MS_BUCKETS, d([110, 120, 130, 140]), 0.25), 137.5);
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
	assert.equal(hist.series[0]?.lastHour.p50, 3.5); // the one recent value, 3, in (2, 5]: 2 + 0.5 * 3
	assert.equal(h.quantile({}, 0.5, now), 3.5);
	// All time, 3 and 5000: the 1.98th value falls in (2500, 5000]: 2500 + 0.98 * 2500.
	assert.equal(h.quantile({}, 0.99), 4950);
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
