/**
 * pi-crew as a Pi extension: the `team` tool, slash commands, and a resume offer at session start. Registration is
 * cheap; the api (and everything behind it) is imported on first use. Both faces are thin: the api does the work.
 */
import { type ExtensionAPI, shareHostModules } from "../host.js";
import { recordHostPi } from "../workers/host-pi.js";
import { registerCommands } from "./commands.js";
import { lazy } from "./lazy.js";
import { plainLines, WAKE_TYPE } from "./plain-message.js";
import type { CrewSession } from "./session.js";
import { registerSubagentTools } from "./subagents.js";
import { registerTeamTool } from "./team-tool.js";
import type { Starter } from "./wake.js";

export default function piCrew(pi: ExtensionAPI): void {
	// Before anything loads lazily: our imports of pi's packages get the session's own (as pi's loader maps them).
	shareHostModules(process.argv[1]);
	// Workers run this session's own pi (same node, entry and version), and so do background runs started from it.
	recordHostPi();
	// The delegation policy matching the user's autonomy profile, read as a session starts, added to each prompt.
	let policy: Promise<string> | undefined;
	// The session's own work (session.ts) loads when pi starts a session: `pi --list-models` starts none.
	let session: Promise<CrewSession> | undefined;
	const runStarted = (runId: string, since?: string, background?: Starter) =>
		void session?.then((s) => s.runStarted(runId, since, background));
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
	pi.on("session_start", async (_event, ctx) => {
		// Awaited (pi awaits its handlers): the session's trust is recorded before any tool can start a worker, and
		// before the policy reads it.
		session = lazy.session().then((m) => new m.CrewSession(pi, ctx));
		await session;
		// Read while pi prepares the first turn (awaited only there); a failure is reported at that turn.
		policy = lazy.policy().then((p) => p.policyFor(ctx.cwd));
		policy.catch(() => undefined);
	});
	pi.on("session_shutdown", async () => {
		const ending = session;
		session = undefined;
		await (await ending)?.stop();
	});
	pi.on("before_agent_start", async (event, ctx) => {
		// Only when the model can use the team tool: a policy about a tool it lacks would mislead it.
		if (!pi.getActiveTools().includes("team")) return undefined;
		policy ??= lazy.policy().then((p) => p.policyFor(ctx.cwd));
		try {
			return { systemPrompt: `${event.systemPrompt}\n\n${await policy}` };
		} catch (err) {
			policy = undefined; // try again next turn (the config may be fixed by then)
			(await lazy.inertUi())
				.inertUi(ctx.ui)
				.notify(`pi-crew: no delegation policy this turn: ${(err as Error).message}`, "warning");
			return undefined;
		}
	});
}
