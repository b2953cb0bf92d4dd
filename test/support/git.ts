/** Helpers for tests on real git repositories: a committed repository, where a sandbox's worktrees are, planted programs. */
import { execFileSync } from "node:child_process";
import { readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { type Sandbox, sandbox } from "./index.js";

/** git for a test's own setup and checks (with an identity); its output, trimmed. */
export function git(cwd: string, ...args: string[]): string {
	return execFileSync("git", ["-c", "user.name=u", "-c", "user.email=u@x", ...args], { cwd, stdio: "pipe" })
		.toString()
		.trim();
}

/**
 * A sandbox whose repository is a real git repository on `main` with one commit of `files` (and a `.gitignore` that
 * keeps `.crew/` out), made with `run` (a git that runs nothing configured, where the test plants programs).
 */
export async function gitBox(
	files: Record<string, string> = { "notes.txt": "committed\n" },
	run: (cwd: string, ...args: string[]) => string = git,
): Promise<Sandbox> {
	const box = await sandbox();
	execFileSync("rm", ["-rf", join(box.repo, ".git")]);
	run(box.repo, "init", "-q", "-b", "main");
	for (const [file, text] of Object.entries({ ".gitignore": ".crew/\n", ...files })) await box.write(file, text);
	run(box.repo, "add", "-A");
	run(box.repo, "commit", "-qm", "base");
	return box;
}

/** The directory of the sandbox repository's worktrees under its crew home (`<crew home>/worktrees/<repo key>`). */
export function worktreesOf(box: Sandbox): string {
	const home = realpathSync(join(box.env.PI_CREW_HOME ?? "", "worktrees"));
	const keys = readdirSync(home);
	if (keys.length !== 1) throw new Error(`expected one repository's worktrees in ${home}, found ${keys.join(", ")}`);
	return join(home, keys[0] ?? "");
}

/**
 * Plants, in a repository's `.git`, every program git could run for pi-crew: filter (clean, smudge, process), diff
 * (textconv) and merge drivers and an fsmonitor in `.git/config`, assigned to every file by `.git/info/attributes`;
 * hooks. Each writes its name and its environment into a file of `marks` when it runs, and the filters change what
 * they pass (`FILTERED:`), so a filtered byte shows. Returns the commands' directory.
 */
export async function plantGitPrograms(repo: string, marks: string): Promise<void> {
	const { chmod, mkdir, writeFile, appendFile } = await import("node:fs/promises");
	const bin = join(marks, "..", "evil");
	await mkdir(join(bin, "hooks"), { recursive: true });
	await mkdir(marks, { recursive: true });
	const evil = join(bin, "evil.sh");
	await writeFile(
		evil,
		`#!/bin/sh\nenv > "${marks}/$1.$$"\ncase "$1" in\n  clean|smudge) sed 's/^/FILTERED:/' ;;\n  textconv) cat "$2" ;;\nesac\nexit 0\n`,
	);
	await chmod(evil, 0o755);
	for (const hook of ["pre-commit", "post-commit", "post-checkout", "reference-transaction", "post-merge"]) {
		await writeFile(join(bin, "hooks", hook), `#!/bin/sh\nexec ${evil} hook-${hook}\n`);
		await chmod(join(bin, "hooks", hook), 0o755);
	}
	await appendFile(
		join(repo, ".git", "config"),
		[
			"[core]",
			`\tfsmonitor = ${evil} fsmonitor`,
			`\thooksPath = ${join(bin, "hooks")}`,
			'[filter "evil"]',
			`\tclean = ${evil} clean`,
			`\tsmudge = ${evil} smudge`,
			"\trequired = true",
			'[filter "evilproc"]',
			`\tprocess = ${evil} process`,
			'[diff "evil"]',
			`\ttextconv = ${evil} textconv`,
			'[merge "evil"]',
			`\tdriver = ${evil} merge %A %O %B`,
			"",
		].join("\n"),
	);
	await mkdir(join(repo, ".git", "info"), { recursive: true });
	await writeFile(
		join(repo, ".git", "info", "attributes"),
		"* filter=evil diff=evil merge=evil\n*.md filter=evilproc diff=evil merge=evil\n",
	);
}

/** A `git` for tests' own checks in a repository with planted programs: nothing configured runs. */
export function inertGit(cwd: string, ...args: string[]): string {
	const off = ["core.hooksPath=/dev/null", "core.fsmonitor=false", "user.name=u", "user.email=u@x"];
	for (const f of ["evil", "evilproc"])
		off.push(`filter.${f}.clean=`, `filter.${f}.smudge=`, `filter.${f}.process=`, `filter.${f}.required=false`);
	return execFileSync("git", [...off.flatMap((c) => ["-c", c]), ...args], { cwd, stdio: "pipe" })
		.toString()
		.trim();
}
