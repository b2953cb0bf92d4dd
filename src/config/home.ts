/** Where pi-crew's user files live, and the autonomy profiles: what light code paths need without the config schema. */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { SettingSource } from "../store/settings.js";

/** The worker runtimes a run (or the config) may name; their code is in src/workers. */
export const RUNTIMES = ["child", "inprocess", "auto", "scaffold"] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/** Autonomy profiles, strictest first: a repository's config may only pick one further to the left. */
export const AUTONOMY = ["manual", "suggested", "assisted", "aggressive"] as const;
export type Autonomy = (typeof AUTONOMY)[number];
export const DEFAULT_AUTONOMY: Autonomy = "assisted";

/**
 * The OS sandbox around child workers (workers/sandbox.ts), weakest first: a repository's config may only pick one
 * further to the right. `auto`: on where it can start, said once per run where it cannot. While it is not off, the
 * in-process runtime runs read-only tasks only (the others run as child workers).
 */
export const SANDBOX_MODES = ["off", "auto", "required"] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];
/** A sandboxed worker's network, loosest first: `none` shares no network with it (a local model only). */
export const SANDBOX_NETWORKS = ["open", "none"] as const;
export type SandboxNetwork = (typeof SANDBOX_NETWORKS)[number];

/**
 * pi's agent dir (settings, auth, models.json, trust): `PI_CODING_AGENT_DIR` (a leading `~` is your home), else
 * `~/.pi/agent`, as pi resolves it.
 */
export function piAgentDir(env: NodeJS.ProcessEnv = process.env): string {
	const dir = env.PI_CODING_AGENT_DIR;
	if (!dir) return join(homedir(), ".pi", "agent");
	if (dir === "~") return homedir();
	return dir.startsWith("~/") ? join(homedir(), dir.slice(2)) : dir;
}

/** The stricter of two profiles. */
export function stricterAutonomy(a: Autonomy, b: Autonomy): Autonomy {
	return AUTONOMY.indexOf(a) <= AUTONOMY.indexOf(b) ? a : b;
}

/** A repository's config, under its `.crew/`, in the order looked for: only the first found is read. */
/** pi's thinking levels (an agent's `thinking`, and the config's per-agent override of it). */
export const THINKING_LEVELS = ["off", "minimal", "low", "medium", "high", "xhigh"] as const;

export const PROJECT_CONFIG_FILES = ["config.yaml", "config.yml", "config.json"] as const;
/** A config (the user's or a repository's) is a few lines; a larger file (or a device, a FIFO) is never read. */
export const MAX_CONFIG_BYTES = 64 * 1024;

/** The tools an agent's `tools:` may name: pi's builtin tools (extensions an agent loads may add their own). */
export const PI_TOOLS = ["read", "bash", "edit", "write", "grep", "find", "ls"] as const;
/**
 * pi-crew's own worker tools (workers/crew-tools.ts), which an agent's `tools:` may name besides pi's: a question to a
 * person, a message to a task, a verdict on the work under review. They change no file.
 */
export const CREW_TOOLS = ["ask", "message", "verdict"] as const;
export type CrewToolName = (typeof CREW_TOOLS)[number];
/** Every tool a worker may be given by name (an agent's `tools`, the config's `tools.deny`): pi's and pi-crew's. */
export const WORKER_TOOLS = [...PI_TOOLS, ...CREW_TOOLS] as const;
/** What pi gives a session that names no tools. */
export const PI_DEFAULT_TOOLS = ["read", "bash", "edit", "write"] as const;

/** What pi-crew notifies a pi session of; each kind can be silenced in the config (`notifications`). */
export const NOTICE_KINDS = [
	"runFinished",
	"deadLetter",
	"heartbeat",
	"budget",
	"rateLimit",
	"alert",
	"message",
	"question",
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * pi-crew's home (your config and resources, the key that marks runs as yours, isolated runs' worktrees):
 * `PI_CREW_HOME`, else `crew/` in pi's agent dir, so that a `PI_CODING_AGENT_DIR` moves both, as it moves the trust
 * decisions pi-crew shares with pi.
 */
export function crewHome(env: NodeJS.ProcessEnv = process.env): string {
	return resolve(env.PI_CREW_HOME ? env.PI_CREW_HOME : join(piAgentDir(env), "crew"));
}

/** Where a setting came from, for people: `default`, `user <file>:<line>`, `project <file>:<line>`. */
export function formatSource(s: SettingSource): string {
	return s.file ? `${s.layer} ${s.file}${s.line ? `:${s.line}` : ""}` : s.layer;
}
