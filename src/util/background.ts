/**
 * Background work of this process (metric exporters and their timers): where its problems are reported, and how it
 * is stopped when the process is done (the CLI's exit, a pi session's end). The work registers itself when it starts,
 * so a process that never started any loads nothing to stop it.
 */
import { inert } from "./inert.js";

const toStderr = (line: string) => void process.stderr.write(`${inert(line)}\n`);
let reporter: (line: string) => void = toStderr;
const stops = new Set<() => Promise<void>>();

/**
 * Problems go to stderr by default; a pi session shows them as notifications while it lasts (stderr would garble its
 * screen). Without an argument: back to stderr.
 */
export function setReporter(fn: (line: string) => void = toStderr): void {
	reporter = fn;
}

/** Never throws: a reporter that fails (a session that has ended) falls back to stderr. */
export function report(line: string): void {
	try {
		reporter(line);
	} catch {
		toStderr(line);
	}
}

export function onStop(stop: () => Promise<void>): void {
	stops.add(stop);
}

/** Stops everything registered; whether there was anything (it may still hold sockets until it gives up). */
export async function stopBackground(): Promise<boolean> {
	const pending = [...stops];
	stops.clear();
	await Promise.all(pending.map((stop) => stop()));
	return pending.length > 0;
}
