/**
 * The path wall's rule on real directories (pathguard.test.ts drives it through real workers): a task directory that
 * lies inside pi-crew's home (where worktrees may live) is still the task's own, pi's spellings of a path (`@`, `~`)
 * are checked as pi reads them, a target that is a link is refused, searches from above pi-crew's home are refused.
 */
import assert from "node:assert/strict";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { crewHome } from "../../src/config/home.js";
import { checkToolCall, guardRoots } from "../../src/workers/path-guard.js";
import { tempDir } from "../support/index.js";

/** A task directory inside pi-crew's home (as a worktree there), with the home's key beside it. */
async function taskInCrewHome() {
	const home = crewHome();
	const dir = join(home, "worktrees", "repo-key", "run-1", "task-a");
	await mkdir(dir, { recursive: true });
	await writeFile(join(home, "owner.key"), "secret");
	const repo = await tempDir("pi-crew-guard-repo-");
	return { home, dir, repo, roots: await guardRoots(dir, repo) };
}

test("a task directory inside pi-crew's home is its own; the rest of the home is neither written nor read", async () => {
	const { home, dir, roots } = await taskInCrewHome();
	const call = async (tool: string, input: Record<string, unknown>) => checkToolCall(roots, tool, input, dir);
	const own = { path: "src/a.ts", content: "x" };
	assert.equal(await call("write", own), undefined);
	assert.equal(own.path, join(dir, "src", "a.ts"), "the tool acts on the path that was checked");
	await mkdir(join(dir, "src"), { recursive: true });
	await writeFile(join(dir, "src", "a.ts"), "x");
	assert.equal(await call("read", { path: "src/a.ts" }), undefined);
	assert.equal(await call("grep", { pattern: "x" }), undefined, "a search of its own directory");
	assert.match(
		(await call("write", { path: "../../../../owner.key", content: "x" })) ?? "",
		/^pi-crew: write outside the task's directory \S+task-a refused: \S+owner\.key$/,
	);
	for (const tool of ["read", "ls"])
		assert.match(
			(await call(tool, { path: join(home, "owner.key") })) ?? "",
			new RegExp(`^pi-crew: ${tool} of pi-crew's home \\S+ refused`),
		);
	assert.match((await call("grep", { pattern: "secret", path: "/" })) ?? "", /^pi-crew: grep of pi-crew's home/);
	assert.match(
		(await call("find", { pattern: "*", path: join(home, "..") })) ?? "",
		/^pi-crew: find of pi-crew's home/,
	);
});

test("pi's spellings are read as pi reads them; a link as the target, .git and .crew, an unknown directory refused", async () => {
	const { dir, roots } = await taskInCrewHome();
	const call = async (tool: string, input: Record<string, unknown>) => checkToolCall(roots, tool, input, dir);
	assert.match((await call("write", { path: "@../escape", content: "x" })) ?? "", /outside the task's directory/);
	assert.match((await call("write", { path: "~/escape", content: "x" })) ?? "", /outside the task's directory/);
	await writeFile(join(dir, "real.txt"), "x");
	await symlink(join(dir, "real.txt"), join(dir, "alias.txt"));
	assert.match(
		(await call("edit", { path: "alias.txt", edits: [] })) ?? "",
		/^pi-crew: write through the link \S+alias\.txt refused$/,
	);
	assert.match((await call("write", { path: ".git/hooks/pre-commit", content: "x" })) ?? "", /a \.git directory/);
	assert.match((await call("write", { path: "pkg/.crew/config.yaml", content: "x" })) ?? "", /a \.crew directory/);
	const lost = await guardRoots(undefined, undefined);
	assert.match(
		(await checkToolCall(lost, "write", { path: "a.txt", content: "x" }, dir)) ?? "",
		/the task's directory is unknown/,
	);
});

test("a read of a path that does not exist is refused: pi would try other spellings, one a link out", async () => {
	const { dir, roots } = await taskInCrewHome();
	// The hostile repository ships `note<U+202F>AM.md` -> the key; pi's read of `note AM.md` (missing) would open it.
	await symlink("../../../../owner.key", join(dir, "note\u202FAM.md"));
	await symlink(join(dir, "gone.md"), join(dir, "dangling.md"));
	for (const path of ["note AM.md", "dangling.md", "missing.txt"])
		assert.match(
			(await checkToolCall(roots, "read", { path }, dir)) ?? "",
			/^pi-crew: read of .+ refused: no such file \(pi would try other spellings\)$/,
			path,
		);
	assert.equal(await checkToolCall(roots, "ls", { path: "missing" }, dir), undefined, "ls tries no other spelling");
});
