/** Shared test helpers: hermetic temp repos and homes, and the real `pi-crew` CLI as a child process. */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { crewHome } from "../../src/config/home.js";
import { ownerMark, runKeys } from "../../src/config/owner.js";
import { EventLogWriter, readEventLog } from "../../src/store/event-log.js";
import type { Attempt, CrewEvent, EventPayloads, EventType } from "../../src/store/events.js";
import { signLine } from "../../src/store/log-chain.js";
import { createRunDir } from "../../src/store/run-store.js";
import type { RunSettings } from "../../src/store/settings.js";
import { fixtures } from "./fixtures.js";

export { fixtures } from "./fixtures.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

// Hermetic by default: code under test that reads pi-crew's home (the config, the key that marks runs as made here)
// never touches the user's own.
if (!process.env.PI_CREW_HOME) {
	const home = mkdtempSync(join(tmpdir(), "pi-crew-home-"));
	process.env.PI_CREW_HOME = home;
	after(() => rmSync(home, { recursive: true, force: true }));
}
export const CLI = join(ROOT, "bin", "pi-crew.js");
export const SCRIPTED = "crew-scripted/scripted";

export interface Sandbox {
	dir: string;
	repo: string;
	env: NodeJS.ProcessEnv;
	write(rel: string, text: string): Promise<string>;
}

/**
 * Whether an external program the test drives (tmux, promtool, prometheus) is installed. Outside CI a missing one
 * skips the test and says so; under `CI=true` it fails the test with the reason, so a check can never silently vanish.
 */
export function hasTool(t: TestContext, command: string, versionArgs: string[] = ["--version"]): boolean {
	if (!spawnSync(command, versionArgs).error) return true;
	const why = `${command} is not installed (Debian package ${command === "tmux" ? "tmux" : "prometheus"}; .ci/run installs it)`;
	if (process.env.CI === "true") throw new Error(`${why}: under CI=true this check must run`);
	t.skip(why);
	return false;
}

/** A fresh directory under the system temp dir, removed after the test file. */
export async function tempDir(prefix: string): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), prefix));
	after(() => rm(dir, { recursive: true, force: true }));
	return dir;
}

/** A temp repository plus its own HOME, pi agent dir and crew home; removed after the test file. */
export async function sandbox(): Promise<Sandbox> {
	const dir = await tempDir("pi-crew-test-");
	const repo = join(dir, "repo");
	await mkdir(join(repo, ".git"), { recursive: true });
	// Hermetic: none of the caller's pi-crew variables (a depth, a pi binary, run markers) leak into the test.
	const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PI_CREW_")));
	const env: NodeJS.ProcessEnv = {
		...inherited,
		HOME: join(dir, "home"),
		PI_CODING_AGENT_DIR: join(dir, "pi-agent"),
		PI_CREW_HOME: join(dir, "crew-home"),
		PI_OFFLINE: "1",
		// pi keeps node's compile cache under the temp dir by default: in the checkout instead, so tests leave
		// nothing behind in the temp directory and pi still starts warm.
		NODE_COMPILE_CACHE: join(ROOT, "node_modules", ".cache", "node-compile-cache"),
	};
	const write = async (rel: string, text: string) => {
		const file = join(repo, rel);
		await mkdir(dirname(file), { recursive: true });
		await writeFile(file, text);
		return file;
	};
	return { dir, repo, env, write };
}

export interface CliResult {
	code: number | null;
	stdout: string;
	stderr: string;
}

export function startCli(args: string[], box: Sandbox): { child: ChildProcess; done: Promise<CliResult> } {
	const child = spawn(process.execPath, [CLI, ...args], {
		cwd: box.repo,
		env: box.env,
		stdio: ["ignore", "pipe", "pipe"],
	});
	let stdout = "";
	let stderr = "";
	child.stdout?.on("data", (d) => {
		stdout += d;
	});
	child.stderr?.on("data", (d) => {
		stderr += d;
	});
	const done = new Promise<CliResult>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
	return { child, done };
}

export function cli(args: string[], box: Sandbox): Promise<CliResult> {
	return startCli(args, box).done;
}

/** `run --json` parsed, with the exit code. */
export async function runJson(args: string[], box: Sandbox) {
	const res = await cli(["run", ...args, "--json"], box);
	let json: RunJson;
	try {
		json = JSON.parse(res.stdout) as RunJson;
	} catch {
		throw new Error(`run printed no JSON (exit ${res.code}):\n${res.stderr}`);
	}
	return { ...res, json };
}

