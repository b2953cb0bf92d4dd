/**
 * The sandbox under real bubblewrap: a task directory inside pi-crew's home (where worktrees may live) is writable
 * while the rest of that home is absent (a link to it in pi's agent dir included), the git dir inside a task directory
 * stays read-only, and no Unix socket outside can be reached (a tmux server's, an abstract one).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { probeSandbox, Sandbox } from "../../src/workers/sandbox.js";
import { spawnProgram } from "../../src/workers/spawn.js";
import { hasTool, tempDir } from "../support/index.js";

/** Runs `script` with sh in the sandbox of a task in `cwd`; its output. */
async function inSandbox(spec: { cwd: string; repo: string }, env: NodeJS.ProcessEnv, script: string) {
	const found = await probeSandbox();
	assert.ok(found.ok, found.ok ? "" : found.reason);
	const tmp = await tempDir("pi-crew-sandbox-tmp-");
	const program = await new Sandbox(found.bwrap, "open").wrap("/bin/sh", ["-c", script], spec, tmp, env);
	const child = spawnProgram(program, { cwd: spec.cwd, env });
	let out = "";
	for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => (out += chunk.toString()));
	await new Promise((done) => child.once("close", done));
	return out;
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

test("no Unix socket outside the sandbox can be reached (a path's or an abstract one); a program's own pipes work", async (t) => {
	if (!hasTool(t, "bwrap")) return;
	const dir = await tempDir("pi-crew-sandbox-");
	const repo = join(dir, "repo");
	await mkdir(repo);
	const path = join(dir, "server.sock");
	const served: string[] = [];
	const servers = [path, "\0pi-crew-test-abstract"].map((where) => {
		const server = createServer((socket) => {
			served.push(where);
			socket.end("ANSWERED\n");
		});
		server.listen(where);
		return server;
	});
	t.after(() => {
		for (const server of servers) server.close();
	});
	const node = process.execPath;
	const connect = (where: string) =>
		`${node} -e 'require("net").connect(${JSON.stringify(where)}).on("data", (d) => process.stdout.write(String(d))).on("error", (e) => console.log("refused", e.code))'`;
	const env = { ...process.env, PI_CREW_HOME: join(dir, "crew-home"), PI_CODING_AGENT_DIR: join(dir, "agent") };
	const out = await inSandbox(
		{ cwd: repo, repo },
		env,
		[
			connect(path),
			connect("\0pi-crew-test-abstract"),
			`${node} -e 'console.log(require("child_process").execSync("echo piped").toString().trim())'`,
		].join("; "),
	);
	assert.doesNotMatch(out, /ANSWERED/, out);
	assert.equal(out.match(/refused EACCES/g)?.length, 2, out);
	assert.match(out, /^piped$/m, out);
	assert.deepEqual(served, []);
});

test("pi-crew's home stays absent when a link in pi's agent dir leads to it", async (t) => {
	if (!hasTool(t, "bwrap")) return;
	const dir = await tempDir("pi-crew-sandbox-");
	const repo = join(dir, "repo");
	const agent = join(dir, "agent");
	const home = join(dir, "elsewhere", "crew");
	await mkdir(repo);
	await mkdir(home, { recursive: true });
	await mkdir(agent);
	await writeFile(join(home, "owner.key"), "secret-key\n");
	await symlink(home, join(agent, "crew"));
	const env = { ...process.env, PI_CREW_HOME: join(agent, "crew"), PI_CODING_AGENT_DIR: agent };
	const out = await inSandbox({ cwd: repo, repo }, env, `cat ${join(agent, "crew", "owner.key")} || echo no-key`);
	assert.match(out, /no-key/, out);
	assert.doesNotMatch(out, /secret-key/, out);
});
