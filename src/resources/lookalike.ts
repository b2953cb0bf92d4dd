/**
 * Look-alike names: a repository's resource whose name reads like a builtin or user one (`irnplementation`,
 * `revievver`, `execut0r`) is a shadowing attempt. Names are `[a-z0-9-]` (util/names.ts), so letters of other scripts
 * (Cyrillic `а`, fullwidth `ｒ`) are refused by the schema before this: what is left is the ASCII half of Unicode TR39's
 * confusables idea, a skeleton both names are reduced to, plus a one-letter slip.
 */
import { distance } from "fastest-levenshtein";

/**
 * What each confusable reads as, longest first: digits and symbols that pass for letters, and letter pairs that pass
 * for one letter in most terminal fonts. Kept small on purpose: each entry must be a look-alike, not a typo.
 */
const CONFUSABLES: [RegExp, string][] = [
	[/rn/g, "m"],
	[/vv/g, "w"],
	[/cl/g, "d"],
	[/0/g, "o"],
	[/[1l|]/g, "i"],
	[/3/g, "e"],
	[/5/g, "s"],
	[/[^a-z0-9]/g, ""], // dashes, underscores: `exec-utor`
];

/** A name reduced to how it reads: NFKC-folded, lower-case, each confusable replaced by what it looks like. */
export function skeleton(name: string): string {
	let s = name.normalize("NFKC").toLowerCase();
	for (const [pattern, as] of CONFUSABLES) s = s.replace(pattern, as);
	return s;
}

/**
 * Names shorter than this (as skeletons) must match exactly to count as look-alikes: one letter apart, `qa` and `qb`
 * are different names, while `reviewer` and `reviewers` are one.
 */
const SLIP_MIN_LENGTH = 5;

/** Whether `name` reads as `protectedName`: the same skeleton, or (for longer names) one edit apart. */
export function looksLike(name: string, protectedName: string): boolean {
	const a = skeleton(name);
	const b = skeleton(protectedName);
	if (a === b) return true;
	return b.length >= SLIP_MIN_LENGTH && Math.abs(a.length - b.length) <= 1 && distance(a, b) <= 1;
}
