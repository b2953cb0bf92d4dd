/** Paths from input or from files a repository ships are confined: no escaping the base, no symlinks on the way. */
import { lstat, readFile, realpath } from "node:fs/promises";
import { isAbsolute, join, parse, relative, resolve, sep } from "node:path";

/** `rel` resolved under `base`, or an error if it leaves it. */
export function confined(base: string, rel: string): string {
	const path = resolve(base, rel);
	if (!isInside(resolve(base), path)) throw new Error(`refusing to use ${rel}: it points outside ${base}`);
	return path;
}

/** Reads a file named by a run's log (which a repository could have written): inside the run, no symlinks. */
export async function readConfined(base: string, rel: string): Promise<string> {
	const path = confined(base, rel);
	await assertNoSymlinks(base, path);
	return readFile(path, "utf8");
}

/** Whether `path` is `base` or below it (both absolute, compared as given). */
function isInside(base: string, path: string): boolean {
	const rel = relative(base, path);
	return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Refuses a path that goes through a symlink a repository could have shipped: the path itself, or a directory on the
 * way that lies inside `base`, however the path spells it (real locations are compared). Symlinks outside `base`,
 * such as a system's alias for /tmp or a symlinked home, are the user's own.
 */
export async function assertNoSymlinks(base: string, path: string): Promise<void> {
	const realBase = await realpath(base).catch(() => resolve(base));
	const target = resolve(path);
	const { root } = parse(target);
	const parts = target.slice(root.length).split(sep).filter(Boolean);
	let current = root;
	for (const [i, part] of parts.entries()) {
		const next = join(current, part);
		const info = await lstat(next).catch(() => undefined);
		if (!info) return;
		const last = i === parts.length - 1 && target !== resolve(base);
		if (info.isSymbolicLink() && (last || isInside(realBase, await realpath(current))))
			throw new Error(`refusing to use ${next}: pi-crew paths may not be symlinks`);
		current = next;
	}
}
