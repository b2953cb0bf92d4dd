/**
 * Handing a run's work over (`apply --branch`, `--squash`, `--push`) with real git repositories and real pi workers on
 * the scripted model: the branch holds the tasks' commits (or one), the checkout stays as it was, `pr.md` describes
 * the run, the push reaches a bare repository, and nothing the repository configures runs on the way.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { Handover } from "../../src/api/handover.js";
import { registerCommands } from "../../src/extension/commands.js";
import { registerTeamTool } from "../../src/extension/team-tool.js";
import type { ExtensionAPI } from "../../src/host.js";
import { git, gitBox } from "../support/git.js";
import { cli, pastRun, runJson, type Sandbox, SCRIPTED } from "../support/index.js";
import { writers } from "../support/workspace.js";

/** The user's team `ship` (so its verify command runs): a and b write, a is verified, `check` gives a verdict. */
async function shipTeam(box: Sandbox): Promise<string> {
	await box.write(
		"../crew-home/agents/judge.md",
		"---\nname: judge\ndescription: judges the work\ntools: read, verdict\n---\nJudge the work.\n",
	);
	await box.write(
		"../crew-home/teams/ship.team.md",
		"---\nname: ship\ndescription: t\nroles:\n  - name: executor\n    agent: executor\n  - name: judge\n    agent: judge\ndefaultWorkflow: ship\n---\n",
	);
	await box.write(
		"../crew-home/workflows/ship.workflow.md",
		[
			"---\nname: ship\ndescription: w\nsteps:",
			'  - id: a\n    role: executor\n    task: "do a for {goal}"\n    verify: "test -f a.txt"',
			'  - id: b\n    role: executor\n    task: "do b for {goal}"',
			'  - id: check\n    role: judge\n    dependsOn: [a, b]\n    task: "judge {goal}"',
			"---\n",
		].join("\n"),
	);
	const scenario = await writers(box, { a: ["a.txt", "from a"], b: ["b.txt", "from b"] });
	const judge =
		'"task:check":\n  - tool: verdict\n    args: { clean: true, findings: "both files present" }\n  - say: "Both files are there."\n';
	await writeFile(scenario, `${judge}${await readFile(scenario, "utf8")}`);
	return scenario;
}

/** What the user's checkout is: its branch, HEAD, index and status (the files' state). */
function checkout(repo: string): string[] {
	return [
		git(repo, "symbolic-ref", "HEAD"),
		git(repo, "rev-parse", "HEAD"),
		git(repo, "ls-files", "-s"),
		git(repo, "status", "--porcelain", "--untracked-files=all"),
	];
}

const json = (r: { stdout: string }) => JSON.parse(r.stdout) as Handover;

