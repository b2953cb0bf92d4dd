/** Helpers for start-up tests: which modules a real process loaded (counted, never timed). */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, tempDir } from "./index.js";

// A module hook that appends the URL of every module the process loads to $PI_CREW_TEST_TRACE.
const TRACER = `import { registerHooks } from "node:module";
import { appendFileSync } from "node:fs";
const out = process.env.PI_CREW_TEST_TRACE;
registerHooks({ load(url, context, next) { appendFileSync(out, url + "\\n"); return next(url, context); } });
`;

export interface Traced {
	code: number | null;
	stdout: string;
	stderr: string;
	/** Every module URL the process loaded, in order. */
	modules: string[];
	/** pi-crew's own modules among them, relative to its root (`dist/extension/index.js`, `src/...`). */
	ours: string[];
}

/** Runs `command args` with a module tracer (through NODE_OPTIONS, so pi's own node loads it too). */
export async function traced(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Traced> {
	const dir = await tempDir("pi-crew-trace-");
	const tracer = join(dir, "tracer.mjs");
	const trace = join(dir, "modules.txt");
	await writeFile(tracer, TRACER);
	await writeFile(trace, "");
	const options = `${env.NODE_OPTIONS ?? ""} --import ${pathToFileURL(tracer).href}`.trim();
	const child = spawn(command, args, {
		cwd,
		env: { ...env, NODE_OPTIONS: options, PI_CREW_TEST_TRACE: trace },
		stdio: ["ignore", "pipe", "pipe"],
	});
	let stdout = "";
	let stderr = "";
	child.stdout.on("data", (d) => {
		stdout += d;
	});
	child.stderr.on("data", (d) => {
		stderr += d;
	});
	const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
	const modules = (await readFile(trace, "utf8")).split("\n").filter(Boolean);
	const root = `${pathToFileURL(ROOT).href}/`;
	const ours = [
		...new Set(
			modules
				.filter((m) => m.startsWith(root) && !m.slice(root.length).startsWith("node_modules/"))
				.map((m) => m.slice(root.length)),
		),
	];
	return { code, stdout, stderr, modules, ours };
}
