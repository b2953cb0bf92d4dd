/**
 * Metrics and diagnostics for the CLI and the extension. Every number here is replayed from the runs' event logs, so
 * it covers background runs and other processes' runs alike, and it is the same whoever asks.
 */

import { arch, platform } from "node:os";
import { join } from "node:path";
import type { CrewConfig } from "../config/config.js";
import type { MetricSnapshot } from "../observability/metrics.js";
import { globMatch } from "../util/glob.js";
import { redactStrings } from "../util/redact.js";
import { exportTarget, writeExport } from "../util/safe-fs.js";
import { effectiveConfig, findRepo, UsageError } from "./index.js";

export type { MetricSnapshot };

export interface MetricsRequest {
	cwd?: string;
	/** One run's metrics; default: every run of the repository. */
	runId?: string;
	/** Metric names to keep: `*` matches any run of characters (`crew.task.*`). */
	filter?: string;
}

export interface MetricsView {
	repo: string;
	runs: number;
	broken: { runId: string; error: string }[];
	metrics: MetricSnapshot[];
}

const MAX_FILTER_CHARS = 200;

function nameFilter(glob: string | undefined): (name: string) => boolean {
	if (!glob) return () => true;
	if (glob.length > MAX_FILTER_CHARS)
		throw new UsageError(`the filter is ${glob.length} characters; the limit is ${MAX_FILTER_CHARS}`);
	return (name) => globMatch(glob, name);
}

export async function metricsSnapshot(req: MetricsRequest = {}): Promise<MetricsView> {
	const repo = findRepo(req.cwd);
	const { replayRuns } = await import("../observability/replay.js");
	const replay = await replayRuns(repo, req.runId ? [req.runId] : undefined);
	const keep = nameFilter(req.filter);
	const metrics = replay.metrics.registry.snapshot().filter((m) => keep(m.name));
	if (req.filter && metrics.length === 0)
		throw new UsageError(`no metric matches "${req.filter}" (see docs/observability.md for the names)`);
	return { repo, runs: replay.runs.length, broken: replay.broken, metrics };
}

/** The Prometheus text exposition (or OpenMetrics, with exemplars) of `metricsSnapshot(req)`. */
export async function metricsExposition(req: MetricsRequest = {}): Promise<string> {
	const { exposition } = await import("../observability/prometheus.js");
	return (await exposition((await metricsSnapshot(req)).metrics)).body;
}

/** A scrape within this long of the previous one is answered from the same replay. */
const SCRAPE_REUSE_MS = 2000;

export interface MetricsEndpoint {
	url: string;
	close(): Promise<void>;
}

/**
 * Serves `/metrics` for the repository at `cwd` as configured (`metrics.prometheus`); `port` overrides the configured
 * port (0: any free one). The host comes from the config only, and is loopback unless it explicitly allows otherwise.
 * Each scrape replays the repository's logs, so the numbers include background runs and other sessions' runs.
 */
export async function serveMetrics(cwd: string | undefined, port?: number): Promise<MetricsEndpoint> {
	const configured = (await (await import("../config/config.js")).loadConfig()).metrics?.prometheus;
	const chosen = port ?? configured?.port;
	if (chosen === undefined)
		throw new UsageError("no metrics port: pass --port N, or set metrics.prometheus.port in the config");
	return listen(findRepo(cwd), { ...configured, port: chosen }, false);
}

/**
 * A pi session's endpoint: served only when the config asks for one (`metrics.prometheus`), for as long as the
 * session lasts, never keeping pi from exiting.
 */
export async function serveSessionMetrics(cwd: string): Promise<MetricsEndpoint | undefined> {
	const configured = (await (await import("../config/config.js")).loadConfig()).metrics?.prometheus;
	return configured ? listen(findRepo(cwd), configured, true) : undefined;
}

type PrometheusConfig = NonNullable<NonNullable<CrewConfig["metrics"]>["prometheus"]>;

async function listen(repo: string, config: PrometheusConfig, background: boolean): Promise<MetricsEndpoint> {
	const { DEFAULTS } = await import("../config/config.js");
	const { serveMetrics: serve } = await import("../observability/prometheus.js");
	const { replayRuns } = await import("../observability/replay.js");
	// Scrapes close together (several scrapers, a retry) share one replay of the logs.
	let latest: { at: number; snapshot: Promise<MetricSnapshot[]> } | undefined;
	const collect = () => {
		if (!latest || Date.now() - latest.at > SCRAPE_REUSE_MS) {
			const snapshot = replayRuns(repo).then((r) => r.metrics.registry.snapshot());
			latest = { at: Date.now(), snapshot };
			snapshot.catch(() => {
				latest = undefined;
			});
		}
		return latest.snapshot;
	};
	const { server, url } = await serve(
		{ port: config.port, host: config.host ?? DEFAULTS.metrics.host, allowNonLoopback: config.allowNonLoopback },
		collect,
	);
	if (background) server.unref();
	return {
		url,
		close: () =>
			new Promise((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			}),
	};
}

