/** `npm run demo`: the fast-fix team fixes a real failing test offline, on real pi workers. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { CLI, sandbox } from "../support/index.js";

test("the demo fixes the sample repo's failing test", async () => {
	const box = await sandbox();
	const child = spawn(process.execPath, [CLI, "demo"], {
		env: { ...box.env, TMPDIR: box.dir },
		stdio: ["ignore", "pipe", "pipe"],
	});
	let stderr = "";
	child.stderr.on("data", (d) => {
		stderr += d;
	});
	const code = await new Promise((resolve) => child.on("close", resolve));
	assert.equal(code, 0, stderr);
	assert.match(stderr, /tests before: # pass 1, # fail 1/);
	assert.match(stderr, /fix: edit src\/stats\.js/);
	assert.match(stderr, /tests after: # pass 2, # fail 0 {2}\(all passing\)/);
	assert.match(stderr, /✓ verify/);
});
