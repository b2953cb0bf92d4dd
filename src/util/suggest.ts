/** "Did you mean": the known names closest to a misspelt one, if they are close enough to be what was meant. */
import { distance } from "fastest-levenshtein";

/** The known name closest to `name`, if it is within the slip `closestNames` allows. */
export function suggest(name: string, known: readonly string[]): string | undefined {
	return closestNames(name, known, 1)[0];
}

/** The known names closest to `name` (up to `max`, nearest first, ties by name), each within a slip of the hand. */
export function closestNames(name: string, known: readonly string[], max = 3): string[] {
	// A slip of two letters (a swap counts two), a third of a long name; in a name of three letters or less, one.
	const allowed = name.length <= 3 ? 1 : Math.max(2, Math.floor(name.length / 3));
	const lower = name.toLowerCase();
	return known
		.map((k) => ({ k, d: distance(lower, k.toLowerCase()) }))
		.filter((x) => x.d <= allowed)
		.sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
		.slice(0, max)
		.map((x) => x.k);
}