export interface TaskJson {
	id: string;
	status: string;
	startedAt?: string;
	endedAt?: string;
	reason?: string;
	result?: string;
	dependsOn: string[];
	attempts: Attempt[];
	deadLetter?: string;
}
export interface RunJson {
	runId: string;
	status: string;
	runDir: string;
	reason?: string;
	resumes: number;
	coordinatorPid?: number;
	tasks: TaskJson[];
	/** The team's answer (a run or resume that ended; not a background start). */
	answer?: string;
}

export function task(run: RunJson, id: string): TaskJson {
	const t = run.tasks.find((x) => x.id === id);
	if (!t) throw new Error(`no task ${id} in ${JSON.stringify(run.tasks.map((x) => x.id))}`);
	return t;
}

export const ms = (iso?: string) => (iso ? Date.parse(iso) : Number.NaN);

/** A project team whose roles use builtin agents, and a workflow for it, written under `.crew/`. */
export async function projectTeam(
	box: Sandbox,
	name: string,
	steps: { id: string; role: string; dependsOn?: string[]; task?: string }[],
): Promise<void> {
	const roles = [...new Set(steps.map((s) => s.role))];
	await box.write(
		`.crew/teams/${name}.team.md`,
		`---\nname: ${name}\ndescription: test team\nroles:\n${roles.map((r) => `  - name: ${r}\n    agent: ${r}`).join("\n")}\ndefaultWorkflow: ${name}\n---\n`,
	);
	const yamlSteps = steps
		.map(
			(s) =>
				`  - id: ${s.id}\n    role: ${s.role}\n${s.dependsOn ? `    dependsOn: [${s.dependsOn.join(", ")}]\n` : ""}    task: ${JSON.stringify(s.task ?? `do ${s.id} for {goal}`)}`,
		)
		.join("\n");
	await box.write(
		`.crew/workflows/${name}.workflow.md`,
		`---\nname: ${name}\ndescription: test workflow\nsteps:\n${yamlSteps}\n---\n`,
	);
}

/** Live processes (not zombies) that `matches` by their command line or environment, read from /proc. */
export async function liveProcesses(matches: (p: { argv: string[]; environ: string[] }) => boolean): Promise<number[]> {
	const pids: number[] = [];
	for (const name of await readdir("/proc")) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const stat = await readFile(`/proc/${name}/stat`, "utf8");
			if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
			const argv = (await readFile(`/proc/${name}/cmdline`, "utf8")).split("\0");
			const environ = (await readFile(`/proc/${name}/environ`, "utf8").catch(() => "")).split("\0");
			if (matches({ argv, environ })) pids.push(Number(name));
		} catch {
			// gone meanwhile
		}
	}
	return pids;
}

/** Processes (other than zombies) whose environment carries this run id: workers of the run still alive. */
export function processesOfRun(runId: string): Promise<number[]> {
	return liveProcesses((p) => p.environ.includes(`PI_CREW_RUN_ID=${runId}`));
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/** A run's events as its log holds them (`runDir`: the run's directory, as `run --json` gives it). */
export async function runEvents(runDir: string): Promise<CrewEvent[]> {
	return (await readEventLog(join(runDir, "events.jsonl"))).events;
}

/** Builds events for hand-written logs: seq counts up from 1 per builder, one second apart. */
export function eventBuilder() {
	let seq = 0;
	return <K extends EventType>(type: K, data: EventPayloads[K], taskId?: string): CrewEvent => {
		seq++;
		const ts = new Date(1_700_000_000_000 + seq * 1000).toISOString();
		return { v: 1, seq, ts, runId: "r", type, data, taskId } as CrewEvent;
	};
}

/** The id of the sandbox's first run, once its log contains `needle` (e.g. '"task.tool"'). */
export function waitForRunLog(box: Sandbox, what: string, needle: string, count = 1): Promise<string> {
	const runs = join(box.repo, ".crew", "runs");
	return waitFor(what, async () => {
		const [id] = await readdir(runs).catch(() => [] as string[]);
		const log = id ? await readFile(join(runs, id, "events.jsonl"), "utf8").catch(() => "") : "";
		return log.split(needle).length - 1 >= count ? id : undefined;
	});
}

/** A real pi with pi-crew and the scripted model loaded (as built in dist/). */
export function spawnPi(args: string[], box: Sandbox, env: NodeJS.ProcessEnv = box.env) {
	const pi = join(ROOT, "node_modules", ".bin", "pi");
	const extensions = ["-e", join(ROOT, "dist/extension/index.js"), "-e", join(ROOT, "dist/scripted/extension.js")];
	return spawn(pi, [...args, "--no-session", "-ne", ...extensions, "--model", SCRIPTED], {
		cwd: box.repo,
		env,
		stdio: ["pipe", "pipe", "pipe"],
	});
}

/** The pid of a process that has exited (for leases whose holder is dead). */
export function deadPid(): number {
	return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout);
}

