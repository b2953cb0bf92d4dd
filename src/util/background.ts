/**
 * Background work of this process (metric exporters and their timers): where its problems are reported, and how it
 * is stopped when the process is done (the CLI's exit, a pi session's end). The work registers itself when it starts,
 * so a process that never started any loads nothing to stop it.
 */
let reporter: (line: string) => void = (line) => process.stderr.write(`${line}\n`);
const stops = new Set<() => Promise<void>>();

/** Problems go to stderr by default; a pi session shows them as notifications (stderr would garble its screen). */
export function setReporter(fn: (line: string) => void): void {
	reporter = fn;
}

export function report(line: string): void {
	reporter(line);
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
