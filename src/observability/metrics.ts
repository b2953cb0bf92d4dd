/**
 * Metric primitives: Counter, Gauge and Histogram in a registry. Names are `crew.<area>.<measure>`; label names are
 * fixed at registration and the number of series per metric is capped, so nothing unbounded (a prompt, a path) can
 * become a label. Totals are cumulative; the last hour is also kept in one-minute slots (at most 61 per series), so a
 * long-lived process answers "how many in the last hour" and windowed quantiles in bounded memory. Quantiles are exact
 * while a histogram series holds few values (its latest MAX_SAMPLES are kept) and estimated from the buckets beyond,
 * never outside the smallest and largest value observed.
 */
import { report } from "../util/background.js";

const METRIC_NAME = /^crew\.[a-z]+\.[a-z][a-z_]*$/;
/**
 * Milliseconds: the fixed buckets of every duration histogram, from a millisecond (an in-process step) to four hours
 * (a long run), so quantiles of real tasks and runs of minutes to hours fall inside a bucket, not past the last one.
 */
export const MS_BUCKETS: readonly number[] = [
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000,
	1_800_000, 3_600_000, 7_200_000, 14_400_000,
];
export const WINDOW_MS = 3_600_000;
/** Raw values kept per histogram series (the latest): quantiles of up to this many values are exact. */
export const MAX_SAMPLES = 1000;
const SLOT_MS = 60_000;
/** Series per metric beyond this collapse into one `_other` series (and a warning is logged once). */
export const MAX_SERIES = 500;
const MAX_LABEL_CHARS = 64;
export const OVERFLOW_LABEL = "_other";

export type Labels = Record<string, string>;

/** Where a value came from: the correlation id of the event that recorded it. */
export interface Exemplar {
	cid: string;
	value: number;
	/** Epoch milliseconds. */
	ts: number;
}

/** When (and because of what) a value is recorded; defaults to now, with no exemplar. */
export interface At {
	ts?: number;
	cid?: string;
}

export interface CounterSeries {
	labels: Labels;
	value: number;
	lastHour: number;
	exemplar?: Exemplar;
}
export interface GaugeSeries {
	labels: Labels;
	value: number;
}
export interface Quantiles {
	p50: number | null;
	p95: number | null;
	p99: number | null;
}
export interface HistogramSeries extends Quantiles {
	labels: Labels;
	count: number;
	sum: number;
	/** Cumulative counts per upper bound (the last is +Inf). */
	buckets: { le: number | "+Inf"; count: number }[];
	lastHour: Quantiles & { count: number; sum: number };
	exemplar?: Exemplar;
}
interface Described {
	name: string;
	help: string;
	/** UCUM-style unit (`ms`, `{token}`), as OTLP carries it. */
	unit: string;
}
export type MetricSnapshot =
	| (Described & { type: "counter"; series: CounterSeries[] })
	| (Described & { type: "gauge"; series: GaugeSeries[] })
	| (Described & { type: "histogram"; bounds: number[]; series: HistogramSeries[] });

export class MetricNameError extends Error {
	constructor(name: string, why: string) {
		super(`metric ${JSON.stringify(name)}: ${why}`);
		this.name = "MetricNameError";
	}
}

type Warn = (message: string) => void;

abstract class Metric<S> {
	protected readonly series = new Map<string, S>();
	private warned = false;

	constructor(
		readonly name: string,
		readonly help: string,
		readonly labelNames: readonly string[],
		readonly unit: string,
		private readonly warn: Warn,
	) {}

	protected abstract create(labels: Labels): S;

