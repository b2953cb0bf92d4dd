/** Where pi-crew's user files live, and the autonomy profiles: what light code paths need without the config schema. */
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** The worker runtimes a run (or the config) may name; their code is in src/workers. */
export const RUNTIMES = ["child", "inprocess", "auto", "scaffold"] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export const AUTONOMY = ["manual", "suggested", "assisted", "aggressive"] as const;
export type Autonomy = (typeof AUTONOMY)[number];
export const DEFAULT_AUTONOMY: Autonomy = "assisted";

/** pi's agent dir (settings, auth, models.json, trust): `PI_CODING_AGENT_DIR`, else `~/.pi/agent`, as pi resolves it. */
export function piAgentDir(env: NodeJS.ProcessEnv = process.env): string {
	return env.PI_CODING_AGENT_DIR ?? join(homedir(), ".pi", "agent");
}

/** `PI_CREW_HOME`, else `~/.pi/agent/crew`. */
export function crewHome(env: NodeJS.ProcessEnv = process.env): string {
	return env.PI_CREW_HOME ? resolve(env.PI_CREW_HOME) : join(homedir(), ".pi", "agent", "crew");
}
