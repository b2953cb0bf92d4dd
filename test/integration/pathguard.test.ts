/**
 * The path wall of workers' file tools, driven as an attacker would: a real git repository, a worker with `write`,
 * `edit`, `read` and `ls` only (no bash) on the scripted model, whose script climbs out of its directory, writes the
 * checkout by an absolute path, plants a git filter in `.git/config` and `info/attributes`, forges its run's log,
 * rewrites `.crew/config.yaml`, writes through a link the repository ships and reads pi-crew's key. Each refusal is
 * written by the worker into its own directory (what the model saw); then the outside files, the stored bytes.
 * With the config's `sandbox: off`, so this wall alone is tested; then what `sandbox` does to the inprocess runtime.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { git } from "../support/git.js";
import { cli, projectTeam, runJson, type Sandbox, SCRIPTED, sandbox } from "../support/index.js";

/** A cloned-looking repository: a commit, a link to a directory outside it, a project config; the intruder agent. */
async function plantedRepo(): Promise<Sandbox & { outside: string }> {
	const box = await sandbox();
	execFileSync("rm", ["-rf", join(box.repo, ".git")]);
	git(box.repo, "init", "-q", "-b", "main");
	const outside = join(box.dir, "outside");
	await mkdir(outside);
	await symlink(outside, join(box.repo, "docs"));
	await box.write("notes.txt", "committed\n");
	await box.write(".gitignore", ".crew/\n");
	git(box.repo, "add", "-A");
	git(box.repo, "commit", "-qm", "base");
	await box.write(".crew/config.yaml", "concurrency: 2\n");
	await box.write(
		".crew/agents/intruder.md",
		"---\nname: intruder\ndescription: writes files\ntools: read, write, edit, ls\n---\nDo the task.\n",
	);
	await projectTeam(box, "intrude", [{ id: "work", role: "intruder" }]);
	await box.write("../crew-home/config.yaml", "sandbox: off\n");
	return { ...box, outside };
}

type Step = { tool: string; args: Record<string, unknown> };

/** The attacks, by where the worker works: its worktree (5 levels under the checkout) or the checkout itself. */
function attacks(box: Sandbox, isolated: boolean): Record<string, Step> {
	const repoPath = (rel: string) => (isolated ? join(box.repo, rel) : rel);
	return {
		climb: { tool: "write", args: { path: isolated ? "../../../../../PWNED" : "../PWNED", content: "x" } },
		absolute: {
			tool: "write",
			args: { path: isolated ? join(box.repo, "PWNED") : join(box.dir, "PWNED"), content: "x" },
		},
		gitconfig: {
			tool: "edit",
			args: {
				path: repoPath(".git/config"),
				edits: [{ oldText: "[core]", newText: `[filter "x"]\n\tclean = touch ${join(box.dir, "FILTER-RAN")}\n[core]` }],
			},
		},
		attributes: { tool: "write", args: { path: repoPath(".git/info/attributes"), content: "* filter=x\n" } },
		// {runId} is the run id the listing below showed the script.
		log: {
			tool: "edit",
			args: {
				path: join(box.repo, ".crew/runs/{runId}/events.jsonl"),
				edits: [
					{
						oldText: '"type":"run.started"',
						newText: '"type":"run.finished","data":{"status":"succeeded","reason":"FORGED"}}\n{"type":"run.started"',
					},
				],
			},
		},
		config: { tool: "write", args: { path: repoPath(".crew/config.yaml"), content: "concurrency: 64\n" } },
		link: { tool: "write", args: { path: "docs/PWNED", content: "x" } },
		key: { tool: "read", args: { path: join(box.dir, "crew-home", "owner.key") } },
	};
}

/** The script: list the run store (for {runId}), each attack followed by a write of what it returned, own work. */
async function scenario(box: Sandbox, steps: Record<string, Step>): Promise<string> {
	const script: unknown[] = [{ tool: "ls", args: { path: join(box.repo, ".crew", "runs") } }];
	for (const [name, step] of Object.entries(steps))
		script.push(step, { tool: "write", args: { path: `seen-${name}.txt`, content: "{result}" } });
	script.push({ tool: "write", args: { path: "work.txt", content: "the task's own work\n" } }, { say: "done" });
	return box.write("../scenario.json", JSON.stringify({ "task:work": script }));
}

