/** The fixed cost of the `pi-crew` command itself: what a run loads before its first worker (issue 26 §2). */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { cli, projectTeam, sandbox } from "../support/index.js";

test("a run loads its code as a handful of bundled files, not each module of TypeBox and yaml", async () => {
	const box = await sandbox();
	await box.write(".crew/agents/solo.md", "---\nname: solo\ndescription: one turn\n---\nAnswer.\n");
	await projectTeam(box, "solo", [{ id: "only", role: "solo" }]);
	// Every module file Node loads in the CLI's process, recorded as it exits (the scaffold runtime starts no worker).
	const loaded = join(box.dir, "loaded.txt");
	const counter = await box.write(
		"../count-modules.mjs",
		[
			'import { writeFileSync } from "node:fs";',
			'import { registerHooks } from "node:module";',
			"const urls = [];",
			"registerHooks({ load: (url, context, next) => (urls.push(url), next(url, context)) });",
			`process.on("exit", () => writeFileSync(${JSON.stringify(loaded)}, urls.join("\\n")));`,
		].join("\n"),
	);
	const env = { ...box.env, NODE_OPTIONS: `--import ${pathToFileURL(counter).href}` };
	const res = await cli(["run", "solo", "the goal", "--runtime", "scaffold", "--json"], { ...box, env });
	assert.equal(res.code, 0, res.stderr);
	assert.equal((JSON.parse(res.stdout) as { status: string }).status, "succeeded");
	const files = (await readFile(loaded, "utf8")).split("\n").filter((url) => url.startsWith("file:"));
	// Loaded one by one, TypeBox alone was 523 files and the whole run 718: Node's resolving and compiling them cost
	// more than the rest of the command before its first worker.
	const unbundled = files.filter((url) => /\/node_modules\/(typebox|yaml)\//.test(url));
	assert.deepEqual(unbundled, [], "TypeBox and yaml come inside the bundle");
	assert.ok(files.length <= 100, `a run loads ${files.length} module files:\n${files.join("\n")}`);
});
