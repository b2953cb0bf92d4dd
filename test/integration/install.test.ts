/**
 * pi-crew as a user gets it: the packed tarball (`npm pack`), installed with `npm install -g` into a fresh prefix for
 * the CLI and with `pi install` for the extension, then run from there: no file of the checkout is used.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { gitBox } from "../support/git.js";
import { ROOT, type Sandbox, SCRIPTED, tempDir, tmuxPi } from "../support/index.js";
import { openAiServer } from "../support/openai-server.js";

const run = promisify(execFile);

/** npm on a Node 22 PATH, reading the packages `npm ci` already cached (the registry only for what is missing). */
async function npm(args: string[], env: NodeJS.ProcessEnv) {
	return run("npm", args, { env, cwd: ROOT, maxBuffer: 64 << 20 });
}

/** PATH with this Node 22 and the system's tools, and no `pi`: workers run the pi installed beside pi-crew. */
async function bareNodePath(dir: string): Promise<string> {
	await symlink(process.execPath, join(dir, "node"));
	return [dir, "/usr/local/bin", "/usr/bin", "/bin"].join(":");
}

test("the packed package installs into a fresh prefix, runs a scripted team, and loads into pi as pi-crew", async (t) => {
	const dir = await tempDir("pi-crew-install-");
	const path = await bareNodePath(dir);
	const npmEnv = {
		...process.env,
		PATH: path,
		npm_config_cache: (await npm(["config", "get", "cache"], process.env)).stdout.trim(),
		npm_config_prefer_offline: "true",
		npm_config_audit: "false",
		npm_config_fund: "false",
		npm_config_update_notifier: "false",
		npm_config_loglevel: "error",
	};
	// The tarball of the built checkout (dist/ as `npm test` built it; prepare would only build it again).
	const packed = JSON.parse(
		(await npm(["pack", "--json", "--ignore-scripts", "--pack-destination", dir], npmEnv)).stdout,
	);
	const files = (packed[0].files as { path: string }[]).map((f) => f.path);
	for (const shipped of [
		"index.js",
		"bin/pi-crew.js",
		"dist/bundle/main.js",
		"dist/bundle/guard-extension.js",
		"dist/extension/index.js",
		"dist/scripted/extension.js",
	])
		assert.ok(files.includes(shipped), `the package lacks ${shipped}`);
	assert.ok(files.includes("examples/demo/scenario.yaml") && files.some((f) => f.startsWith("builtin/teams/")));
	assert.deepEqual(
		files.filter((f) => /^(test|bench|\.ci|node_modules)\//.test(f)),
		[],
		"nothing test-only ships",
	);
	const tarball = join(dir, packed[0].filename as string);

	const box = await demoRepo(join(ROOT, "examples", "demo", "repo"));
	const env: NodeJS.ProcessEnv = { ...box.env, PATH: path };
	const prefix = join(dir, "prefix");
	const pi = join(ROOT, "node_modules", ".bin", "pi");
	// At once: the CLI's `npm install -g` (with the peers npm installs beside it: pi itself), and the extension as pi
	// installs a package (its own npm install into its agent directory, without peers: pi shares its own copies).
	const piEnv = { ...npmEnv, HOME: env.HOME, PI_CODING_AGENT_DIR: env.PI_CODING_AGENT_DIR };
	await Promise.all([
		npm(["install", "-g", "--prefix", prefix, tarball], npmEnv),
		run(pi, ["install", `npm:pi-crew@file:${tarball}`], { env: piEnv, cwd: box.repo }),
	]);

	const installed = join(prefix, "lib", "node_modules", "pi-crew");
	const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
	const crew = join(prefix, "bin", "pi-crew");
	assert.equal((await run(crew, ["--version"], { env })).stdout.trim(), `pi-crew ${version}`);
	const scenario = join(installed, "examples", "demo", "scenario.yaml");
	const goal = "Make the failing average test pass";
	const res = await run(crew, ["run", "fast-fix", goal, "--model", SCRIPTED, "--scenario", scenario, "--json"], {
		env,
		cwd: box.repo,
	});
	const json = JSON.parse(res.stdout) as { status: string; tasks: { status: string }[] };
	assert.equal(json.status, "succeeded", res.stderr);
	assert.deepEqual(
		json.tasks.map((x) => x.status),
		["succeeded", "succeeded", "succeeded"],
	);
	assert.match(await readFile(join(box.repo, "src", "stats.js"), "utf8"), /sum\(values\) \/ values\.length/);

	// The session's model is a real provider over HTTP (the user's models.json): its runs' coordinator and workers
	// load pi's model code, which pi did not install beside pi-crew.
	const server = await openAiServer("ANSWER-42 from the gateway", { prompt_tokens: 12, completion_tokens: 5 });
	t.after(() => server.close());
	const gateway = {
		baseUrl: `http://127.0.0.1:${server.port}/v1`,
		api: "openai-completions",
		apiKey: "gw-secret-0123456789abcdef",
		models: [{ id: "gateway-model", contextWindow: 200_000, maxTokens: 4096 }],
	};
	await box.write("../pi-agent/models.json", JSON.stringify({ providers: { gw: gateway } }));
	const piInstalled = join(env.PI_CODING_AGENT_DIR ?? "", "npm", "node_modules", "pi-crew");
	const fromSettings = await tmuxPi(t, box, undefined, "gw/gateway-model", [
		"-e",
		join(piInstalled, "dist/scripted/extension.js"),
	]);
	// pi names an npm package's extension by its source, and adds the entry's path unless it is the package's index.
	const list = await fromSettings.until("the extension list", (s) => /\[Extensions\]\n.*\n/.test(s));
	assert.deepEqual(extensionsIn(list), ["extension.js", `pi-crew@file:${tarball}`].sort(), list);
	fromSettings.keys("/team-doctor", "Enter");
	const doctor = await fromSettings.until("the doctor's report", (s) => /resources: \d+ agents|Error/.test(s));
	assert.doesNotMatch(doctor, /Cannot find|Error/);
	assert.match(doctor, /ok +resources: \d+ agents, \d+ teams/);
	// A background run: a detached `pi-crew _coordinate` of the pi-installed package, on the session's model.
	fromSettings.keys("/team-run research what does the gateway say --bg", "Enter");
	const ended = await fromSettings.until(
		"the background run's end",
		(s) => /run \S+ \(research\) (succeeded|failed|cancelled|interrupted)|pi-crew: .*(exited|Error|Cannot)/.test(s),
		180_000,
	);
	const runId = /run (\S+) \(research\) succeeded/.exec(ended)?.[1];
	assert.ok(runId, ended);
	const bg = JSON.parse((await run(crew, ["status", runId, "--json"], { env, cwd: box.repo })).stdout) as typeof json;
	assert.deepEqual([bg.status, ...bg.tasks.map((x) => x.status)], ["succeeded", "succeeded", "succeeded", "succeeded"]);
	assert.deepEqual(
		server.seen.map((s) => [s.model, s.authorization]),
		Array(3).fill(["gateway-model", "Bearer gw-secret-0123456789abcdef"]),
		"each worker asked the session's model",
	);

	// The global install as a local package: listed by its directory's name, the package's.
	const local = await tmuxPi(t, box, undefined, undefined, [
		"-ne",
		"-e",
		installed,
		"-e",
		join(installed, "dist/scripted/extension.js"),
	]);
	const localList = await local.until("the extension list", (s) => /\[Extensions\]\n.*\n/.test(s));
	assert.deepEqual(extensionsIn(localList), ["extension.js", "pi-crew"], localList);
});

/** A git repository holding the demo's repository (a failing test). */
async function demoRepo(source: string): Promise<Sandbox> {
	const files: Record<string, string> = {};
	for (const rel of (await readdir(source, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()))
		files[join(rel.parentPath, rel.name).slice(source.length + 1)] = await readFile(
			join(rel.parentPath, rel.name),
			"utf8",
		);
	return gitBox(files);
}

/** The items of the "[Extensions]" section of pi's start-up screen, sorted. */
function extensionsIn(screen: string): string[] {
	const line = screen.split("\n").findIndex((l) => l.trim() === "[Extensions]");
	return (screen.split("\n")[line + 1] ?? "")
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean)
		.sort();
}
