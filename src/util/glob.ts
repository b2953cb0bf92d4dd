/**
 * `*` wildcards (any run of characters), every other character literal. Linear-time matching with one backtrack
 * point, never a regular expression: a pattern from a model or a user cannot make it backtrack exponentially.
 */
export function globMatch(glob: string, text: string): boolean {
	let g = 0;
	let t = 0;
	let star = -1;
	let resume = 0;
	while (t < text.length) {
		if (g < glob.length && glob[g] === "*") {
			star = g++;
			resume = t;
		} else if (g < glob.length && glob[g] === text[t]) {
			g++;
			t++;
		} else if (star >= 0) {
			g = star + 1;
			t = ++resume;
		} else return false;
	}
	while (g < glob.length && glob[g] === "*") g++;
	return g === glob.length;
}