	/**
	 * The series for `labels`: exactly the registered label names, each value a short string; anything else (an
	 * over-long value, a non-string from a hand-written log, one series too many) goes to the overflow series.
	 */
	protected seriesFor(labels: Labels): S {
		const keys = Object.keys(labels);
		if (keys.length !== this.labelNames.length || !this.labelNames.every((n) => n in labels))
			throw new MetricNameError(
				this.name,
				`labels {${keys.join(",")}} given, {${this.labelNames.join(",")}} registered`,
			);
		let key = this.keyOf(labels);
		const unfit = this.labelNames.some((n) => {
			const v: unknown = labels[n];
			return typeof v !== "string" || v.length > MAX_LABEL_CHARS;
		});
		if (unfit || (!this.series.has(key) && this.series.size >= MAX_SERIES)) {
			if (!this.warned) {
				this.warned = true;
				this.warn(
					`metric ${this.name}: ${unfit ? `a label value that is not a string of at most ${MAX_LABEL_CHARS} characters` : `more than ${MAX_SERIES} series`}; such values are counted as ${OVERFLOW_LABEL}`,
				);
			}
			labels = Object.fromEntries(this.labelNames.map((n) => [n, OVERFLOW_LABEL]));
			key = this.keyOf(labels);
		}
		let s = this.series.get(key);
		if (!s) {
			s = this.create({ ...labels });
			this.series.set(key, s);
		}
		return s;
	}

	protected keyOf(labels: Labels): string {
		return this.labelNames.map((n) => labels[n]).join("\u0000");
	}
}

interface Slot {
	minute: number;
	value: number;
}

/** Adds `value` to the slot of minute `ts`, dropping slots older than the window. */
function addToSlots<T extends { minute: number }>(slots: T[], ts: number, make: (minute: number) => T): T | undefined {
	const minute = minuteOf(ts);
	const newest = Math.max(minute, slots.at(-1)?.minute ?? minute);
	const oldest = newest - WINDOW_MS / SLOT_MS;
	while (slots.length > 0 && (slots[0] as T).minute < oldest) slots.shift();
	if (minute < oldest) return undefined;
	let i = slots.length;
	while (i > 0 && (slots[i - 1] as T).minute > minute) i--;
	if (i > 0 && (slots[i - 1] as T).minute === minute) return slots[i - 1];
	const slot = make(minute);
	slots.splice(i, 0, slot);
	return slot;
}

function minuteOf(ts: number): number {
	return Math.floor(ts / SLOT_MS);
}

function inWindow(minute: number, now: number): boolean {
	return minute >= Math.floor((now - WINDOW_MS) / SLOT_MS);
}

interface CounterState {
	labels: Labels;
	value: number;
	slots: Slot[];
	exemplar?: Exemplar;
}

export class Counter extends Metric<CounterState> {
	protected create(labels: Labels): CounterState {
		return { labels, value: 0, slots: [] };
	}

	inc(labels: Labels = {}, delta = 1, at: At = {}): void {
		if (!(delta >= 0)) throw new RangeError(`counter ${this.name} cannot go down (delta ${delta})`);
		const s = this.seriesFor(labels);
		const ts = at.ts ?? Date.now();
		s.value += delta;
		const slot = addToSlots(s.slots, ts, (minute) => ({ minute, value: 0 }));
		if (slot) slot.value += delta;
		if (at.cid) s.exemplar = { cid: at.cid, value: delta, ts };
	}

	snapshot(now: number): Extract<MetricSnapshot, { type: "counter" }> {
		const series = [...this.series.values()].map((s) => ({
			labels: s.labels,
			value: s.value,
			lastHour: s.slots.filter((x) => inWindow(x.minute, now)).reduce((sum, x) => sum + x.value, 0),
			...(s.exemplar ? { exemplar: s.exemplar } : {}),
		}));
		return { type: "counter", name: this.name, help: this.help, unit: this.unit, series };
	}
}

export class Gauge extends Metric<GaugeSeries> {
	protected create(labels: Labels): GaugeSeries {
		return { labels, value: 0 };
	}

	set(labels: Labels, value: number): void {
		this.seriesFor(labels).value = value;
	}

	add(labels: Labels, delta: number): void {
		this.seriesFor(labels).value += delta;
	}

	/** Every series to 0 (kept, so a reader sees "none now" rather than the last value). */
	zero(): void {
		for (const s of this.series.values()) s.value = 0;
	}

