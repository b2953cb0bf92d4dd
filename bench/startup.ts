/**
 * pi's start-up with pi-crew loaded against without it (issue 26 §2): `pi -p` (one scripted turn) and
 * `pi --list-models`, in a repository with 20 runs, runs paired and alternated, medians. Goal: <= 1.05 on both.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, sandbox } from "./support.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PI = join(ROOT, "node_modules", ".bin", "pi");
const EXTENSION = join(ROOT, "dist", "extension", "index.js");
const SCRIPTED_EXT = join(ROOT, "dist", "scripted", "extension.js");
const GOAL = 1.05;

/** Wall time of one process (nothing else sampled meanwhile: the machine's 2 cores are the measure). */
function wall(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
	const start = performance.now();
	const child = spawn(PI, args, { cwd, env, stdio: "ignore" });
	return new Promise((resolve, reject) =>
		child.on("close", (code) =>
			code === 0 ? resolve(performance.now() - start) : reject(new Error(`pi ${args.join(" ")}: exit ${code}`)),
		),
	);
}

export async function startup(pairs: number): Promise<string[]> {
	const box = await sandbox("startup");
	for (let i = 0; i < 20; i++) await box.write(`.crew/runs/run-${i}/events.jsonl`, "");
	const scenario = join(box.repo, "scenario.yaml");
	await writeFile(scenario, 'default:\n  - say: "hi"\n');
	const env = { ...box.env, PI_CREW_SCENARIO: scenario };
	const shapes = {
		"`pi -p` (one scripted turn)": {
			before: ["-p", "--no-session", "-ne", "-e", SCRIPTED_EXT, "--model", "crew-scripted/scripted"],
			after: ["hi"],
		},
		"`pi --list-models`": { before: ["--no-session", "-ne", "--list-models"], after: [] },
	};
	const rows: string[] = [];
	for (const [name, { before, after }] of Object.entries(shapes)) {
		const without: number[] = [];
		const withCrew: number[] = [];
		// One warm-up pair, then `pairs * 2` pairs, alternating which goes first.
		for (let i = 0; i <= pairs * 2; i++) {
			const bare = () => wall([...before, ...after], box.repo, env);
			const crew = () => wall([...before, "-e", EXTENSION, ...after], box.repo, env);
			const [a, b] = i % 2 ? [await crew(), await bare()].reverse() : [await bare(), await crew()];
			if (i === 0) continue;
			without.push(a ?? 0);
			withCrew.push(b ?? 0);
		}
		const ratio = median(withCrew) / median(without);
		rows.push(
			`| ${name} | ${median(without).toFixed(0)} ms | ${median(withCrew).toFixed(0)} ms | ${ratio.toFixed(3)} | <= ${GOAL} (${ratio <= GOAL ? "met" : "not met"}) |`,
		);
	}
	await box.cleanup();
	return [
		"### pi start-up with pi-crew loaded",
		"",
		`${pairs * 2} paired runs each, alternated, in a repository with 20 runs; medians.`,
		"",
		"| shape | pi without pi-crew | pi with pi-crew | ratio | goal |",
		"|---|---|---|---|---|",
		...rows,
		"",
	];
}
