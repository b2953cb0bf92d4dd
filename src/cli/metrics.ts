/** `pi-crew metrics`: the repository's (or one run's) metrics as text, JSON or Prometheus exposition, or served. */
import * as api from "../api/index.js";
import type { MetricSnapshot } from "../api/metrics.js";
import { out, positiveInt, type Values } from "./main.js";

function labels(l: Record<string, string>): string {
	const parts = Object.entries(l).map(([k, v]) => `${k}=${v}`);
	return parts.length ? `{${parts.join(",")}}` : "";
}

function amount(value: number | null, unit: string): string {
	if (value === null) return "-";
	if (unit === "ms") return value >= 1000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}ms`;
	return String(Math.round(value * 100) / 100);
}

export function renderMetrics(metrics: MetricSnapshot[]): string {
	const lines: string[] = [];
	for (const m of metrics) {
		if (m.series.length === 0) continue;
		for (const s of m.series) {
			const head = `${m.name}${labels(s.labels)}`.padEnd(52);
			if (m.type === "histogram" && "count" in s)
				lines.push(
					`${head} n=${s.count}  p50 ${amount(s.p50, m.unit)}  p95 ${amount(s.p95, m.unit)}  p99 ${amount(s.p99, m.unit)}`,
				);
			else if ("value" in s)
				lines.push(`${head} ${amount(s.value, m.unit)}${"lastHour" in s ? `  (last hour ${s.lastHour})` : ""}`);
		}
	}
	return lines.length ? lines.join("\n") : "no metrics yet: no run has recorded any";
}

export async function metricsCommand(args: string[], v: Values): Promise<number> {
	const metrics = await import("../api/metrics.js");
	if (v.serve) {
		if (args.length > 0) throw new api.UsageError("--serve serves every run of the repository: drop the run id");
		const port = v.port === "0" ? 0 : positiveInt("port", v.port, 65535);
		const endpoint = await metrics.serveMetrics(v.cwd, port);
		if (v.json) out({ url: endpoint.url });
		else process.stderr.write(`serving ${endpoint.url} (Ctrl-C to stop)\n`);
		await new Promise<void>((resolve) => {
			process.once("SIGINT", resolve);
			process.once("SIGTERM", resolve);
		});
		await endpoint.close();
		return 0;
	}
	const req = { cwd: v.cwd, runId: args[0], filter: v.filter };
	if (v.prometheus) {
		process.stdout.write(await metrics.metricsExposition(req));
		return 0;
	}
	const view = await metrics.metricsSnapshot(req);
	if (v.json) out(view);
	else {
		process.stdout.write(`${renderMetrics(view.metrics)}\n`);
		process.stderr.write(`${view.runs} run(s) replayed from ${view.repo}/.crew/runs\n`);
	}
	for (const b of view.broken) process.stderr.write(`${b.runId}: cannot read this run: ${b.error}\n`);
	return 0;
}