	snapshot(): Extract<MetricSnapshot, { type: "gauge" }> {
		const series = [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
		return { type: "gauge", name: this.name, help: this.help, unit: this.unit, series };
	}
}

export interface Distribution {
	/** Per bucket, not cumulative; one more than the bounds (the overflow bucket). */
	counts: number[];
	sum: number;
	count: number;
	/** The smallest and largest value observed (Infinity and -Infinity while empty): quantiles stay between them. */
	min: number;
	max: number;
}
interface Sample {
	ts: number;
	value: number;
}
interface HistogramState extends Distribution {
	labels: Labels;
	slots: (Distribution & { minute: number })[];
	/** The latest MAX_SAMPLES values, oldest first. */
	samples: Sample[];
	exemplar?: Exemplar;
}

export class Histogram extends Metric<HistogramState> {
	readonly bounds: number[];

	constructor(
		name: string,
		help: string,
		labelNames: readonly string[],
		unit: string,
		warn: Warn,
		bounds: readonly number[],
	) {
		super(name, help, labelNames, unit, warn);
		if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (bounds[i - 1] as number))))
			throw new MetricNameError(name, "bucket bounds must be finite and strictly increasing");
		this.bounds = [...bounds];
	}

	protected create(labels: Labels): HistogramState {
		return { labels, ...this.empty(), slots: [], samples: [] };
	}

	private empty(): Distribution {
		return {
			counts: new Array<number>(this.bounds.length + 1).fill(0),
			sum: 0,
			count: 0,
			min: Number.POSITIVE_INFINITY,
			max: Number.NEGATIVE_INFINITY,
		};
	}

	observe(labels: Labels, value: number, at: At = {}): void {
		if (!Number.isFinite(value)) return;
		const s = this.seriesFor(labels);
		const ts = at.ts ?? Date.now();
		const i = this.bucketOf(value);
		for (const d of [s, addToSlots(s.slots, ts, (minute) => ({ minute, ...this.empty() }))]) {
			if (!d) continue;
			d.counts[i] = (d.counts[i] ?? 0) + 1;
			d.sum += value;
			d.count++;
			d.min = Math.min(d.min, value);
			d.max = Math.max(d.max, value);
		}
		s.samples.push({ ts, value });
		if (s.samples.length > MAX_SAMPLES) s.samples.shift();
		if (at.cid) s.exemplar = { cid: at.cid, value, ts };
	}

	private bucketOf(value: number): number {
		const i = this.bounds.findIndex((b) => value <= b);
		return i < 0 ? this.bounds.length : i;
	}

	/** The q-quantile of everything observed (or of the last hour before `windowEnd`); null when empty. */
	quantile(labels: Labels, q: number, windowEnd?: number): number | null {
		const s = this.series.get(this.keyOf(labels));
		if (!s) return null;
		const d = windowEnd === undefined ? s : this.window(s, windowEnd);
		return quantileOf(this.bounds, d, q, this.samplesOf(s, windowEnd));
	}

	private window(s: HistogramState, now: number): Distribution {
		const d = this.empty();
		for (const slot of s.slots) {
			if (!inWindow(slot.minute, now)) continue;
			slot.counts.forEach((c, i) => {
				d.counts[i] = (d.counts[i] ?? 0) + c;
			});
			d.sum += slot.sum;
			d.count += slot.count;
			d.min = Math.min(d.min, slot.min);
			d.max = Math.max(d.max, slot.max);
		}
		return d;
	}

	/** The kept values (of the window ending at `windowEnd`, if given), sorted. */
	private samplesOf(s: HistogramState, windowEnd?: number): number[] {
		const kept = windowEnd === undefined ? s.samples : s.samples.filter((x) => inWindow(minuteOf(x.ts), windowEnd));
		return kept.map((x) => x.value).sort((a, b) => a - b);
	}

	snapshot(now: number): Extract<MetricSnapshot, { type: "histogram" }> {
		const quantiles = (d: Distribution, sorted: number[]): Quantiles => ({
			p50: quantileOf(this.bounds, d, 0.5, sorted),
			p95: quantileOf(this.bounds, d, 0.95, sorted),
			p99: quantileOf(this.bounds, d, 0.99, sorted),
		});
		const series = [...this.series.values()].map((s) => {
			let cumulative = 0;
			const buckets = s.counts.map((c, i) => {
				cumulative += c;
				return { le: i < this.bounds.length ? (this.bounds[i] as number) : ("+Inf" as const), count: cumulative };
			});
			const hour = this.window(s, now);
			return {
				labels: s.labels,
				count: s.count,
				sum: s.sum,
				buckets,
				...quantiles(s, this.samplesOf(s)),
				lastHour: { count: hour.count, sum: hour.sum, ...quantiles(hour, this.samplesOf(s, now)) },
				...(s.exemplar ? { exemplar: s.exemplar } : {}),
			};
		});
		return { type: "histogram", name: this.name, help: this.help, unit: this.unit, bounds: this.bounds, series };
	}
}

