/** `pi-crew apply --branch NAME [--squash] [--push REMOTE]`: the run's work as a branch, its description's path on stdout. */
import { out } from "./main.js";
import { print, warn } from "./print.js";
import type { Values } from "./usage.js";

export async function handoverCommand(args: string[], v: Values): Promise<number> {
	const { handOver } = await import("../api/handover.js");
	const done = await handOver(v.cwd, args[0], { branch: v.branch, squash: v.squash, push: v.push });
	if (v.json) out(done);
	else {
		const what = `${done.commits} commit${done.commits === 1 ? "" : "s"} on ${done.base.slice(0, 12)}`;
		const pushed = done.pushed ? `, pushed to ${done.pushed}` : "";
		warn(
			`run ${done.runId}: branch ${done.branch} at ${done.commit.slice(0, 12)} (${what})${pushed}; the checkout is as it was\n`,
		);
		warn("its pull-request description:\n");
		print(`${done.prPath}\n`);
	}
	return 0;
}
