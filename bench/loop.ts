/**
 * A bounded loop's overhead per round: a 3-round loop (fix, then a check whose verify command fails twice) against the
 * same six task runs as a plain chain, on the scripted model; the difference, per round, is what looping costs.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const TEAM = "---\nname: bench\ndescription: d\nroles:\n  - name: solo\n    agent: solo\ndefaultWorkflow: bench\n---\n";
const AGENT = "---\nname: solo\ndescription: one scripted turn\ntools: ls\n---\nAnswer.\n";
const FAILS_TWICE =
	'c=$(( $(cat .count 2>/dev/null || echo 0) + 1 )); echo $c > .count; [ $c -ge 3 ] || { echo "fails ($c)"; exit 1; }';

const step = (id: string, dependsOn: string | undefined, extra: string[] = []) =>
	[
		`  - id: ${id}`,
		"    role: solo",
		...(dependsOn ? [`    dependsOn: [${dependsOn}]`] : []),
		`    task: ${id} of {goal}`,
		...extra,
	].join("\n");

/** The looping workflow, and the chain of the same six task runs (three fixes, three checks, each check verified). */
const WORKFLOWS = {
	loop: [
		step("fix", undefined),
		step("check", "fix", [`    verify: ${JSON.stringify(FAILS_TWICE)}`, "    loop: { to: fix, max: 3 }"]),
	],
	chain: [1, 2, 3].flatMap((r) => [
		step(`fix${r}`, r > 1 ? `check${r - 1}` : undefined),
		step(`check${r}`, `fix${r}`, ['    verify: "exit 0"']),
	]),
};

/** One run of `workflow` in a fresh repository: its wall time from the first task's start to the last one's end. */
async function runOnce(cli: string, workflow: string[], runtime: string): Promise<{ ms: number; tasks: number }> {
	const dir = await mkdtemp(join(tmpdir(), "pi-crew-bench-loop-"));
	const repo = join(dir, "repo");
	// The user's resources (pi-crew's home), not the repository's: their verify commands run without a trust decision.
	const write = async (rel: string, text: string) => {
		await mkdir(dirname(join(dir, rel)), { recursive: true });
		await writeFile(join(dir, rel), text);
	};
	await mkdir(join(repo, ".git"), { recursive: true });
	await write("crew/agents/solo.md", AGENT);
	await write("crew/teams/bench.team.md", TEAM);
	await write(
		"crew/workflows/bench.workflow.md",
		`---\nname: bench\ndescription: d\nsteps:\n${workflow.join("\n")}\n---\n`,
	);
	await write("repo/scenario.yaml", 'default:\n  - say: "done"\n');
	const home = { HOME: join(dir, "home"), PI_CODING_AGENT_DIR: join(dir, "agent"), PI_CREW_HOME: join(dir, "crew") };
	const env = { ...process.env, ...home, PI_OFFLINE: "1" };
	const args = [cli, "run", "bench", "go", "--model", "crew-scripted/scripted", "--scenario", "scenario.yaml"];
	const run = spawnSync(process.execPath, [...args, "--runtime", runtime, "--json"], {
		cwd: repo,
		env,
		encoding: "utf8",
	});
	await rm(dir, { recursive: true, force: true });
	const json = JSON.parse(run.stdout) as {
		status: string;
		tasks: { attempts: { startedAt: string; endedAt?: string }[] }[];
	};
	if (json.status !== "succeeded") throw new Error(`bench run ${json.status}: ${run.stderr}`);
	const attempts = json.tasks.flatMap((t) => t.attempts);
	const start = Math.min(...attempts.map((a) => Date.parse(a.startedAt)));
	const end = Math.max(...attempts.map((a) => Date.parse(a.endedAt ?? a.startedAt)));
	return { ms: end - start, tasks: attempts.length };
}

/** The section of the bench report: medians of `pairs` alternating runs of each workflow, per runtime. */
export async function loopOverhead(cli: string, pairs: number, median: (xs: number[]) => number): Promise<string[]> {
	const rows: string[] = [];
	for (const runtime of ["inprocess", "child"]) {
		const loop: number[] = [];
		const chain: number[] = [];
		let runs = 0;
		for (let i = 0; i < pairs; i++) {
			const l = await runOnce(cli, WORKFLOWS.loop, runtime);
			const c = await runOnce(cli, WORKFLOWS.chain, runtime);
			loop.push(l.ms);
			chain.push(c.ms);
			runs = l.tasks;
		}
		const perRound = (median(loop) - median(chain)) / 3;
		rows.push(
			`| ${runtime} | ${runs} | ${median(loop).toFixed(0)} ms | ${median(chain).toFixed(0)} ms | ${perRound.toFixed(0)} ms |`,
		);
	}
	return [
		`### A 3-round loop vs the same six task runs as a chain (scripted model, median of ${pairs} pairs)`,
		"",
		"| runtime | task attempts | loop | chain | overhead per round |",
		"|---|---|---|---|---|",
		...rows,
		"",
	];
}
