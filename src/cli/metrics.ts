/** `pi-crew metrics`: the repository's (or one run's) metrics as text, JSON or Prometheus exposition, or served. */
import * as api from "../api/index.js";
import { renderMetrics } from "../view/render.js";
import { out, positiveInt } from "./main.js";
import { print, warn } from "./print.js";
import type { Values } from "./usage.js";

export async function metricsCommand(args: string[], v: Values): Promise<number> {
	const metrics = await import("../api/metrics.js");
	if (v.serve) {
		if (args.length > 0) throw new api.UsageError("--serve serves every run of the repository: drop the run id");
		const port = v.port === "0" ? 0 : positiveInt("port", v.port, 65535);
		const endpoint = await metrics.serveMetrics(v.cwd, port);
		if (v.json) out({ url: endpoint.url });
		else warn(`serving ${endpoint.url} (Ctrl-C to stop)\n`);
		await new Promise<void>((resolve) => {
			process.once("SIGINT", resolve);
			process.once("SIGTERM", resolve);
		});
		await endpoint.close();
		return 0;
	}
	const req = { cwd: v.cwd, runId: args[0], filter: v.filter };
	if (v.prometheus) {
		print(await metrics.metricsExposition(req));
		return 0;
	}
	const view = await metrics.metricsSnapshot(req);
	if (v.json) out(view);
	else {
		print(`${renderMetrics(view.metrics)}\n`);
		warn(`${view.runs} run(s) replayed from ${view.repo}/.crew/runs\n`);
	}
	for (const b of view.broken) warn(`${b.runId}: cannot read this run: ${b.error}\n`);
	return 0;
}
