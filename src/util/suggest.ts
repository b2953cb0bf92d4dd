/** "Did you mean": the known name closest to a misspelt one, if it is close enough to be what was meant. */
import { closest, distance } from "fastest-levenshtein";

export function suggest(name: string, known: readonly string[]): string | undefined {
	if (known.length === 0) return undefined;
	const best = closest(name.toLowerCase(), [...known]);
	// A slip of two letters (a swap counts two), a third of a long name; in a name of three letters or less, one.
	const allowed = name.length <= 3 ? 1 : Math.max(2, Math.floor(name.length / 3));
	return distance(name.toLowerCase(), best.toLowerCase()) <= allowed ? best : undefined;
}

/** The known names closest to `name` (up to `max`, nearest first), each within the slip `suggest` allows. */
export function closestNames(name: string, known: readonly string[], max = 3): string[] {
	const allowed = name.length <= 3 ? 1 : Math.max(2, Math.floor(name.length / 3));
	const lower = name.toLowerCase();
	return known
		.map((k) => ({ k, d: distance(lower, k.toLowerCase()) }))
		.filter((x) => x.d <= allowed)
		.sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
		.slice(0, max)
		.map((x) => x.k);
}