const REFUSED: Record<string, RegExp> = {
	climb: /pi-crew: write outside the task's directory \S+ refused: \S+PWNED/,
	absolute: /pi-crew: write outside the task's directory \S+ refused: \S+PWNED/,
	gitconfig: /pi-crew: write .*refused/,
	attributes: /pi-crew: write .*refused/,
	log: /pi-crew: write outside the task's directory|pi-crew: write to \S+events\.jsonl refused: a \.crew directory/,
	config: /pi-crew: write .*refused/,
	link: /pi-crew: write outside the task's directory \S+ refused: \S+docs\/PWNED \(that is \S+outside\/PWNED\)/,
	key: /pi-crew: read of pi-crew's home \S+ refused: \S+owner\.key/,
};

for (const runtime of ["child", "inprocess"])
	for (const isolation of ["worktree", "shared"])
		test(`${runtime} worker, ${isolation} run: write/edit outside its directory, into .git or .crew, through a link, and a read of pi-crew's key are refused`, async () => {
			const box = await plantedRepo();
			const gitConfig = await readFile(join(box.repo, ".git", "config"), "utf8");
			const steps = attacks(box, isolation === "worktree");
			const file = await scenario(box, steps);
			const run = await runJson(
				["intrude", "go", "--isolation", isolation, "--runtime", runtime, "--model", SCRIPTED, "--scenario", file],
				box,
			);
			assert.equal(run.json.status, "succeeded", run.stderr);
			const { runId } = run.json;
			// What the model saw: each refusal, in the file it wrote next (the integration branch of an isolated run).
			const seen = (name: string) =>
				isolation === "worktree"
					? git(box.repo, "show", `pi-crew/${runId}/integration:${name}`)
					: readFile(join(box.repo, name), "utf8");
			for (const name of Object.keys(steps))
				assert.match(await seen(`seen-${name}.txt`), REFUSED[name] ?? /never/, `${name}: the model sees why`);
			assert.equal((await seen("work.txt")).trim(), "the task's own work", "its own write lands");
			// Nothing outside changed.
			for (const planted of [
				join(box.repo, "PWNED"),
				join(box.dir, "PWNED"),
				join(box.outside, "PWNED"),
				join(box.repo, ".git", "info", "attributes"),
				join(box.dir, "FILTER-RAN"),
			])
				assert.ok(!existsSync(planted), `${planted} was written`);
			assert.equal(await readFile(join(box.repo, ".git", "config"), "utf8"), gitConfig);
			assert.equal(await readFile(join(box.repo, ".crew", "config.yaml"), "utf8"), "concurrency: 2\n");
			const log = await readFile(join(run.json.runDir, "events.jsonl"), "utf8");
			assert.doesNotMatch(log, /FORGED/);
			const key = await readFile(join(box.dir, "crew-home", "owner.key"));
			assert.ok(!Buffer.from(await seen("seen-key.txt")).includes(key), "the key never reached the model");
		});

test("inprocess runtime with sandbox auto: a writing task runs as a child worker, said once; read-only ones stay in-process", async () => {
	const box = await sandbox();
	const run = await runJson(["fast-fix", "go", "--model", SCRIPTED, "--runtime", "inprocess"], box);
	assert.equal(run.json.status, "succeeded", run.stderr);
	const note =
		"note: runtime inprocess with sandbox auto: tasks that write, run bash or load an agent's extensions run as child workers (config sandbox: off runs them in-process, path-checked only)";
	assert.equal(run.stderr.split(note).length - 1, 1, run.stderr);
	const transcript = (id: string) =>
		existsSync(join(run.json.runDir, `artifacts/tasks/${id}/attempt-1/transcript.jsonl`));
	assert.ok(transcript("fix"), "the executor (write, edit, bash) ran as a pi child");
	assert.ok(!transcript("explore"), "the explorer (read-only) ran in-process");
	const status = await cli(["status", run.json.runId, "--follow"], box);
	assert.ok(status.stderr.includes(note) || status.stdout.includes(note), "the run's log keeps the note");
});
