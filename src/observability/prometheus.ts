/**
 * Prometheus exposition through prom-client, and the optional `/metrics` endpoint. Names follow Prometheus rules:
 * dots become underscores, milliseconds become base-unit seconds, counters end in `_total` (a trailing `_count` is
 * dropped first, since only histograms may have one). OpenMetrics is served when the scraper asks for it; only that
 * format carries exemplars, which hold the correlation id of the event behind a value.
 */
import { createServer, type Server } from "node:http";
import { isIP } from "node:net";
import type { MetricSnapshot } from "./metrics.js";

export function prometheusName(m: Pick<MetricSnapshot, "name" | "type">): { name: string; scale: number } {
	let name = m.name.replaceAll(".", "_");
	let scale = 1;
	if (name.endsWith("_ms")) {
		name = `${name.slice(0, -3)}_seconds`;
		scale = 1 / 1000;
	}
	if (m.type === "counter") {
		name = name.replace(/_count$/, "");
		if (!name.endsWith("_total")) name += "_total";
	}
	return { name, scale };
}

/**
 * OpenMetrics limits an exemplar's label set to 128 characters, and Prometheus rejects a whole scrape over one bad
 * exemplar: anything doubtful is left out.
 */
const MAX_EXEMPLAR_CHARS = 128;

interface Sample {
	value: number;
	labels: Record<string, string | number>;
	metricName?: string;
	exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number };
}

function exemplarOf(e: { cid: string; value: number; ts: number } | undefined, scale: number) {
	if (!e || `cid${e.cid}`.length > MAX_EXEMPLAR_CHARS || !Number.isFinite(e.ts) || !Number.isFinite(e.value))
		return undefined;
	return { labelSet: { cid: e.cid }, value: e.value * scale, timestamp: e.ts / 1000 };
}

function samples(m: MetricSnapshot, name: string, scale: number): Sample[] {
	if (m.type === "gauge") return m.series.map((s) => ({ value: s.value * scale, labels: s.labels }));
	if (m.type === "counter")
		return m.series.map((s) => {
			const exemplar = exemplarOf(s.exemplar, scale);
			return { value: s.value * scale, labels: s.labels, ...(exemplar ? { exemplar } : {}) };
		});
	return m.series.flatMap((s) => {
		// The exemplar goes on the bucket its value fell into.
		const exemplar = exemplarOf(s.exemplar, scale);
		const home = s.exemplar ? s.buckets.find((b) => b.le === "+Inf" || (s.exemplar?.value ?? 0) <= b.le) : undefined;
		return [
			...s.buckets.map((b) => ({
				metricName: `${name}_bucket`,
				value: b.count,
				labels: { ...s.labels, le: b.le === "+Inf" ? "+Inf" : b.le * scale },
				...(exemplar && b === home ? { exemplar } : {}),
			})),
			{ metricName: `${name}_sum`, value: s.sum * scale, labels: s.labels },
			{ metricName: `${name}_count`, value: s.count, labels: s.labels },
		];
	});
}

export interface Exposition {
	contentType: string;
	body: string;
}

/** The text exposition of `snapshots`; OpenMetrics (with exemplars) when `openMetrics`. */
export async function exposition(snapshots: MetricSnapshot[], openMetrics = false): Promise<Exposition> {
	const prom = (await import("prom-client")).default;
	const registry = new prom.Registry();
	if (openMetrics) registry.setContentType(prom.Registry.OPENMETRICS_CONTENT_TYPE as never);
	for (const m of snapshots) {
		const { name, scale } = prometheusName(m);
		const values = samples(m, name, scale);
		const help = `${m.help}${scale !== 1 ? ", in seconds" : ""}`;
		// prom-client formats any metric object that reports its values through get(): escaping, +Inf, `# EOF`. It
		// renames an OpenMetrics counter (dropping `_total` for the family), so get() reports the name it holds now.
		const entry = {
			name,
			help,
			type: m.type,
			aggregator: "sum",
			collect: () => undefined,
			get: async () => ({ name: entry.name, help, type: m.type, aggregator: "sum", values }),
		};
		registry.registerMetric(entry as never);
	}
	return { contentType: registry.contentType, body: await registry.metrics() };
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1"]);

export function isLoopback(host: string): boolean {
	if (LOOPBACK_NAMES.has(host)) return true;
	return isIP(host) === 4 && host.startsWith("127.");
}

/**
 * Whether a request's `Host` header names this server by a loopback name: `127.0.0.1:PORT`, `localhost:PORT`,
 * `[::1]:PORT` or the address it is bound to, at its own port.
 */
function loopbackHost(header: string | undefined, server: Server, bound: string): boolean {
	const address = server.address();
	if (!header || typeof address !== "object" || !address) return false;
	const names = new Set(["127.0.0.1", "localhost", "[::1]", bound.includes(":") ? `[${bound}]` : bound]);
	const colon = header.lastIndexOf(":");
	return names.has(header.slice(0, colon).toLowerCase()) && header.slice(colon + 1) === String(address.port);
}

export interface ServeOptions {
	port: number;
	host: string;
	allowNonLoopback?: boolean;
}

class EndpointRefused extends Error {
	constructor(message: string) {
		super(message);
		this.name = "UsageError";
	}
}

/**
 * Serves `GET /metrics` from `collect()` (called per scrape). Binds loopback unless a non-loopback host is allowed
 * in the config; resolves once listening, with the address actually bound (port 0 picks a free one).
 */
export async function serveMetrics(
	options: ServeOptions,
	collect: () => Promise<MetricSnapshot[]>,
): Promise<{ server: Server; url: string }> {
	if (!isLoopback(options.host) && !options.allowNonLoopback)
		throw new EndpointRefused(
			`refusing to serve metrics on ${options.host}, which is not a loopback address: set metrics.prometheus.allowNonLoopback: true in the config to expose them`,
		);
	const loopback = isLoopback(options.host);
	const server = createServer((req, res) => {
		// DNS rebinding: a web page whose name now resolves to 127.0.0.1 reaches a loopback server with its own name as
		// the Host. A loopback endpoint answers only requests addressed to a loopback name at its own port.
		if (loopback && !loopbackHost(req.headers.host, server, options.host)) {
			res.writeHead(421, { "content-type": "text/plain" }).end("pi-crew serves metrics to a loopback Host only\n");
			return;
		}
		const path = (req.url ?? "/").split("?")[0];
		if (req.method !== "GET" || path !== "/metrics") {
			res.writeHead(404, { "content-type": "text/plain" }).end("pi-crew serves GET /metrics only\n");
			return;
		}
		const openMetrics = /application\/openmetrics-text/.test(req.headers.accept ?? "");
		collect()
			.then((snapshots) => exposition(snapshots, openMetrics))
			.then(
				(out) => res.writeHead(200, { "content-type": out.contentType }).end(out.body),
				(err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`pi-crew: ${err.message}\n`),
			);
	});
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen(options.port, options.host, () => {
			server.off("error", reject);
			resolve();
		});
	});
	const address = server.address();
	const port = typeof address === "object" && address ? address.port : options.port;
	const host = options.host.includes(":") ? `[${options.host}]` : options.host;
	return { server, url: `http://${host}:${port}/metrics` };
}
