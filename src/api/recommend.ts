/**
 * Picks a team for a goal from what its agents say about themselves (`triggers`, `useWhen`, `avoidWhen`) and from the
 * team's own name and description. Transparent scoring, so the reasons can be shown.
 */
import type { Catalog } from "../resources/catalog.js";

export interface Recommendation {
	team: string;
	score: number;
	reasons: string[];
}

/** Lower-case words of 3+ letters, with a plural or -ing/-ed ending taken off ("fixes" and "fixing" match "fix"). */
function words(text: string): Set<string> {
	const out = new Set<string>();
	for (const w of text.toLowerCase().match(/[a-z][a-z0-9-]{2,}/g) ?? []) {
		out.add(w);
		out.add(w.replace(/(ing|ed|es|s)$/, ""));
	}
	return out;
}

const STOP = new Set([
	"the",
	"and",
	"for",
	"with",
	"that",
	"this",
	"from",
	"into",
	"are",
	"has",
	"have",
	"been",
	"not",
]);

function overlap(goal: Set<string>, text: string): string[] {
	return [...words(text)].filter((w) => goal.has(w) && !STOP.has(w));
}

export function recommendTeams(catalog: Catalog, goal: string): Recommendation[] {
	const g = words(goal);
	// A team with a disabled agent cannot run: never recommended.
	const runnable = [...catalog.teams.values()].filter(
		(t) => !t.roles.some((r) => catalog.agents.get(r.agent)?.disabled),
	);
	const ranked = runnable.map((team) => {
		const reasons: string[] = [];
		let score = 0;
		const seen = new Set<string>();
		for (const role of team.roles) {
			const agent = catalog.agents.get(role.agent);
			if (!agent || seen.has(agent.name)) continue;
			seen.add(agent.name);
			for (const t of agent.triggers ?? [])
				if (overlap(g, t).length > 0) {
					score += 2;
					reasons.push(`${agent.name}: trigger "${t}"`);
				}
			for (const u of agent.useWhen ?? [])
				if (overlap(g, u).length > 0) {
					score += 1;
					reasons.push(`${agent.name}: use when "${u}"`);
				}
			for (const a of agent.avoidWhen ?? [])
				if (overlap(g, a).length > 1) {
					score -= 2;
					reasons.push(`${agent.name}: avoid when "${a}"`);
				}
		}
		const described = overlap(g, `${team.name} ${team.description}`);
		if (described.length > 0) {
			score += described.length;
			reasons.push(`team describes: ${described.join(", ")}`);
		}
		return { team: team.name, score, reasons };
	});
	// Ties go to the smaller team (fewer workers, less spend), then to the name. Nothing matching: the default team.
	const size = (name: string) => catalog.teams.get(name)?.roles.length ?? 0;
	const fallback = (name: string) => (name === "default" ? 1 : 0);
	return ranked.sort(
		(a, b) =>
			b.score - a.score ||
			(a.score <= 0 ? fallback(b.team) - fallback(a.team) : 0) ||
			size(a.team) - size(b.team) ||
			a.team.localeCompare(b.team),
	);
}
