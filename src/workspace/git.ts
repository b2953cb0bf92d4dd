/**
 * git, as pi-crew runs it: no shell, a timeout, never a repository's own hooks (`core.hooksPath` or `.git/hooks` would
 * run code on every commit and checkout pi-crew makes), never a signing program (one that prompts would hang a run).
 * A clone's `.git/config` is written by git, not by the repository; a repository that arrives with its `.git` (an
 * archive) can still set filters there: docs/security.md.
 */
import { execFile } from "node:child_process";
import { OperationError } from "../util/errors.js";

const TIMEOUT_MS = 120_000;

export interface GitResult {
	code: number;
	stdout: string;
	stderr: string;
}

/** Runs git in `cwd`; resolves with its exit code (callers decide what a non-zero one means). */
export function gitRun(cwd: string, args: string[]): Promise<GitResult> {
	return new Promise((resolve, reject) => {
		execFile(
			"git",
			["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "commit.gpgSign=false", ...args],
			{ cwd, timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } },
			(err, stdout, stderr) => {
				const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
				if (err && code === -1) return reject(new OperationError(`git ${args[0]} failed: ${err.message}`));
				resolve({ code, stdout, stderr });
			},
		);
	});
}

/** Runs git and returns its output, or fails with git's own message. */
export async function git(cwd: string, args: string[]): Promise<string> {
	const r = await gitRun(cwd, args);
	if (r.code !== 0)
		throw new OperationError(`git ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim().split("\n")[0]}`);
	return r.stdout.trim();
}