/**
 * A run as its coordinator leaves it when killed: started, not finished, its lease still naming it. `host` other
 * than this machine's makes the holder's liveness unknowable.
 */
export async function interruptedRun(
	repo: string,
	runId: string,
	opts: { team?: string; host?: string; crewHome?: string; settings?: Partial<RunSettings> } = {},
) {
	const paths = await createRunDir(repo, runId);
	// Made (and signed) by this user (the crew home's key), unless `crewHome` names another user's.
	const log = await EventLogWriter.create(paths.events, runId, { home: opts.crewHome ?? process.env.PI_CREW_HOME });
	const owner = await ownerMark(runId, opts.crewHome ?? process.env.PI_CREW_HOME);
	const settings = { ...fixtures.created.settings, ...opts.settings };
	await log.append("run.created", { ...fixtures.created, team: opts.team ?? fixtures.created.team, settings, owner });
	await log.append("run.started", { pid: 1 });
	await log.close();
	const holder = { pid: deadPid(), startTime: 1, host: opts.host ?? hostname(), token: "t", since: "" };
	await writeFile(paths.lease, JSON.stringify(holder));
	return paths;
}

/**
 * A run made by this user (or, with `crewHome`, another user's) whose every event is at `at`: ended with `status`, or
 * interrupted (its lease naming a dead coordinator). Holds a summary artifact.
 */
export async function pastRun(
	repo: string,
	runId: string,
	opts: { at?: string; status?: "succeeded" | "failed" | "cancelled" | "interrupted"; crewHome?: string } = {},
) {
	const paths = await createRunDir(repo, runId);
	const at = new Date(opts.at ?? "2020-01-01T00:00:00Z");
	const home = opts.crewHome ?? process.env.PI_CREW_HOME;
	const log = await EventLogWriter.create(paths.events, runId, { now: () => at, home });
	const owner = await ownerMark(runId, home);
	await log.append("run.created", { ...fixtures.created, owner });
	await log.append("run.started", { pid: 1 });
	const status = opts.status ?? "succeeded";
	if (status !== "interrupted") await log.append("run.finished", { status, summaryPath: "artifacts/summary.md" });
	await log.close();
	await writeFile(paths.summary, `# Run ${runId}\n`);
	if (status === "interrupted")
		await writeFile(
			paths.lease,
			JSON.stringify({ pid: deadPid(), startTime: 1, host: hostname(), token: "t", since: "" }),
		);
	return paths;
}

/** Every file and directory under `dir` (recursively, links not followed) with its type, size and mtime. */
export async function listing(dir: string): Promise<string[]> {
	const entries = (await readdir(dir, { recursive: true }).catch(() => [] as string[])) as string[];
	const out: string[] = [];
	for (const rel of entries.sort()) {
		const info = await lstat(join(dir, rel));
		out.push(`${rel} ${info.isDirectory() ? "d" : info.isSymbolicLink() ? "l" : "f"} ${info.size} ${info.mtimeMs}`);
	}
	return out;
}

/** pi run headless with `args` (stdin closed) to its end: its exit code and all it wrote. */
export async function pipedPi(args: string[], box: Sandbox, env: NodeJS.ProcessEnv = box.env) {
	const child = spawnPi(args, box, env);
	child.stdin.end();
	let stdout = "";
	let stderr = "";
	child.stdout.on("data", (d) => {
		stdout += d;
	});
	child.stderr.on("data", (d) => {
		stderr += d;
	});
	const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
	return { code, stdout, stderr };
}

/**
 * A scripted pi parent (with pi-crew loaded) answering one prompt headless: `-p` gives its final text, `--mode json`
 * the text of each of its tool results too.
 */
export async function askPi(
	box: Sandbox,
	scenario: string,
	prompt: string,
	mode: "text" | "json" = "text",
	piFlags: string[] = [],
) {
	const args = [...piFlags, ...(mode === "json" ? ["--mode", "json", prompt] : ["-p", prompt])];
	const { code, stdout, stderr } = await pipedPi(args, box, { ...box.env, PI_CREW_SCENARIO: scenario });
	const toolResults = stdout
		.split("\n")
		.filter((l) => l.includes('"tool_execution_end"'))
		.map((l) => (JSON.parse(l) as { result: { content: { text: string }[] } }).result.content[0]?.text ?? "");
	return { code, stdout, stderr, toolResults };
}

export interface UiRequest {
	method: string;
	message?: string;
	notifyType?: string;
	widgetLines?: string[];
	statusText?: string;
}

/**
 * Sends one prompt to pi in RPC mode and collects UI requests until `done` says so; `whileOpen` then runs before pi
 * is told to quit.
 */
