/**
 * OTLP/HTTP push through the OpenTelemetry JS exporter. A snapshot of pi-crew's registry is converted into OTLP
 * resource metrics (cumulative, as the registry counts); the exporter does the encoding, the HTTP and the timeout.
 * Loaded only when `metrics.otlp` is configured.
 */
import { Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { hostname } from "node:os";
import type { MetricData, ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { MetricSnapshot } from "./metrics.js";

export interface OtlpOptions {
	endpoint: string;
	headers?: Record<string, string>;
	timeoutMs: number;
}

export interface MetricExporter {
	readonly name: string;
	/** Rejects when the export failed; callers log that (once) and carry on. */
	push(snapshots: MetricSnapshot[]): Promise<void>;
	shutdown(): Promise<void>;
}

export async function createOtlpExporter(options: OtlpOptions): Promise<MetricExporter> {
	const [{ OTLPMetricExporter }, { resourceFromAttributes }, sdk, { ValueType }] = await Promise.all([
		import("@opentelemetry/exporter-metrics-otlp-http"),
		import("@opentelemetry/resources"),
		import("@opentelemetry/sdk-metrics"),
		import("@opentelemetry/api"),
	]);
	// Our own agents, destroyed on shutdown: a hung collector must not keep the process alive.
	const agents = [new Agent({ keepAlive: true }), new HttpsAgent({ keepAlive: true })];
	const exporter = new OTLPMetricExporter({
		url: options.endpoint,
		headers: options.headers,
		timeoutMillis: options.timeoutMs,
		httpAgentOptions: (protocol: string) => (protocol === "https:" ? agents[1] : agents[0]) as Agent,
	});
	const resource = resourceFromAttributes({
		"service.name": "pi-crew",
		"service.instance.id": `${hostname()}:${process.pid}`,
	});
	const start = hrTime(Date.now());
	const toOtlp = (snapshots: MetricSnapshot[]): ResourceMetrics => {
		const end = hrTime(Date.now());
		const point = <T>(attributes: Record<string, string>, value: T) => ({
			startTime: start,
			endTime: end,
			attributes,
			value,
		});
		const metrics = snapshots.map((m): MetricData => {
			const descriptor = { name: m.name, description: m.help, unit: m.unit, valueType: ValueType.DOUBLE };
			const aggregationTemporality = sdk.AggregationTemporality.CUMULATIVE;
			if (m.type === "counter")
				return {
					descriptor,
					aggregationTemporality,
					dataPointType: sdk.DataPointType.SUM,
					isMonotonic: true,
					dataPoints: m.series.map((s) => point(s.labels, s.value)),
				};
			if (m.type === "gauge")
				return {
					descriptor,
					aggregationTemporality,
					dataPointType: sdk.DataPointType.GAUGE,
					dataPoints: m.series.map((s) => point(s.labels, s.value)),
				};
			return {
				descriptor,
				aggregationTemporality,
				dataPointType: sdk.DataPointType.HISTOGRAM,
				dataPoints: m.series.map((s) =>
					point(s.labels, {
						buckets: {
							boundaries: m.bounds,
							counts: s.buckets.map((b, i) => b.count - (s.buckets[i - 1]?.count ?? 0)),
						},
						sum: s.sum,
						count: s.count,
						hasMinMax: false,
					}),
				),
			};
		});
		return { resource, scopeMetrics: [{ scope: { name: "pi-crew" }, metrics }] };
	};
	return {
		name: "otlp",
		push: (snapshots) =>
			new Promise((resolve, reject) =>
				exporter.export(toOtlp(snapshots), (result) =>
					result.code === 0 ? resolve() : reject(result.error ?? new Error("OTLP export failed")),
				),
			),
		shutdown: async () => {
			for (const agent of agents) agent.destroy();
			await exporter.shutdown().catch(() => undefined);
		},
	};
}

function hrTime(ms: number): [number, number] {
	return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}
