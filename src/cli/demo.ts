/**
 * `pi-crew demo` (`npm run demo`): copies a tiny repo with a failing test to a temp dir and runs the fast-fix team
 * there on real child pi workers driven by the offline scripted model. Ends by running the repo's tests itself.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { runTeam } from "../api/index.js";
import { progressLine, renderRun } from "../view/render.js";
import { warn } from "./print.js";

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "examples", "demo");

async function repoTests(cwd: string): Promise<{ ok: boolean; output: string }> {
	try {
		// Run them as a user would, even when the demo itself runs under `node --test`.
		const { NODE_TEST_CONTEXT: _, ...env } = process.env;
		const { stdout } = await promisify(execFile)(process.execPath, ["--test"], { cwd, env });
		return { ok: true, output: stdout };
	} catch (err) {
		return { ok: false, output: (err as { stdout?: string }).stdout ?? String(err) };
	}
}

const tally = (output: string) =>
	output
		.split("\n")
		.filter((l) => /^# (pass|fail)/.test(l))
		.join(", ");

export async function demo(): Promise<number> {
	const work = await mkdtemp(join(tmpdir(), "pi-crew-demo-"));
	const repo = join(work, "repo");
	await cp(join(EXAMPLE, "repo"), repo, { recursive: true });
	// Hermetic: the demo never reads or writes the user's pi settings, and makes no network calls.
	process.env.PI_CODING_AGENT_DIR ??= join(work, "pi-agent");
	process.env.PI_OFFLINE = "1";
	const before = await repoTests(repo);
	const log = (line: string) => warn(`${line}\n`);
	log(`pi-crew demo: a sample repo with a failing test, in ${repo}`);
	log(`tests before: ${tally(before.output)}\n`);
	log('running team fast-fix: "make the failing average test pass" (offline scripted model, real pi workers)\n');
	const view = await runTeam({
		cwd: repo,
		team: "fast-fix",
		goal: "Make the failing average test pass",
		model: "crew-scripted/scripted",
		scenario: join(EXAMPLE, "scenario.yaml"),
		onEvent: (event, state) => {
			const line = progressLine(event, state);
			if (line) log(line);
		},
	});
	const after = await repoTests(repo);
	log(`\n${renderRun(view)}`);
	log(`  summary:   ${join(view.paths.artifacts, "summary.md")}`);
	log(`\ntests after: ${tally(after.output)}  ${after.ok ? "(all passing)" : "(still failing)"}`);
	return view.status === "succeeded" && after.ok ? 0 : 1;
}
