/** Helpers shared by the bench sections: medians and hermetic boxes. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

/** A temp repository with its own HOME, pi agent dir and crew home. */
export async function sandbox(name: string) {
	const dir = await mkdtemp(join(tmpdir(), `pi-crew-bench-${name}-`));
	const repo = join(dir, "repo");
	await mkdir(join(repo, ".git"), { recursive: true });
	const env = {
		...process.env,
		HOME: join(dir, "home"),
		PI_CODING_AGENT_DIR: join(dir, "agent"),
		PI_CREW_HOME: join(dir, "crew"),
		PI_OFFLINE: "1",
	};
	const write = async (rel: string, text: string) => {
		await mkdir(dirname(join(repo, rel)), { recursive: true });
		await writeFile(join(repo, rel), text);
	};
	return { dir, repo, env, write, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
