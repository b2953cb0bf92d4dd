/**
 * Picks a team for a goal from what its agents say about themselves (`triggers`, `useWhen`, `avoidWhen`) and from the
 * team's own name. Transparent scoring, so the reasons can be shown.
 *
 * Each entry is a phrase matched as a phrase (its words in order, next to each other, small words and word endings
 * aside): "failing test" matches "fix the failing tests", "test" alone does not outweigh it. The goal's words are read
 * by the longest phrase any agent names for them, so a team never scores on a word that a more specific phrase
 * explains. A longer phrase weighs more; an `avoidWhen` match subtracts; a tie goes to the lighter team.
 */
import type { Catalog } from "../resources/catalog.js";
import type { TeamDef } from "../resources/schema.js";

export interface Recommendation {
	team: string;
	score: number;
	reasons: string[];
}

/** The team for a goal, whether anything matched it (else it is the default team), and the whole ranking. */
export interface TeamChoice {
	team: string;
	matched: boolean;
	/** Why this team, in one line: its best reasons, or that nothing matched and the default was taken. */
	why: string;
	ranked: Recommendation[];
}

/** The team taken when no agent's phrases match a goal. */
export const DEFAULT_TEAM = "default";

const STOP = new Set(
	"a an the and or but for with that this these those from into onto to of in on at by as is are was be been has have had not it its it's my our your their some any all please so then".split(
		" ",
	),
);

/** The root of a word, so that "fixes", "fixing" and "fixed" read as "fix" (a root keeps 3+ letters). */
function stem(word: string): string {
	for (const ending of [/ing$/, /ed$/, /(?<=[sxz]|ch|sh)es$/, /(?<!s)s$/]) {
		const root = word.replace(ending, "");
		if (root !== word && root.length >= 3) return root;
	}
	return word;
}

/** The words of a text that carry meaning, in order, stemmed. */
function tokens(text: string): string[] {
	return (text.toLowerCase().match(/[a-z0-9]+(?:['-][a-z0-9]+)*/g) ?? []).filter((w) => !STOP.has(w)).map(stem);
}

type Kind = "trigger" | "use when" | "avoid when" | "team";
/** Points per word of a matched phrase, by where the phrase comes from. */
const WEIGHT: Record<Kind, number> = { trigger: 2, team: 2, "use when": 1, "avoid when": -2 };

interface Match {
	/** Who names the phrase: an agent, or `team` for a team's own name. */
	owner: string;
	kind: Kind;
	phrase: string;
	start: number;
	length: number;
}

/** Every place the phrase's words stand in the goal, in order and next to each other. */
function spans(goal: string[], phrase: string): { start: number; length: number }[] {
	const words = tokens(phrase);
	const out: { start: number; length: number }[] = [];
	if (words.length === 0) return out;
	for (let i = 0; i + words.length <= goal.length; i++)
		if (words.every((w, j) => goal[i + j] === w)) out.push({ start: i, length: words.length });
	return out;
}

/** Whether `m` covers fewer of the goal's words than `other`, all of them among `other`'s. */
function inside(m: Match, other: Match): boolean {
	return other.length > m.length && other.start <= m.start && m.start + m.length <= other.start + other.length;
}

/** Tasks a team's run plans: its workflow's steps, and an adaptive plan may add one per role. */
function weight(catalog: Catalog, team: TeamDef): number {
	const steps = catalog.workflows.get(team.defaultWorkflow)?.steps ?? [];
	return steps.length + (steps.some((s) => s.adaptive) ? team.roles.length : 0);
}

/** Every phrase of the runnable teams' agents (and the teams' names) found in the goal, by the longest reading. */
function matchesOf(catalog: Catalog, teams: TeamDef[], goal: string[]): Match[] {
	const found: Match[] = [];
	const add = (owner: string, kind: Kind, phrases: readonly string[] | undefined) => {
		for (const phrase of phrases ?? [])
			for (const at of spans(goal, phrase)) found.push({ owner, kind, phrase, ...at });
	};
	for (const agent of new Set(teams.flatMap((t) => t.roles.map((r) => r.agent)))) {
		const def = catalog.agents.get(agent);
		add(agent, "trigger", def?.triggers);
		add(agent, "use when", def?.useWhen);
		add(agent, "avoid when", def?.avoidWhen);
	}
	for (const team of teams) add(team.name, "team", [team.name.replace(/-/g, " ")]);
	// What an avoidWhen says always counts; a phrase another phrase reads more specifically does not.
	const positive = found.filter((m) => m.kind !== "avoid when");
	return found.filter((m) => m.kind === "avoid when" || !positive.some((o) => inside(m, o)));
}

function score(team: TeamDef, matches: Match[]): Recommendation {
	const agents = new Set(team.roles.map((r) => r.agent));
	const counted = new Set<string>();
	const reasons: string[] = [];
	let total = 0;
	for (const m of matches) {
		const mine = m.kind === "team" ? m.owner === team.name : agents.has(m.owner);
		// Two agents naming the same phrase at the same place say it once.
		const key = `${m.kind}\0${tokens(m.phrase).join(" ")}\0${m.start}`;
		if (!mine || counted.has(key)) continue;
		counted.add(key);
		total += WEIGHT[m.kind] * m.length;
		reasons.push(m.kind === "team" ? `team name "${m.phrase}"` : `${m.owner}: ${m.kind} "${m.phrase}"`);
	}
	return { team: team.name, score: total, reasons };
}

/** The runnable teams, best first: by score, then the lighter team (fewer tasks), then the name. */
function recommendTeams(catalog: Catalog, goal: string): Recommendation[] {
	// A team with a disabled agent cannot run: never recommended.
	const runnable = [...catalog.teams.values()].filter(
		(t) => !t.roles.some((r) => catalog.agents.get(r.agent)?.disabled),
	);
	const matches = matchesOf(catalog, runnable, tokens(goal));
	const size = new Map(runnable.map((t) => [t.name, weight(catalog, t)]));
	return runnable
		.map((team) => score(team, matches))
		.sort(
			(a, b) => b.score - a.score || (size.get(a.team) ?? 0) - (size.get(b.team) ?? 0) || a.team.localeCompare(b.team),
		);
}

/** The team to run for a goal; `undefined` when no team can run. */
export function chooseTeam(catalog: Catalog, goal: string): TeamChoice | undefined {
	const ranked = recommendTeams(catalog, goal);
	const [best] = ranked;
	if (!best) return undefined;
	if (best.score > 0) return { team: best.team, matched: true, why: best.reasons.slice(0, 2).join("; "), ranked };
	const team = ranked.find((r) => r.team === DEFAULT_TEAM)?.team;
	const why = "nothing in the goal matches a team's agents or names";
	if (team) return { team, matched: false, why: `${why}: the default team`, ranked };
	return { team: best.team, matched: false, why: `${why}; no team "${DEFAULT_TEAM}" can run: the lightest`, ranked };
}
