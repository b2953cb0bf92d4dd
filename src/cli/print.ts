/**
 * The CLI's one way to the terminal: whatever it prints may hold text from outside (a description, a file name, a
 * model's answer), so every write goes through `inert` (docs/security.md). The live board of `status --watch` writes
 * its own cursor moves and colours directly, around text its board lines already made inert.
 */
import { inert } from "../util/inert.js";

/** To stdout: results, listings, JSON. */
export function print(text: string): void {
	process.stdout.write(inert(text));
}

/** To stderr: progress, warnings, errors. */
export function warn(text: string): void {
	process.stderr.write(inert(text));
}
