/**
 * The CLI's one way to the terminal: whatever it prints may hold text from outside (a description, a file name, a
 * model's answer), so every write goes through `inert` (docs/security.md). The live board of `status --watch` writes
 * its own cursor moves and colours directly, around text its board lines already made inert.
 */
import { inert } from "../util/inert.js";

/**
 * A reader that goes away (`pi-crew run … 2>&1 | head`) must not end the run this process coordinates: a write to a
 * closed pipe fails with EPIPE, which node raises as an uncaught error unless the stream has a listener. The run goes
 * on, unseen, to its end (its log and `status` have it); any other stream error is still one.
 */
export function outliveReaders(): void {
	for (const stream of [process.stdout, process.stderr])
		stream.on("error", (err: NodeJS.ErrnoException) => {
			if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_DESTROYED") throw err;
		});
}

/** To stdout: results, listings, JSON. */
export function print(text: string): void {
	if (process.stdout.writable) process.stdout.write(inert(text));
}

/** To stderr: progress, warnings, errors. */
export function warn(text: string): void {
	if (process.stderr.writable) process.stderr.write(inert(text));
}
