/** The layout is the architecture: imports point downward only (docs/design.md). */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "../support/index.js";

/** Lower numbers are lower layers; a module may import its own layer and those below. */
const LAYER: Record<string, number> = {
	util: 0,
	config: 1,
	store: 1,
	resources: 2,
	workers: 3,
	scripted: 3,
	engine: 4,
	observability: 4,
	api: 5,
	cli: 6,
	extension: 6,
};

test("no module imports a layer above its own", async () => {
	const src = join(ROOT, "src");
	const violations: string[] = [];
	for (const dir of await readdir(src, { withFileTypes: true })) {
		if (!dir.isDirectory()) continue;
		const own = LAYER[dir.name];
		assert.ok(own !== undefined, `src/${dir.name} has no layer: add it to LAYER`);
		for (const file of await readdir(join(src, dir.name))) {
			if (!file.endsWith(".ts")) continue;
			const text = await readFile(join(src, dir.name, file), "utf8");
			for (const m of text.matchAll(/(?:from |import\()"\.\.\/([a-z]+)\//g)) {
				const target = LAYER[m[1] ?? ""];
				if (target !== undefined && target > own) violations.push(`src/${dir.name}/${file} imports ../${m[1]}/`);
			}
		}
	}
	assert.deepEqual(violations, []);
});
