import { finished } from "node:stream/promises";
import { LineRedactor } from "../util/redact.js";
import { openAppend } from "../util/safe-fs.js";
import { JsonlFramer } from "./pi-stream.js";
import { reapTask } from "./reaper.js";
import type { Program } from "./runtime.js";
import { killGroup, spawnProgram, withScratch } from "./spawn.js";

const TAIL_LINES = 20;
const TAIL_CHARS = 1500;

export interface VerifyRun {
	command: string;
	cwd: string;
	env: NodeJS.ProcessEnv;
	timeoutMs: number;
	/** The output file, created under `dir` (never through a link). */
	dir: string;
	outputFile: string;
	signal: AbortSignal;
	/** The run and task whose marker environment its processes carry: all of them are gone when this returns. */
	runId: string;
	taskId: string;
	/** Wraps the command in the task's sandbox, writing only `cwd` and `tmp` (WorkerRuntime.confine). */
	confine: (program: Program, tmp: string) => Promise<Program>;
}

export interface VerifyResult {
	/** The exit code; null when it did not exit on its own (timed out, cancelled, killed by a signal, not started). */
	code: number | null;
	/** Why it did not exit on its own. */
	stopped?: "timed out" | "cancelled" | string;
	/** The last lines of its output, redacted. */
	tail: string;
}

export async function runVerify(run: VerifyRun): Promise<VerifyResult> {
	return withScratch("pi-crew-verify-", async (tmp) => {
		const program = await run.confine({ command: "/bin/sh", args: ["-c", run.command] }, tmp);
		return runProgram(run, program, { ...run.env, TMPDIR: tmp });
	});
}

async function runProgram(run: VerifyRun, program: Program, env: NodeJS.ProcessEnv): Promise<VerifyResult> {
	const out = (await openAppend(run.dir, run.outputFile)).createWriteStream();
	const tail: string[] = [];
	const onLine = (clean: string) => {
		out.write(`${clean}\n`);
		tail.push(clean);
		if (tail.length > TAIL_LINES) tail.shift();
	};
	// One framer and redactor per stream: a line, or a key, is never made of pieces of both.
	const stream = () => {
		const redactor = new LineRedactor(onLine);
		return new JsonlFramer((line) => redactor.push(line));
	};
	const framers = [stream(), stream()] as const;
	const child = spawnProgram(program, { cwd: run.cwd, env });
	let stopped: string | undefined;
	const stop = (why: string) => {
		stopped ??= why;
		if (child.pid) killGroup(child.pid);
	};
	const timer = setTimeout(() => stop(`timed out after ${Math.round(run.timeoutMs / 1000)}s`), run.timeoutMs);
	const onAbort = () => stop("cancelled");
	run.signal.addEventListener("abort", onAbort, { once: true });
	if (run.signal.aborted) onAbort();
	out.on("error", (err) => stop(`cannot write its output: ${err.message}`));
	child.stdout.on("data", (chunk: Buffer) => framers[0].push(chunk));
	child.stderr.on("data", (chunk: Buffer) => framers[1].push(chunk));
	const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
		child.once("error", (err) => {
			stopped ??= `cannot start /bin/sh: ${err.message}`;
		});
		child.once("close", (c, s) => resolve([c, s]));
	});
	clearTimeout(timer);
	run.signal.removeEventListener("abort", onAbort);
	for (const framer of framers) framer.end();
	// Nothing it started may outlive it: background jobs included.
	if (child.pid) killGroup(child.pid, 0);
	await reapTask(run.runId, run.taskId);
	out.end();
	await finished(out).catch(() => undefined);
	const text = tail.join("\n");
	const cut = text.length > TAIL_CHARS ? `...${text.slice(-TAIL_CHARS)}` : text;
	if (stopped) return { code: null, stopped, tail: cut };
	if (sig) return { code: null, stopped: `killed by ${sig}`, tail: cut };
	return { code, tail: cut };
}
