/**
 * The sandbox's layout under real bubblewrap: a task directory inside pi-crew's home (where worktrees may live) is
 * writable while the rest of that home is absent, and the git dir inside a task directory stays read-only.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { probeSandbox, Sandbox } from "../../src/workers/sandbox.js";
import { hasTool, tempDir } from "../support/index.js";

/** Runs `script` with sh in the sandbox of a task in `cwd`; its output. */
async function inSandbox(spec: { cwd: string; repo: string }, env: NodeJS.ProcessEnv, script: string) {
	const found = await probeSandbox();
	assert.ok(found.ok, found.ok ? "" : found.reason);
	const tmp = await tempDir("pi-crew-sandbox-tmp-");
	const { command, args } = await new Sandbox(found.bwrap, "open").wrap("/bin/sh", ["-c", script], spec, tmp, env);
	const run = spawnSync(command, args, { cwd: spec.cwd, env, encoding: "utf8" });
	return `${run.stdout}${run.stderr}`;
}

test("a task directory under crew home is writable; the rest of crew home is absent, its git dir read-only", async (t) => {
	if (!hasTool(t, "bwrap")) return;
	const dir = await tempDir("pi-crew-sandbox-");
	const home = join(dir, "crew-home");
	const repo = join(dir, "repo");
	await mkdir(repo);
	execFileSync("git", ["init", "-q", repo]);
	const cwd = join(home, "worktrees", "key", "run", "task");
	const other = join(home, "worktrees", "key", "run", "other");
	await mkdir(cwd, { recursive: true });
	await mkdir(other, { recursive: true });
	await writeFile(join(home, "owner.key"), "secret-key\n");
	// A worktree's `.git` file names its git dir inside the repository's.
	await mkdir(join(repo, ".git", "worktrees", "task"), { recursive: true });
	await writeFile(join(repo, ".git", "worktrees", "task", "commondir"), "../..\n");
	await writeFile(join(cwd, ".git"), `gitdir: ${join(repo, ".git", "worktrees", "task")}\n`);
	const env = { ...process.env, PI_CREW_HOME: home, PI_CODING_AGENT_DIR: join(dir, "agent") };
	const out = await inSandbox(
		{ cwd, repo },
		env,
		[
			"echo mine > mine.txt && echo wrote-own",
			`cat ${join(home, "owner.key")} || echo no-key`,
			`ls ${other} || echo no-other`,
			`echo x > ${join(other, "planted")} || echo other-refused`,
			"echo x >> .git || echo dotgit-refused",
			`echo x >> ${join(repo, ".git", "config")} || echo config-refused`,
			`echo x > ${join(repo, "PWNED")} || echo checkout-refused`,
		].join("; "),
	);
	for (const said of ["wrote-own", "no-key", "no-other", "other-refused", "dotgit-refused", "config-refused"])
		assert.match(out, new RegExp(said), out);
	assert.match(out, /checkout-refused/, out);
	assert.doesNotMatch(out, /secret-key/);
	assert.equal(await readFile(join(cwd, "mine.txt"), "utf8"), "mine\n");
	assert.equal(existsSync(join(other, "planted")), false);
	assert.equal(existsSync(join(repo, "PWNED")), false);
	assert.doesNotMatch(await readFile(join(repo, ".git", "config"), "utf8"), /^x$/m);
});