export async function rpc(
	box: Sandbox,
	message: string,
	done: (r: UiRequest[]) => boolean,
	whileOpen?: () => Promise<void>,
) {
	const child = spawnPi(["--mode", "rpc"], box);
	const requests: UiRequest[] = [];
	let buffer = "";
	const finished = new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill();
			reject(new Error(`timed out; got: ${JSON.stringify(requests)}`));
		}, 60_000);
		child.stdout.on("data", (d) => {
			buffer += d;
			const lines = buffer.split("\n");
			buffer = lines.pop() ?? "";
			for (const line of lines) {
				let msg: (UiRequest & { type: string }) | undefined;
				try {
					msg = JSON.parse(line) as UiRequest & { type: string };
				} catch {
					continue; // not a protocol line
				}
				if (msg.type === "extension_ui_request") requests.push(msg);
			}
			if (done(requests)) {
				clearTimeout(timer);
				resolve();
			}
		});
	});
	child.stdin.write(`${JSON.stringify({ id: "1", type: "prompt", message })}\n`);
	try {
		await finished;
		await whileOpen?.();
	} finally {
		child.stdin.end();
	}
	await new Promise((resolve) => child.on("close", resolve));
	return requests;
}

export interface HandWrittenEvent {
	type: string;
	data: unknown;
	taskId?: string;
	/** ISO time. */
	ts: string;
	cid?: string;
}

/**
 * A run's log written line by line as given (seq from 1), past the log writer and its redaction, signed as the
 * coordinator signs (with the key of `crewHome`, default this process's crew home; `sign: false`: unsigned, as logs
 * were before pi-crew signed them). Returns the run's directory.
 */
export async function handWrittenLog(
	repo: string,
	runId: string,
	events: HandWrittenEvent[],
	opts: { crewHome?: string; sign?: boolean } = {},
): Promise<string> {
	const dir = join(repo, ".crew", "runs", runId);
	await mkdir(dir, { recursive: true });
	const keys = opts.sign === false ? undefined : await runKeys(runId, true, opts.crewHome ?? crewHome());
	let mac = "";
	const lines = events.map(({ type, data, taskId, ts, cid }, i) => {
		const json = JSON.stringify({ v: 1, seq: i + 1, ts, runId, taskId, cid, type, data });
		if (!keys) return json;
		const signed = signLine(keys.log, mac, json);
		mac = signed.mac;
		return signed.line;
	});
	await writeFile(join(dir, "events.jsonl"), `${lines.join("\n")}\n`);
	return dir;
}

/**
 * A real interactive pi (pi-crew and the scripted model loaded, or what `piArgs` loads) in a tmux session of its own,
 * on `model`, killed after the test.
 */
export async function tmuxPi(
	t: TestContext,
	box: Sandbox,
	size = { x: 140, y: 40 },
	model = SCRIPTED,
	piArgs = ["-ne", "-e", join(ROOT, "dist/extension/index.js"), "-e", join(ROOT, "dist/scripted/extension.js")],
) {
	const session = `pi-crew-test-${process.pid}-${++tmuxSessions}`;
	const pi = join(ROOT, "node_modules", ".bin", "pi");
	const env = Object.entries({
		HOME: box.env.HOME,
		PI_CODING_AGENT_DIR: box.env.PI_CODING_AGENT_DIR,
		PI_CREW_HOME: box.env.PI_CREW_HOME,
		PI_OFFLINE: "1",
		NODE_COMPILE_CACHE: box.env.NODE_COMPILE_CACHE,
		// tmux runs the command in the environment of its server, which whoever came first started: pi's node too.
		PATH: box.env.PATH,
	})
		.map(([k, v]) => `${k}=${v}`)
		.join(" ");
	const command = `cd ${box.repo} && env ${env} ${pi} --no-session ${piArgs.join(" ")} --model ${model}`;
	execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", String(size.x), "-y", String(size.y), command]);
	t.after(() => execFileSync("tmux", ["kill-session", "-t", session]));
	const screen = () => execFileSync("tmux", ["capture-pane", "-p", "-t", session]).toString();
	const id = model.slice(model.indexOf("/") + 1);
	await waitFor("pi's editor", async () => (screen().includes(id) ? true : undefined), 30_000);
	return {
		session,
		screen,
		keys: (...keys: string[]) => execFileSync("tmux", ["send-keys", "-t", session, ...keys]),
		resize: (x: number, y: number) =>
			execFileSync("tmux", ["resize-window", "-t", session, "-x", String(x), "-y", String(y)]),
		/** The screen once `check` finds what it waits for in it. */
		until: (what: string, check: (screen: string) => boolean, timeoutMs = 60_000) =>
			waitFor(
				what,
				async () => {
					const now = screen();
					return check(now) ? now : undefined;
				},
				timeoutMs,
			),
	};
}
let tmuxSessions = 0;
