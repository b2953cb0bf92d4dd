/** Helpers shared by the bench sections (bench/run.ts and the section files beside it). */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

export interface Timed {
	ms: number;
	code: number | null;
	stdout: string;
	peakTreeRssMiB: number;
}

/** Runs a command; samples the RSS of its whole process tree (via /proc) every 100 ms. */
export function timed(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Timed> {
	const start = performance.now();
	const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "ignore"] });
	let stdout = "";
	child.stdout.on("data", (d) => {
		stdout += d;
	});
	let peak = 0;
	const sampler = setInterval(async () => {
		if (child.pid) peak = Math.max(peak, await treeRssKiB(child.pid));
	}, 100);
	return new Promise((resolve) =>
		child.on("close", (code) => {
			clearInterval(sampler);
			resolve({ ms: performance.now() - start, code, stdout, peakTreeRssMiB: peak / 1024 });
		}),
	);
}

async function treeRssKiB(root: number): Promise<number> {
	const parent = new Map<number, number>();
	const rss = new Map<number, number>();
	for (const name of await readdir("/proc")) {
		const pid = Number(name);
		if (!Number.isInteger(pid)) continue;
		const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
		const ppid = /PPid:\s+(\d+)/.exec(status)?.[1];
		const kib = /VmRSS:\s+(\d+)/.exec(status)?.[1];
		if (ppid) parent.set(pid, Number(ppid));
		if (kib) rss.set(pid, Number(kib));
	}
	let total = 0;
	for (const [pid, kib] of rss) {
		for (let p: number | undefined = pid; p && p > 1; p = parent.get(p)) {
			if (p === root) {
				total += kib;
				break;
			}
		}
	}
	return total;
}

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

/** A team of one scripted agent (`solo`) whose workflow is `steps` (each one scripted turn). */

/** A team of one role (agent `solo`, one scripted turn) over a workflow of `steps`. */
export async function soloTeam(
	box: Awaited<ReturnType<typeof sandbox>>,
	team: string,
	steps: { id: string; dependsOn?: string[] }[],
	tools?: string,
): Promise<void> {
	await box.write(
		".crew/agents/solo.md",
		`---\nname: solo\ndescription: one scripted turn\n${tools ? `tools: ${tools}\n` : ""}---\nAnswer.\n`,
	);
	await box.write(
		`.crew/teams/${team}.team.md`,
		`---\nname: ${team}\ndescription: d\nroles:\n  - name: solo\n    agent: solo\ndefaultWorkflow: ${team}\n---\n`,
	);
	const yaml = steps.map(
		(s) =>
			`  - id: ${s.id}\n    role: solo\n${s.dependsOn?.length ? `    dependsOn: [${s.dependsOn.join(", ")}]\n` : ""}    task: ${s.id} of {goal}`,
	);
	await box.write(
		`.crew/workflows/${team}.workflow.md`,
		`---\nname: ${team}\ndescription: d\nsteps:\n${yaml.join("\n")}\n---\n`,
	);
}
