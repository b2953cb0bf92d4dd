/**
 * Whether pi-crew trusts a repository: pi's own project-trust decision, never a second list that could disagree.
 * A repository is trusted when the user saved that decision for it or a parent directory (pi's `/trust`, stored in
 * `<pi agent dir>/trust.json`, the closest entry wins) or set `defaultProjectTrust: "always"` in pi's settings, and
 * the pi session a run comes from does not distrust it. An untrusted repository may add agents, teams and
 * workflows, but its text is fenced, it shadows nothing, and its workers load none of its settings or code.
 *
 * This is a light reader (the extension consults it when a session starts, before pi-crew loads anything heavy);
 * `pi-crew trust` writes through pi's own store, and a test holds this reader to pi's answers.
 */
import { lstatSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Problem } from "../util/yaml-source.js";
import { piAgentDir } from "./home.js";

/**
 * Set in a pi session's environment when that session does not trust its project: runs it starts (in it or in a
 * background coordinator) trust the repository no more than it does, whatever is saved.
 */
export const SESSION_UNTRUSTED_ENV = "PI_CREW_SESSION_UNTRUSTED";

/** Each of an untrusted repository's context files keeps at most this many characters in a worker's prompt. */
export const CONTEXT_FILE_CHARS = 8000;

export interface TrustDecision {
	trusted: boolean;
	/** Why, for `doctor`, `validate` and `config`. */
	why: string;
}

function canonical(path: string): string {
	try {
		return realpathSync(path);
	} catch {
		return resolve(path);
	}
}

function readJson(file: string): unknown {
	try {
		return JSON.parse(readFileSync(file, "utf8").replace(/^\uFEFF/, ""));
	} catch {
		return undefined; // none, or unreadable: pi reports its own files; nothing is trusted from them
	}
}

/** The closest saved decision for `repo` or a parent, as pi looks it up. */
function savedDecision(file: string, repo: string): { path: string; decision: boolean } | undefined {
	const data = readJson(file);
	if (!data || typeof data !== "object" || Array.isArray(data)) return undefined;
	const entries = data as Record<string, unknown>;
	for (let dir = canonical(repo); ; dir = dirname(dir)) {
		const decision = entries[dir];
		if (decision === true || decision === false) return { path: dir, decision };
		if (dirname(dir) === dir) return undefined;
	}
}

export function projectTrust(repo: string, env: NodeJS.ProcessEnv = process.env): TrustDecision {
	if (env[SESSION_UNTRUSTED_ENV] === "1")
		return { trusted: false, why: "the pi session this run comes from does not trust this project" };
	const agentDir = piAgentDir(env);
	const store = join(agentDir, "trust.json");
	const saved = savedDecision(store, repo);
	if (saved)
		return {
			trusted: saved.decision,
			why: `${saved.decision ? "trusted" : "not trusted"} by your saved decision for ${saved.path} (${store})`,
		};
	const settings = readJson(join(agentDir, "settings.json")) as { defaultProjectTrust?: unknown } | undefined;
	if (settings?.defaultProjectTrust === "always")
		return { trusted: true, why: `trusted: defaultProjectTrust is "always" in ${join(agentDir, "settings.json")}` };
	return {
		trusted: false,
		why: "not trusted: no saved decision (trust it with /trust in pi, or: pi-crew trust)",
	};
}

/** Records the session's decision about its project (see SESSION_UNTRUSTED_ENV). */
export function recordSessionTrust(trusted: boolean, env: NodeJS.ProcessEnv = process.env): void {
	if (trusted) delete env[SESSION_UNTRUSTED_ENV];
	else env[SESSION_UNTRUSTED_ENV] = "1";
}

/** pi's own trust flags for a worker: exactly the run's decision, whatever the worker's pi would decide alone. */
export function trustArgs(trusted: boolean): string[] {
	return [trusted ? "--approve" : "--no-approve"];
}

/** pi's resources that load only in a trusted project (its docs/security.md), relative to the repository. */
const PROTECTED = [
	".pi/settings.json",
	".pi/mcp.json",
	".pi/extensions",
	".pi/skills",
	".pi/prompts",
	".pi/themes",
	".pi/SYSTEM.md",
	".pi/APPEND_SYSTEM.md",
	".agents/skills",
];
/** Context files pi loads from a directory, the first found (its own order). */
const CONTEXT_FILES = ["AGENTS.override.md", "AGENTS.md", "AGENTS.MD", "CLAUDE.md", "CLAUDE.MD"];

/** What a run here leaves out or fences because the repository is not trusted: for `validate` and `doctor`. */
export function untrustedEffects(repo: string, decision: TrustDecision): Problem[] {
	if (decision.trusted) return [];
	const exists = (rel: string) => {
		try {
			lstatSync(join(repo, rel));
			return true;
		} catch {
			return false;
		}
	};
	const hint = "if you trust this repository: /trust in pi, or: pi-crew trust";
	const problems: Problem[] = PROTECTED.filter(exists).map((rel) => ({
		severity: "warning",
		file: join(repo, rel),
		message: `ignored: ${decision.why}; no worker loads it (settings, code and prompts of an untrusted repository never run)`,
		hint,
	}));
	if (exists(".claude/agents"))
		problems.push({
			severity: "warning",
			file: join(repo, ".claude/agents"),
			message: `ignored: ${decision.why}; its Claude Code agents are not read`,
			hint,
		});
	const context = CONTEXT_FILES.find(exists);
	if (context)
		problems.push({
			severity: "warning",
			file: join(repo, context),
			message: `fenced: ${decision.why}; workers read it only as labelled reference text after their role prompt, cut to ${CONTEXT_FILE_CHARS} characters`,
			hint,
		});
	return problems;
}