test("apply --branch: the tasks' commits or one (--squash), pr.md, --push to a bare repository; the checkout as it was", async () => {
	const box = await gitBox();
	const scenario = await shipTeam(box);
	const goal = "Add the two files\nBoth of them, please.";
	const run = await runJson(
		["ship", goal, "--isolation", "worktree", "--model", SCRIPTED, "--scenario", scenario],
		box,
	);
	assert.equal(run.code, 0, run.stderr);
	const { runId } = run.json;
	await writeFile(join(box.repo, "notes.txt"), "my uncommitted edit\n");
	const before = checkout(box.repo);
	const base = git(box.repo, "rev-parse", "HEAD");

	const made = await cli(["apply", runId, "--branch", "feature/x", "--json"], box);
	assert.equal(made.code, 0, made.stderr);
	const x = json(made);
	assert.equal(
		x.commit,
		git(box.repo, "rev-parse", `pi-crew/${runId}/integration`),
		"the integration branch's history",
	);
	assert.equal(x.base, base);
	assert.equal(x.commits, Number(git(box.repo, "rev-list", "--count", `${base}..feature/x`)));
	assert.match(git(box.repo, "log", "--format=%s", `${base}..feature/x`), /^a \(executor\): a wrote a\.txt/m);
	assert.equal(git(box.repo, "show", "feature/x:a.txt"), "from a");
	assert.equal(git(box.repo, "show", "feature/x:b.txt"), "from b");
	assert.deepEqual(checkout(box.repo), before, "branch, HEAD, index and files as they were");
	assert.equal(await readFile(join(box.repo, "notes.txt"), "utf8"), "my uncommitted edit\n");
	assert.equal(existsSync(join(box.repo, "a.txt")), false);

	// The description: goal, each task and what it changed, the verify command and the verdict, tokens.
	const pr = await readFile(x.prPath, "utf8");
	assert.equal(x.prPath, join(box.repo, ".crew", "runs", runId, "artifacts", "pr.md"));
	assert.match(pr, /^# Add the two files\n\n> Both of them, please\.\n/);
	assert.match(pr, new RegExp(`branch \`feature/x\` at ${x.commit.slice(0, 12)}`));
	assert.match(pr, /^- a: verify `test -f a\.txt`: passed$/m);
	assert.match(pr, /^- check: verdict \(by self\): clean: both files present$/m);
	assert.match(
		pr,
		/^### a: executor \(executor\), succeeded, [\d.]+k? tokens\n\nChanged: `a\.txt` \(added, \+1 -0\)\n/m,
	);
	assert.match(pr, /^### b: executor \(executor\), succeeded.*\n\nChanged: `b\.txt` \(added, \+1 -0\)\n/m);
	assert.match(pr, /^### check: judge \(judge\), succeeded.*\n\nChanged no file\.\n.*\n\n> Both files are there\.$/m);
	assert.match(pr, /## Tokens and cost\n\n\d+(\.\d)?k? \(input /);
	// Its path on stdout without --json; again on the same branch: it already points there.
	const again = await cli(["apply", runId, "--branch", "feature/x"], box);
	assert.equal(again.code, 0, again.stderr);
	assert.equal(again.stdout, `${x.prPath}\n`);
	assert.match(again.stderr, /branch feature\/x at \w+ \(\d+ commits on \w+\); the checkout is as it was/);

	// --squash: one commit, the same tree, on the base; the goal as subject, the tasks in its body.
	const squashed = json(await cli(["apply", runId, "--branch", "one", "--squash", "--json"], box));
	assert.equal(squashed.commits, 1);
	assert.equal(git(box.repo, "rev-parse", "one^"), base);
	assert.equal(git(box.repo, "rev-parse", "one^{tree}"), git(box.repo, "rev-parse", "feature/x^{tree}"));
	const message = git(box.repo, "log", "-1", "--format=%B", "one");
	assert.match(
		message,
		/^Add the two files\n\n- a \(executor\): a wrote a\.txt.*\n- b \(executor\): .*\n- check \(judge\): Both files are there\.\n\nRun: /,
	);
	assert.equal((await cli(["apply", runId, "--branch", "one", "--squash"], box)).code, 0, "the same commit again");

	// --push: to a bare repository added as a remote, with hooks planted where the repository's config names them.
	const marks = join(box.dir, "marks");
	const bare = join(box.dir, "remote.git");
	execFileSync("git", ["init", "-q", "--bare", bare]);
	const hooks = join(box.dir, "planted-hooks");
	await mkdir(hooks);
	await mkdir(marks);
	for (const [dir, hook] of [
		[hooks, "pre-push"],
		[hooks, "reference-transaction"],
		[join(bare, "hooks"), "pre-receive"],
		[join(bare, "hooks"), "post-receive"],
	] as const) {
		await writeFile(join(dir, hook), `#!/bin/sh\ntouch "${marks}/${hook}"\n`);
		await chmod(join(dir, hook), 0o755);
	}
	git(box.repo, "remote", "add", "origin", bare);
	git(box.repo, "config", "core.hooksPath", hooks);
	git(box.repo, "config", "remote.origin.receivepack", `sh -c 'touch ${marks}/receivepack' #`);
	git(box.repo, "config", "core.sshCommand", `touch ${marks}/ssh #`);
	const pushed = await cli(["apply", runId, "--branch", "shipped", "--squash", "--push", "origin", "--json"], box);
	assert.equal(pushed.code, 0, pushed.stderr);
	const shipped = json(pushed);
	assert.equal(shipped.pushed, "origin");
	assert.equal(git(bare, "rev-parse", "refs/heads/shipped"), shipped.commit);
	assert.equal(git(bare, "show", "shipped:a.txt"), "from a");
	assert.equal(existsSync(shipped.prPath), true, "the description beside it");
	// A remote on this machine that is not bare and checks a push to its branch out into its worktree (running its
	// filters there): the push to its checked-out branch is refused, its worktree untouched.
	const near = join(box.dir, "near");
	execFileSync("git", ["init", "-q", "-b", "checked-out", near]);
	git(near, "config", "receive.denyCurrentBranch", "updateInstead");
	git(box.repo, "remote", "add", "near", near);
	const checkedOut = await cli(["apply", runId, "--branch", "checked-out", "--push", "near"], box);
	assert.equal(checkedOut.code, 1, checkedOut.stderr);
	assert.match(checkedOut.stderr, /git push to near failed: .*refusing to update checked out branch/);
	assert.deepEqual(readdirSync(near), [".git"]);
	// A push URL that is a command line (ext::) is refused by git's transport policy, and runs nothing.
	git(box.repo, "config", "remote.origin.pushurl", `ext::sh -c touch% ${marks}/ext`);
	const ext = await cli(["apply", runId, "--branch", "other", "--push", "origin"], box);
	assert.equal(ext.code, 1);
	assert.match(ext.stderr, /git push to origin failed: .*transport 'ext' not allowed/);
	assert.deepEqual(await import("node:fs/promises").then((fs) => fs.readdir(marks)), [], "no planted program ran");
	assert.deepEqual(checkout(box.repo), before);

	// Bad inputs: clear errors, exit 2, no branch made.
	for (const [args, error] of [
		[["--branch", "bad..name"], /--branch "bad\.\.name" is not a valid branch name/],
		[["--branch=-x"], /not a valid branch name/],
		[["--branch", "main"], /branch main exists \(at \w+\), so it is left as it is: choose another name/],
		[["--squash"], /squash and push make a branch: name it \(--branch NAME/],
		[["--branch", "y", "--push", "nowhere"], /--push nowhere: no remote of that name .*git remote add nowhere URL/],
	] as const) {
		const r = await cli(["apply", runId, ...args], box);
		assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
		assert.match(r.stderr, error);
	}
	assert.throws(() => git(box.repo, "rev-parse", "--verify", "refs/heads/y"));
	assert.equal(git(box.repo, "rev-parse", "main"), base);

	// In pi: the team tool's apply action (gated by the autonomy profile) and /team-apply take the same options.
	const pi = await inPi(box);
	const call = { action: "apply", runId, branch: "by-tool", squash: true };
	await box.write("../crew-home/config.yaml", "autonomy: suggested\n");
	await assert.rejects(pi.tool(call), /autonomy profile is "\w+": do not apply runs' work yourself/);
	await box.write("../crew-home/config.yaml", "autonomy: assisted\n");
	const byTool = (await pi.tool(call)) as { content: { text: string }[]; details: Handover };
	assert.match(
		byTool.content[0]?.text ?? "",
		/branch by-tool at \w+ \(1 commit\(s\) on \w+\); the checkout is as it was/,
	);
	assert.equal(git(box.repo, "rev-parse", "by-tool"), squashed.commit, "the same squashed commit as the CLI's");
	assert.equal(byTool.details.prPath, x.prPath);
	const said = await pi.command("team-apply", `${runId} --branch by-command --push origin`);
	assert.match(said, /^pi-crew: git push to origin failed: .*transport 'ext' not allowed/, "the same push, refused");
	assert.equal(git(box.repo, "rev-parse", "by-command"), x.commit, "made before the push");
	git(box.repo, "config", "--unset", "remote.origin.pushurl");
	// Typed with more spaces than needed, as people do.
	assert.match(await pi.command("team-apply", ` ${runId}  --branch by-command --push origin `), /pushed to origin/);
	assert.equal(git(bare, "rev-parse", "by-command"), x.commit);
	assert.match(await pi.command("team-apply", `${runId} --squash`), /squash and push make a branch: name it/);
	// The model's push is the user's to confirm, naming the remote and its URL; without a UI it is refused.
	const push = { action: "apply", runId, branch: "by-model", push: "origin" };
	await assert.rejects(pi.tool(push), /pushing to origin needs the user's confirmation/);
	const asked: string[] = [];
	const answer = (yes: boolean) => async (message: string) => asked.push(message) > 0 && yes;
	await assert.rejects(pi.tool(push, answer(false)), /the user declined the push of branch by-model to origin/);
	assert.throws(() => git(box.repo, "rev-parse", "--verify", "refs/heads/by-model"), "declined: no branch made");
	await pi.tool(push, answer(true));
	const question = `Allow the agent to push branch by-model to origin (${bare})? A push cannot be undone.`;
	assert.deepEqual(asked, [question, question]);
	assert.equal(git(bare, "rev-parse", "by-model"), x.commit);
	assert.deepEqual(checkout(box.repo), before);
});

/** The extension's team tool and slash commands, registered in this process on the sandbox's homes. */
async function inPi(box: Sandbox) {
	for (const key of ["HOME", "PI_CODING_AGENT_DIR", "PI_CREW_HOME"]) process.env[key] = box.env[key];
	type Execute = (
		id: string,
		params: unknown,
		signal: undefined,
		onUpdate: undefined,
		ctx: unknown,
	) => Promise<unknown>;
	let execute: Execute | undefined;
	const commands = new Map<string, (args: string, ctx: unknown) => Promise<void>>();
	const pi = {
		registerTool: (t: { execute: Execute }) => {
			execute = t.execute;
		},
		registerCommand: (name: string, o: { handler: (args: string, ctx: unknown) => Promise<void> }) =>
			commands.set(name, o.handler),
		on: () => undefined,
	} as unknown as ExtensionAPI;
	registerTeamTool(pi, { resourcesChanged() {}, runStarted() {} });
	registerCommands(pi, { autonomyChanged() {}, runStarted() {} });
	return {
		/** A tool call; `confirm`: the session has a UI, where the user answers confirmations so. */
		async tool(params: object, confirm?: (message: string) => Promise<boolean>) {
			if (!execute) throw new Error("the team tool was not registered");
			const ui = { confirm: (_title: string, message: string) => confirm?.(message) };
			return execute("1", params, undefined, undefined, { cwd: box.repo, hasUI: confirm !== undefined, ui });
		},
		async command(name: string, args: string): Promise<string> {
			const notes: string[] = [];
			const ui = { notify: (m: string) => notes.push(m), setWidget: () => undefined };
			await commands.get(name)?.(args, { cwd: box.repo, hasUI: false, mode: "rpc", ui });
			return notes.join("\n");
		},
	};
}

test("a shared run's work as a branch: one commit of its tree on HEAD; refused once HEAD no longer holds its start", async () => {
	const box = await gitBox();
	await box.write(
		"../crew-home/teams/solo.team.md",
		"---\nname: solo\ndescription: t\nroles:\n  - name: executor\n    agent: executor\ndefaultWorkflow: solo\n---\n",
	);
	await box.write(
		"../crew-home/workflows/solo.workflow.md",
		'---\nname: solo\ndescription: w\nsteps:\n  - id: a\n    role: executor\n    task: "do {goal}"\n---\n',
	);
	const scenario = await writers(box, { a: ["a.txt", "from a"] });
	const run = await runJson(["solo", "Add a", "--model", SCRIPTED, "--scenario", scenario], box);
	assert.equal(run.code, 0, run.stderr);
	const { runId } = run.json;
	const before = checkout(box.repo);
	const made = await cli(["apply", runId, "--branch", "s", "--json"], box);
	assert.equal(made.code, 0, made.stderr);
	const s = json(made);
	assert.equal(s.commits, 1);
	assert.equal(git(box.repo, "rev-parse", "s^"), git(box.repo, "rev-parse", "HEAD"));
	assert.equal(git(box.repo, "show", "s:a.txt"), "from a");
	assert.equal(git(box.repo, "log", "-1", "--format=%s", "s"), "Add a");
	assert.deepEqual(checkout(box.repo), before, "a.txt stays in the checkout, uncommitted");
	assert.match(
		await readFile(s.prPath, "utf8"),
		/^### a: executor \(executor\), succeeded.*\n\nChanged: `a\.txt` \(added/m,
	);

	git(box.repo, "add", "a.txt");
	git(box.repo, "commit", "-qm", "the run's work, committed by hand");
	const refused = await cli(["apply", runId, "--branch", "s2"], box);
	assert.equal(refused.code, 2);
	assert.match(
		refused.stderr,
		/worked in the checkout, and the checkout's HEAD \(\w+\) does not hold the files the run started from/,
	);

	// Only a run that succeeded is handed over.
	process.env.PI_CREW_HOME = box.env.PI_CREW_HOME; // the run is signed with the sandbox's key
	await pastRun(box.repo, "20200101-000000-abcdef", { status: "failed" });
	const failed = await cli(["apply", "20200101-000000-abcdef", "--branch", "f"], box);
	assert.equal(failed.code, 2);
	assert.match(failed.stderr, /run 20200101-000000-abcdef is failed; only a run that succeeded is handed over/);
});
