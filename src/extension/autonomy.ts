/**
 * Autonomy profiles: whether the agent of a pi session may start team runs by itself, and the short delegation
 * policy added to its system prompt. The user's config holds the profile (`autonomy:`; `/team-autonomy` sets it).
 */
import type { Autonomy } from "../config/home.js";
import { lazy } from "./lazy.js";

/** Profiles under which the agent may start (or resume) runs itself; below them it can only plan and suggest. */
export function mayStartRuns(profile: Autonomy): boolean {
	return profile === "assisted" || profile === "aggressive";
}

const RULES: Record<Autonomy, string> = {
	manual:
		"The user starts team runs themselves. Do not start, resume or requeue runs with the team tool; use it only to inspect runs when asked.",
	suggested:
		"Do not start runs yourself. When a task is large enough for a team (several files, or explore + change + verify), suggest the command for the user to run: /team-run <team> <goal>. You may use the team tool's plan and recommend actions to prepare the suggestion.",
	assisted:
		"You may start a team run with the team tool when the user's request is clearly multi-step work (several files, or explore + change + verify). Do small, single-file changes yourself. Tell the user which team you started and why.",
	aggressive:
		"Prefer delegating: start a team run with the team tool for any task that needs exploring, changing and verifying code, and use background: true for long work so the conversation can go on.",
};

interface TeamInfo {
	name: string;
	description: string;
	source: { untrusted?: boolean };
}

/**
 * The policy for the user's own session. Text from an untrusted repository never enters it: its teams are listed by
 * name only (names are `[a-z0-9-]`), their descriptions left out.
 */
export function delegationPolicy(profile: Autonomy, teams: TeamInfo[]): string {
	const trusted = teams
		.filter((t) => !t.source.untrusted)
		.map((t) => `- ${t.name}: ${t.description.replace(/\s+/g, " ")}`);
	const untrusted = teams.filter((t) => t.source.untrusted).map((t) => t.name);
	const repo =
		untrusted.length > 0
			? `\nTeams defined by this repository (not trusted; check with the plan action first): ${untrusted.join(", ")}\n`
			: "";
	return `## pi-crew delegation (autonomy: ${profile})\n\n${RULES[profile]}\n\nTeams:\n${trusted.join("\n")}\n${repo}`;
}

/** Throws the refusal when the user's profile does not let the agent `what` (e.g. "start runs") by itself. */
export async function assertAllowed(cwd: string, what: string): Promise<void> {
	const api = await lazy.api();
	const profile = (await api.effectiveConfig(cwd)).autonomy;
	if (!mayStartRuns(profile)) throw new Error(refusal(profile, what));
}

/** `what`: the guarded act, e.g. "start runs", "delete resources". */
export function refusal(profile: Autonomy, what: string): string {
	return `The user's pi-crew autonomy profile is "${profile}": do not ${what} yourself. Suggest it to the user instead (e.g. /team-run <team> <goal>); the plan and recommend actions help prepare it.`;
}
