/** Tool arguments as models send them: what they mean to leave unset is dropped before pi validates the call. */

/**
 * Models send "", 0, false or null for fields they mean to leave unset. Dropped before schema validation, which would
 * otherwise turn null into the string "null".
 */
export function dropUnset<T>(args: unknown, meaningful: string[] = []): T {
	if (typeof args !== "object" || args === null) return args as T;
	// `false` and 0 are kept for the fields where they mean something (e.g. `wait: false`).
	const unset = (k: string, v: unknown) =>
		v === null || v === "" || ((v === 0 || v === false) && !meaningful.includes(k));
	const kept = Object.entries(args).filter(([k, v]) => !unset(k, v));
	return Object.fromEntries(kept.map(([k, v]) => [k, typeof v === "string" ? v.trim() : v])) as T;
}