const RECENT_RUNS = 20;
const RECENT_ERRORS = 50;

export interface DiagnosticReport {
	schemaVersion: 2;
	exportedAt: string;
	environment: Record<string, unknown>;
	config: unknown;
	runs: unknown[];
	metrics: MetricSnapshot[];
	errors: { ts?: string; runId: string; taskId?: string; cid?: string; kind: string; message: string }[];
}

/**
 * Everything needed to look at a problem from outside: environment and doctor checks, the effective config,
 * the latest runs' states, their metrics and their recent errors. Secrets are redacted throughout.
 */
async function diagnostics(cwd: string | undefined): Promise<DiagnosticReport> {
	const repo = findRepo(cwd);
	const { doctor } = await import("./doctor.js");
	const { replayRuns } = await import("../observability/replay.js");
	const config = await effectiveConfig(repo).catch((err: Error) => ({ error: err.message }));
	// One pass over the logs gives the runs' states and their metrics.
	const replay = await replayRuns(repo);
	const { runs: views, broken } = replay;
	const recent = views.slice(-RECENT_RUNS);
	const errors: DiagnosticReport["errors"] = broken.map((b) => ({
		runId: b.runId,
		kind: "unreadable",
		message: b.error,
	}));
	for (const v of recent) {
		const runId = v.state.runId;
		for (const p of v.problems)
			errors.push({ runId, kind: "log", message: `${p.line ? `line ${p.line}: ` : ""}${p.message}` });
		for (const t of v.state.tasks.values())
			if (t.status === "failed" && t.reason)
				errors.push({
					ts: t.endedAt,
					runId,
					taskId: t.id,
					cid: `${runId}:${t.id}:${t.attempt}`,
					kind: "task-failed",
					message: t.reason,
				});
		if (v.status === "interrupted") errors.push({ runId, kind: "interrupted", message: "its coordinator is gone" });
		else if (v.state.status === "failed" && v.state.reason)
			errors.push({ ts: v.state.endedAt, runId, kind: "run-failed", message: v.state.reason });
	}
	const report: DiagnosticReport = {
		schemaVersion: 2,
		exportedAt: new Date().toISOString(),
		environment: {
			piCrew: await packageVersion(),
			node: process.version,
			platform: platform(),
			arch: arch(),
			checks: (await doctor(repo)).checks,
		},
		config,
		runs: recent.map((v) => ({
			runId: v.state.runId,
			team: v.state.team,
			workflow: v.state.workflow,
			status: v.status,
			reason: v.state.reason,
			createdAt: v.state.createdAt,
			endedAt: v.state.endedAt,
			resumes: v.state.resumes,
			usage: v.state.usage,
			tasks: [...v.state.tasks.values()].map((t) => ({
				id: t.id,
				role: t.role,
				status: t.status,
				attempts: t.attempts.length,
			})),
		})),
		metrics: replay.metrics.registry.snapshot(),
		errors: errors.slice(-RECENT_ERRORS),
	};
	return redactStrings(report);
}

/** This pi-crew's version, from its package.json. */
export async function packageVersion(): Promise<string> {
	const { readFile } = await import("node:fs/promises");
	const file = new URL("../../package.json", import.meta.url);
	return (JSON.parse(await readFile(file, "utf8")) as { version: string }).version;
}

/**
 * Writes the diagnostic report to `file` (relative to `cwd`); default `.crew/diagnostics-<time>.json` of the
 * repository. With `confine` (a model's tool call) the file must be inside the repository. Never through a symlink:
 * a repository could ship one where the report is to go.
 */
export async function exportDiagnostics(
	cwd: string | undefined,
	file?: string,
	options: { confine?: boolean } = {},
): Promise<{ path: string; report: DiagnosticReport }> {
	const repo = findRepo(cwd);
	const fallback = join(repo, ".crew", `diagnostics-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
	const path = await exportTarget(repo, cwd, file, fallback, { confine: options.confine, what: "report" });
	const report = await diagnostics(repo);
	await writeExport(repo, path, `${JSON.stringify(report, null, 2)}\n`);
	return { path, report };
}