/**
 * The q-quantile of a distribution; null when empty. Exact when `sorted` holds every value of it (linear interpolation
 * between the two nearest ranks, as numpy's default); otherwise interpolated linearly inside the bucket where the q-th
 * value falls, that bucket narrowed to the smallest and largest value observed, so the estimate never leaves the
 * observed range (and a value past the last bound reads as at most the largest observed).
 */
export function quantileOf(
	bounds: readonly number[],
	d: Distribution,
	q: number,
	sorted: readonly number[] = [],
): number | null {
	if (d.count === 0) return null;
	const p = Math.min(1, Math.max(0, q));
	if (sorted.length === d.count) {
		const rank = p * (sorted.length - 1);
		const below = sorted[Math.floor(rank)] as number;
		const above = sorted[Math.ceil(rank)] as number;
		return below + (rank - Math.floor(rank)) * (above - below);
	}
	const target = p * d.count;
	let cumulative = 0;
	for (let i = 0; i <= bounds.length; i++) {
		const inBucket = d.counts[i] ?? 0;
		cumulative += inBucket;
		if (cumulative < target || inBucket === 0) continue;
		const lower = Math.max(d.min, i === 0 ? Number.NEGATIVE_INFINITY : (bounds[i - 1] as number));
		const upper = Math.min(d.max, i < bounds.length ? (bounds[i] as number) : Number.POSITIVE_INFINITY);
		return lower + ((target - (cumulative - inBucket)) / inBucket) * (upper - lower);
	}
	return d.max;
}

type AnyMetric = Counter | Gauge | Histogram;

export interface MetricOptions {
	labels?: readonly string[];
	/** Default: `1` (a count). */
	unit?: string;
}

/**
 * The metrics of one process (a pi session, a coordinator) or of one replay. Collectors run before every snapshot
 * to set the gauges that are read off current state rather than counted.
 */
export class MetricRegistry {
	private readonly metrics = new Map<string, AnyMetric>();
	private readonly collectors: ((now: number) => void)[] = [];

	/** Warnings (a label value refused) go where this process reports problems: stderr, or the pi session. */
	constructor(private readonly warn: Warn = (m) => report(`pi-crew: ${m}`)) {}

	counter(name: string, help: string, options: MetricOptions = {}): Counter {
		return this.add(new Counter(this.checkName(name), help, options.labels ?? [], options.unit ?? "1", this.warn));
	}

	gauge(name: string, help: string, options: MetricOptions = {}): Gauge {
		return this.add(new Gauge(this.checkName(name), help, options.labels ?? [], options.unit ?? "1", this.warn));
	}

	histogram(name: string, help: string, options: MetricOptions & { buckets?: readonly number[] } = {}): Histogram {
		const { labels = [], unit = "ms", buckets = MS_BUCKETS } = options;
		return this.add(new Histogram(this.checkName(name), help, labels, unit, this.warn, buckets));
	}

	onCollect(collector: (now: number) => void): void {
		this.collectors.push(collector);
	}

	snapshot(now = Date.now()): MetricSnapshot[] {
		for (const collect of this.collectors) collect(now);
		return [...this.metrics.values()].map((m) => m.snapshot(now));
	}

	private checkName(name: string): string {
		if (!METRIC_NAME.test(name)) throw new MetricNameError(name, `names must match ${METRIC_NAME.source}`);
		if (this.metrics.has(name)) throw new MetricNameError(name, "registered twice");
		return name;
	}

	private add<M extends AnyMetric>(metric: M): M {
		this.metrics.set(metric.name, metric);
		return metric;
	}
}
