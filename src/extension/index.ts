/**
 * pi-crew as a Pi extension: the `team` tool, slash commands, and a resume offer at session start. Registration is
 * cheap; the api (and everything behind it) is imported on first use. Both faces are thin: the api does the work.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { crewHome } from "../config/home.js";
import { recordSessionTrust } from "../config/trust.js";
import { type ExtensionAPI, shareHostModules } from "../host.js";
import { holderLiveness, readLease } from "../store/lease.js";
import { setReporter, stopBackground } from "../util/background.js";
import { findRepo } from "../util/repo.js";
import { recordHostPi } from "../workers/host-pi.js";
import { registerCommands } from "./commands.js";
import { inertUi } from "./inert-ui.js";
import { lazy } from "./lazy.js";
import type { LiveRuns } from "./live.js";
import { plainLines, WAKE_TYPE } from "./plain-message.js";
import { registerSubagentTools } from "./subagents.js";
import { registerTeamTool } from "./team-tool.js";
import type { Starter } from "./wake.js";

/** Cheap, for start-up: whether a run of the repository of `cwd` has a lease whose holder is dead. */
async function hasDeadLease(cwd: string): Promise<boolean> {
	const runs = join(findRepo(cwd), ".crew", "runs");
	for (const id of await readdir(runs).catch(() => [] as string[])) {
		const holder = await readLease(join(runs, id, "lease.json")).catch(() => undefined);
		if (holder && holderLiveness(holder) === "dead") return true;
	}
	return false;
}

/** Cheap, for start-up: whether the repository of `cwd` has any runs. */
function hasRuns(cwd: string): boolean {
	return existsSync(join(findRepo(cwd), ".crew", "runs"));
}

export default function piCrew(pi: ExtensionAPI): void {
	// Before anything loads lazily: our imports of pi's packages get the session's own (as pi's loader maps them).
	shareHostModules(process.argv[1]);
	// Workers run this session's own pi (same node, entry and version), and so do background runs started from it.
	recordHostPi();
	// The delegation policy matching the user's autonomy profile, computed on the first prompt of a session.
	let policy: Promise<string> | undefined;
	// The live view (board, footer, notifications) loads once this repository has runs, or this session starts one.
	let live: Promise<LiveRuns | undefined> | undefined;
	let liveBoot: (() => Promise<LiveRuns | undefined>) | undefined;
	let waitForRuns: NodeJS.Timeout | undefined;
	const runStarted = (runId: string, since?: string, background?: Starter) =>
		void liveBoot?.().then((l) => l?.track(runId, since, background));
	pi.registerMessageRenderer(WAKE_TYPE, (message, options) => {
		const text = typeof message.content === "string" ? message.content : "";
		return { render: (width) => ["", ...plainLines(text, width, options.outputPad)], invalidate: () => undefined };
	});
	registerTeamTool(pi, { resourcesChanged: () => (policy = undefined), runStarted });
	registerSubagentTools(pi, { runStarted });
	registerCommands(pi, {
		autonomyChanged: () => {
			policy = undefined;
		},
		runStarted,
	});
	pi.on("session_start", (_event, ctx) => {
		if (!ctx.hasUI) return;
		const repo = findRepo(ctx.cwd);
		liveBoot = () =>
			(live ??= lazy
				.live()
				.then(async (m) => m.startLive(repo, inertUi(ctx.ui), ctx.mode === "tui", await wakerFor(pi, ctx.cwd)))
				.catch(() => undefined));
		if (hasRuns(ctx.cwd)) void liveBoot();
		else
			waitForRuns = setInterval(() => {
				if (!hasRuns(ctx.cwd)) return;
				clearInterval(waitForRuns);
				void liveBoot?.();
			}, 2000).unref();
	});
	pi.on("session_shutdown", async () => {
		clearInterval(waitForRuns);
		(await live)?.stop();
		live = undefined;
		liveBoot = undefined;
	});
	pi.on("session_start", (_event, ctx) => {
		policy = undefined;
		// Workers never trust more than this session does (pi's project trust).
		recordSessionTrust(ctx.isProjectTrusted());
	});
	pi.on("before_agent_start", async (event, ctx) => {
		// Only when the model can use the team tool: a policy about a tool it lacks would mislead it.
		if (!pi.getActiveTools().includes("team")) return undefined;
		policy ??= lazy.policy().then((p) => p.policyFor(ctx.cwd));
		try {
			return { systemPrompt: `${event.systemPrompt}\n\n${await policy}` };
		} catch (err) {
			policy = undefined; // try again next turn (the config may be fixed by then)
			inertUi(ctx.ui).notify(`pi-crew: no delegation policy this turn: ${(err as Error).message}`, "warning");
			return undefined;
		}
	});
	// Background problems (a failing metrics exporter) become notifications: stderr would garble pi's screen.
	let endpoint: Promise<{ close(): Promise<void> } | undefined> | undefined;
	pi.on("session_start", (_event, ctx) => {
		const ui = inertUi(ctx.ui);
		setReporter((line) => ui.notify(line, "warning"));
		endpoint = serveConfiguredMetrics(ctx.cwd, (line) => ui.notify(line, "warning"));
	});
	pi.on("session_shutdown", async () => {
		await (await endpoint)?.close();
		endpoint = undefined;
		await stopBackground();
		setReporter();
	});
	// Offer interrupted runs for resume. Not awaited: pi's start-up never waits for pi-crew.
	pi.on("session_start", (_event, ctx) => {
		// Cheap first: only a repository with a run whose lease names a dead coordinator loads the run store (a finished
		// run has released its lease), so most sessions read a directory listing and nothing more.
		if (!hasRuns(ctx.cwd)) return;
		void hasDeadLease(ctx.cwd)
			.then(async (dead) => (dead ? (await lazy.lifecycle()).findInterrupted(ctx.cwd) : []))
			.then((runs) => {
				for (const run of runs)
					inertUi(ctx.ui).notify(
						`pi-crew: run ${run.state.runId} (${run.state.team}) was interrupted; resume it with /team-resume ${run.state.runId} or: pi-crew resume ${run.state.runId}`,
						"warning",
					);
			})
			.catch(() => undefined);
	});
}

/**
 * Wake-ups of this session's agent by the background runs it started (wake.ts): pi messages after its current turn,
 * starting a turn when the user's autonomy profile of the moment lets the agent act (an unreadable config: it does not).
 */
async function wakerFor(pi: ExtensionAPI, cwd: string) {
	const { Waker } = await lazy.wake();
	return new Waker(
		(wake, triggerTurn) =>
			pi.sendMessage(
				{ customType: WAKE_TYPE, content: wake.text, display: true, details: wake.details },
				{ triggerTurn, deliverAs: "followUp" },
			),
		async () => (await (await lazy.api()).effectiveConfig(cwd).catch(() => undefined))?.autonomy ?? "manual",
	);
}

/**
 * The session's `/metrics` endpoint, when the config asks for one (`metrics.prometheus`). A plain text check first:
 * sessions whose config never mentions it load nothing. Not awaited by pi's start-up; a busy port is reported, not fatal.
 */
async function serveConfiguredMetrics(cwd: string, warn: (line: string) => void) {
	const text = await readFile(join(crewHome(), "config.yaml"), "utf8").catch(() => "");
	if (!text.includes("prometheus")) return undefined;
	try {
		return await (await lazy.metrics()).serveSessionMetrics(cwd);
	} catch (err) {
		warn(`pi-crew: no metrics endpoint: ${(err as Error).message}`);
		return undefined;
	}
}
