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
	/** git worktrees and the merge queue of isolated runs. */
	workspace: 3,
	scripted: 3,
	engine: 4,
	observability: 4,
	api: 5,
	/** Text views of runs, plans and metrics, shared by both faces. */
	view: 5,
	cli: 6,
	extension: 6,
};

test("no module imports a layer above its own, and the two faces do not import each other", async () => {
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
				const face = (name: string) => name === "cli" || name === "extension";
				if ((target !== undefined && target > own) || (face(dir.name) && face(m[1] ?? "") && m[1] !== dir.name))
					violations.push(`src/${dir.name}/${file} imports ../${m[1]}/`);
			}
		}
	}
	assert.deepEqual(violations, []);
});

test("host.ts is the only module that names pi's packages", async () => {
	const named: string[] = [];
	for (const file of (await readdir(join(ROOT, "src"), { recursive: true })) as string[]) {
		if (!file.endsWith(".ts") || file === "host.ts") continue;
		const text = await readFile(join(ROOT, "src", file), "utf8");
		if (/["'`]@(?:earendil-works|mariozechner)\/pi-/.test(text)) named.push(file);
	}
	assert.deepEqual(named, []);
});

test("engines are true: the lowest Node the package claims satisfies every production dependency it installs", async () => {
	const { minVersion, satisfies } = await import("semver");
	const manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
	const lowest = minVersion(manifest.engines.node)?.version ?? "";
	assert.ok(satisfies(lowest, ">=22.19.0"), `pi 1.x needs Node 22.19; the package claims ${manifest.engines.node}`);
	const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as {
		packages: Record<string, { dev?: boolean; engines?: { node?: string } }>;
	};
	const unmet = Object.entries(lock.packages)
		.filter(([path, p]) => path && !p.dev && p.engines?.node && !satisfies(lowest, p.engines.node))
		.map(([path, p]) => `${path} needs node ${p.engines?.node}`);
	assert.deepEqual(unmet, [], `the package claims node ${manifest.engines.node}`);
});

/** Modules a file loads as soon as it is imported: its static value imports, followed through our own sources. */
async function staticClosure(entry: string): Promise<Set<string>> {
	const seen = new Set<string>();
	const visit = async (file: string) => {
		if (seen.has(file)) return;
		seen.add(file);
		if (!file.startsWith(ROOT)) return;
		const text = await readFile(file, "utf8");
		// `import type` and `import()` load nothing at start; `export ... from` does.
		for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+"([^"]+)";/gms)) {
			const spec = m[1] ?? "";
			await visit(spec.startsWith(".") ? join(file, "..", spec.replace(/\.js$/, ".ts")) : spec);
		}
	};
	await visit(entry);
	return seen;
}

test("pi's start-up loads nothing heavy: the extension entry and the worker guard import no api, TypeBox, YAML or pi", async () => {
	for (const entry of ["src/extension/index.ts", "src/workers/guard-extension.ts"]) {
		const loaded = [...(await staticClosure(join(ROOT, entry)))];
		const heavy = loaded.filter(
			(m) =>
				/^(typebox|yaml|@earendil-works\/|@opentelemetry\/|prom-client)/.test(m) ||
				/\/src\/(api|engine|resources|observability|view)\//.test(m),
		);
		assert.deepEqual(heavy, [], `${entry} loads at start: ${heavy.join(", ")}`);
		assert.ok(loaded.length > 3, `${entry}: the import scan found its imports`);
	}
});
