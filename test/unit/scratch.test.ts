/**
 * A worker's temp directory is removed whatever the worker left in it: a tree it made read-only (Go's module cache
 * does) must not turn a finished task into a failure. Run as an unprivileged user (root removes anything).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, tempDir } from "../support/index.js";

test("a temp directory whose tree the program made read-only is still removed, and the outcome stands", async () => {
	const dir = await tempDir("pi-crew-scratch-");
	await chmod(dir, 0o777);
	const script = join(dir, "check.mts");
	await writeFile(
		script,
		`import { chmod, mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { withScratch } from ${JSON.stringify(join(ROOT, "src", "workers", "spawn.ts"))};
let kept = "";
const outcome = await withScratch("pi-crew-test-", async (scratch) => {
	kept = scratch;
	await mkdir(join(scratch, "mod", "pkg"), { recursive: true });
	await writeFile(join(scratch, "mod", "pkg", "go.mod"), "module x\\n");
	await chmod(join(scratch, "mod", "pkg"), 0o555);
	await chmod(join(scratch, "mod"), 0o555);
	return "succeeded";
});
console.log(outcome, existsSync(kept) ? "left" : "removed");
`,
	);
	const asNobody = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
	const node = [process.execPath, "--import", join(ROOT, "node_modules", "tsx", "dist", "esm", "index.mjs"), script];
	const [command = "", ...args] = [...asNobody, "env", `TMPDIR=${dir}`, `HOME=${dir}`, ...node];
	assert.equal(execFileSync(command, args, { encoding: "utf8" }).trim(), "succeeded removed");
});
