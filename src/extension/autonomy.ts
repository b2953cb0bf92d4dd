/**
 * Autonomy profiles: whether the agent of a pi session may start team runs by itself, and the short delegation
 * policy added to its system prompt. The user's config holds the profile (`autonomy:`; `/team-autonomy` sets it).
 */
import type { Autonomy } from "../config/config.js";

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

export function delegationPolicy(profile: Autonomy, teams: { name: string; description: string }[]): string {
	const list = teams.map((t) => `- ${t.name}: ${t.description}`).join("\n");
	return `## pi-crew delegation (autonomy: ${profile})\n\n${RULES[profile]}\n\nTeams:\n${list}\n`;
}

export function refusal(profile: Autonomy, action: string): string {
	return `The user's pi-crew autonomy profile is "${profile}": do not ${action === "run" ? "start" : action} runs yourself. Suggest it to the user instead (e.g. /team-run <team> <goal>); the plan and recommend actions help prepare it.`;
}
