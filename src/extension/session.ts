/**
 * pi-crew's part of a started pi session: the session's trust for workers, background problems as notices, the
 * `/metrics` endpoint, the live view and the resume offer. Loaded at `session_start`, so a pi that starts no session
 * (`pi --list-models`) loads none of it; the live view and the resume offer are for sessions with a UI only.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { crewHome } from "../config/home.js";
import { recordSessionTrust } from "../config/trust.js";
import type { ExtensionAPI, ExtensionContext } from "../host.js";
import { setReporter, stopBackground } from "../util/background.js";
import { findRepo } from "../util/repo.js";
import { inertUi } from "./inert-ui.js";
import { lazy } from "./lazy.js";
import type { LiveRuns } from "./live.js";
import { WAKE_TYPE } from "./plain-message.js";
import type { Starter } from "./wake.js";

/** Cheap: whether a run of the repository `repo` has a lease whose holder is dead. */
async function hasDeadLease(repo: string): Promise<boolean> {
	const runs = join(repo, ".crew", "runs");
	const ids = await readdir(runs).catch(() => [] as string[]);
	if (ids.length === 0) return false;
	const { holderLiveness, readLease } = await lazy.lease();
	for (const id of ids) {
		const holder = await readLease(join(runs, id, "lease.json")).catch(() => undefined);
		if (holder && holderLiveness(holder) === "dead") return true;
	}
	return false;
}

/** Cheap: whether the repository `repo` has any runs. */
function hasRuns(repo: string): boolean {
	return existsSync(join(repo, ".crew", "runs"));
}

/** One started session; `stop` at its `session_shutdown`. */
export class CrewSession {
	// The live view (board, footer, notifications) loads once this repository has runs, or this session starts one.
	private live: Promise<LiveRuns | undefined> | undefined;
	private liveBoot: (() => Promise<LiveRuns | undefined>) | undefined;
	private waitForRuns: NodeJS.Timeout | undefined;
	private endpoint: Promise<{ close(): Promise<void> } | undefined>;

	constructor(
		private readonly pi: ExtensionAPI,
		ctx: ExtensionContext,
	) {
		// Workers never trust more than this session does (pi's project trust).
		recordSessionTrust(ctx.isProjectTrusted());
		// Background problems (a failing metrics exporter) become notifications: stderr would garble pi's screen.
		const ui = inertUi(ctx.ui);
		setReporter((line) => ui.notify(line, "warning"));
		this.endpoint = serveConfiguredMetrics(ctx.cwd, (line) => ui.notify(line, "warning"));
		if (ctx.hasUI) this.watch(ctx);
	}

	/** The live view follows `runId` (started or resumed in this session). */
	runStarted(runId: string, since?: string, background?: Starter): void {
		void this.liveBoot?.().then((l) => l?.track(runId, since, background));
	}

	async stop(): Promise<void> {
		clearInterval(this.waitForRuns);
		this.liveBoot = undefined;
		(await this.live)?.stop();
		await (await this.endpoint)?.close();
		await stopBackground();
		setReporter();
	}

	/** The live view, and the offer to resume interrupted runs. Nothing is awaited: pi's start-up never waits. */
	private watch(ctx: ExtensionContext): void {
		const repo = findRepo(ctx.cwd);
		this.liveBoot = () =>
			(this.live ??= lazy
				.live()
				.then(async (m) => m.startLive(repo, inertUi(ctx.ui), ctx.mode === "tui", await wakerFor(this.pi, ctx.cwd)))
				.catch(() => undefined));
		if (!hasRuns(repo)) {
			this.waitForRuns = setInterval(() => {
				if (!hasRuns(repo)) return;
				clearInterval(this.waitForRuns);
				void this.liveBoot?.();
			}, 2000).unref();
			return;
		}
		void this.liveBoot();
		// Cheap first: only a repository with a run whose lease names a dead coordinator loads the run store (a finished
		// run has released its lease), so most sessions read a directory listing and nothing more.
		void hasDeadLease(repo)
			.then(async (dead) => (dead ? (await lazy.lifecycle()).findInterrupted(ctx.cwd) : []))
			.then((runs) => {
				for (const run of runs)
					inertUi(ctx.ui).notify(
						`pi-crew: run ${run.state.runId} (${run.state.team}) was interrupted; resume it with /team-resume ${run.state.runId} or: pi-crew resume ${run.state.runId}`,
						"warning",
					);
			})
			.catch(() => undefined);
	}
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
