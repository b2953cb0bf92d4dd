/** Paths from input or from files a repository ships are confined: no escaping the base, no symlinks on the way. */
import { lstat, readFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";

/** Refuses a path below `base` that goes through a symlink (a hostile repository could point it anywhere). */
export async function assertNoSymlinks(base: string, path: string): Promise<void> {
	let current = resolve(base);
	for (const part of relative(current, resolve(path)).split(sep)) {
		if (!part) continue;
		current = join(current, part);
		const info = await lstat(current).catch(() => undefined);
		if (!info) return;
		if (info.isSymbolicLink()) throw new Error(`refusing to use ${current}: pi-crew paths may not be symlinks`);
	}
}

/** `rel` resolved under `base`, or an error if it leaves it. */
export function confined(base: string, rel: string): string {
	const path = resolve(base, rel);
	if (path !== resolve(base) && !path.startsWith(resolve(base) + sep))
		throw new Error(`refusing to use ${rel}: it points outside ${base}`);
	return path;
}

/** Reads a file named by a run's log (which a repository could have written): inside the run, no symlinks. */
export async function readConfined(base: string, rel: string): Promise<string> {
	const path = confined(base, rel);
	await assertNoSymlinks(base, path);
	return readFile(path, "utf8");
}
