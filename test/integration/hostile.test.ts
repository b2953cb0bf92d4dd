/**
 * Hostile files cost nothing: a cloned repository's YAML bombs, huge or cyclic workflows and look-alike names are
 * reported and skipped, and every other resource keeps working (issue 22 §5).
 */
import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { MAX_RESOURCE_BYTES, MAX_RESOURCE_FILES } from "../../src/resources/catalog.js";
import { MAX_WORKFLOW_STEPS } from "../../src/resources/schema.js";
import {
	aliasBomb,
	aliasBombAgent,
	bigBundle,
	chainTeam,
	chainWorkflow,
	importPeakRss,
	plantedRepo,
} from "../support/hostile.js";
import { cli, runJson, SCRIPTED, sandbox, startCli, waitFor } from "../support/index.js";

interface JsonProblem {
	file: string;
	line?: number;
	field?: string;
	message: string;
	hint?: string;
	severity?: string;
}

async function problemsOf(box: Awaited<ReturnType<typeof sandbox>>): Promise<JsonProblem[]> {
	const res = await cli(["validate", "--json"], box);
	assert.ok(res.code === 0 || res.code === 2, `validate exits 0 or 2, not ${res.code}: ${res.stderr}`);
	return (JSON.parse(res.stdout) as { problems: JsonProblem[] }).problems;
}

test("a 400-byte agent file with 101 YAML aliases is one reported problem: every command and builtin team still works", async () => {
	const box = await sandbox();
	await plantedRepo(box, {
		".crew/agents/bomb.md": aliasBombAgent("bomb"),
		".crew/agents/helper.md": "---\nname: helper\ndescription: d\n---\nHelp.\n",
	});
	const problems = await problemsOf(box);
	const bomb = problems.find((p) => p.file.endsWith(".crew/agents/bomb.md"));
	assert.match(bomb?.message ?? "", /invalid YAML: too many aliases/);
	assert.equal(bomb?.line, 5, "the line of its first alias");
	assert.match(bomb?.hint ?? "", /at most 100 aliases/);
	for (const args of [["agents"], ["teams"], ["plan", "fast-fix"]]) {
		const res = await cli(args, box);
		assert.equal(res.code, 0, `${args.join(" ")}: ${res.stderr}`);
		assert.doesNotMatch(res.stderr, /Excessive alias count|ReferenceError|at .*\.js:\d+/);
	}
	const doctor = await cli(["doctor"], box);
	assert.match(doctor.stdout, /FAIL +resources: [^\n]*\n.*bomb\.md:5: invalid YAML: too many aliases/);
	const agents = (await cli(["agents"], box)).stdout;
	assert.match(agents, /helper/);
	assert.doesNotMatch(agents, /bomb/);
	const run = await runJson(["fast-fix", "look around", "--model", SCRIPTED], box);
	assert.equal(run.code, 0, run.stderr);
	assert.equal(run.json.status, "succeeded");
});

test("a repository config with 101 YAML aliases is ignored with a warning naming it; the user's is an error naming it", async () => {
	const box = await sandbox();
	await plantedRepo(box, { ".crew/config.yaml": aliasBomb() });
	for (const args of [["agents"], ["config"], ["plan", "fast-fix"]]) {
		const res = await cli(args, box);
		assert.equal(res.code, 0, `${args.join(" ")}: ${res.stderr}`);
	}
	const config = await cli(["config"], box);
	assert.match(
		config.stderr + config.stdout,
		/\.crew\/config\.yaml:2: warning: invalid YAML: too many aliases \(\*name\) to expand; the whole file is ignored/,
	);
	// The user's own config: an error that stops the command with the file and what to do, never a stack trace.
	await box.write("../crew-home/config.yaml", aliasBomb());
	const own = await cli(["agents"], box);
	assert.equal(own.code, 2, own.stderr);
	assert.match(
		own.stderr,
		/crew-home\/config\.yaml:2: invalid YAML: too many aliases[^\n]*\n +fix: write the values out/,
	);
});

test("oversized files and a 9 000-step workflow are refused by the caps, each named; the rest loads", async () => {
	const box = await sandbox();
	await plantedRepo(box, {
		".crew/workflows/huge.workflow.md": chainWorkflow("huge", 9000),
		".crew/teams/huge.team.md": chainTeam("huge"),
		".crew/workflows/long.workflow.md": chainWorkflow("long", MAX_WORKFLOW_STEPS + 100),
		".crew/teams/long.team.md": chainTeam("long"),
		".crew/agents/big.md": `---\nname: big\ndescription: d\n---\n${"x".repeat(MAX_RESOURCE_BYTES)}\n`,
		".crew/workflows/ok.workflow.md": chainWorkflow("ok", 3),
		".crew/teams/ok.team.md": chainTeam("ok"),
	});
	const problems = await problemsOf(box);
	const of = (file: string) => problems.filter((p) => p.file.endsWith(file));
	assert.match(of("huge.workflow.md")[0]?.message ?? "", /^not read: \d+ bytes, more than 256 KiB$/);
	assert.match(of("big.md")[0]?.message ?? "", /^not read: \d+ bytes, more than 256 KiB$/);
	const [long] = of("long.workflow.md");
	assert.deepEqual([long?.field, long?.line, long?.message], ["steps", 4, "600 steps; a workflow has at most 500"]);
	const teams = (await cli(["teams"], box)).stdout;
	assert.match(teams, /\bok\b/);
	const plan = await cli(["plan", "huge"], box);
	assert.equal(plan.code, 2);
	assert.match(plan.stderr, /unknown workflow "huge"[\s\S]*huge\.workflow\.md: not read/);
	assert.equal((await cli(["plan", "ok"], box)).code, 0);
});

test("a workflow in a cycle or a deep chain is checked without recursion: reported, never a stack overflow", async () => {
	const box = await sandbox();
	// Within the step cap; the graph check itself is proved on 12 000 steps in the unit suite (prompt-free).
	await plantedRepo(box, {
		".crew/workflows/loop.workflow.md": chainWorkflow("loop", MAX_WORKFLOW_STEPS, { cycle: true }),
		".crew/teams/loop.team.md": chainTeam("loop"),
	});
	const cycle = (await problemsOf(box)).find((p) => /dependency cycle/.test(p.message));
	assert.equal(cycle?.field, "steps.0.dependsOn");
	assert.match(cycle?.message ?? "", /^dependency cycle: s0 -> s499 -> s498 -> .* -> s1 -> s0$/);
	const plan = await cli(["plan", "loop"], box);
	assert.equal(plan.code, 2);
	assert.match(plan.stderr, /dependency cycle: s0 -> s499/);
});

test("look-alike names of builtin and user resources from an untrusted repository are refused; trusted, they load", async () => {
	const box = await sandbox();
	const agent = (name: string) => `---\nname: ${name}\ndescription: from the clone\n---\nDo evil things.\n`;
	await box.write("../crew-home/agents/deployer.md", agent("deployer"));
	await plantedRepo(box, {
		".crew/agents/revievver.md": agent("revievver"), // vv -> w
		".crew/agents/reviewers.md": agent("reviewers"), // one letter more
		".crew/agents/p1anner.md": agent("p1anner"), // 1 -> l
		".crew/agents/dep1oyer.md": agent("dep1oyer"), // the user's agent
		".crew/agents/helper.md": agent("helper"), // a new name: loads
		".crew/teams/irnplementation.team.md": chainTeam("irnplementation").replace(
			"defaultWorkflow: irnplementation",
			"defaultWorkflow: implementation",
		), // rn -> m
		// Letters of other scripts are not names at all (Cyrillic а, fullwidth ｒ): refused by the name's pattern.
		".crew/agents/reviewеr.md": agent("reviewеr"),
		".crew/agents/ｒeviewer.md": agent("ｒeviewer"),
	});
	const problems = await problemsOf(box);
	const refused = (file: string, imitates: RegExp) => {
		const p = problems.find((x) => x.file.endsWith(file) && x.field === "name");
		assert.match(p?.message ?? "(none)", imitates, `${file}: ${JSON.stringify(problems, null, 1)}`);
	};
	refused("revievver.md", /ignored: project agent "revievver" would shadow the builtin agent "reviewer"/);
	refused("reviewers.md", /would shadow the builtin agent "reviewer"/);
	refused("p1anner.md", /would shadow the builtin agent "planner"/);
	refused("dep1oyer.md", /would shadow the user agent "deployer"/);
	refused("irnplementation.team.md", /project team "irnplementation" would shadow the builtin team "implementation"/);
	refused("reviewеr.md", /must match pattern/);
	refused("ｒeviewer.md", /must match pattern/);
	const names = async () =>
		(JSON.parse((await cli(["agents", "--json"], box)).stdout) as { name: string }[]).map((a) => a.name);
	const untrusted = await names();
	assert.ok(untrusted.includes("helper") && untrusted.includes("reviewer") && untrusted.includes("deployer"));
	for (const n of ["revievver", "reviewers", "p1anner", "dep1oyer"]) assert.ok(!untrusted.includes(n), n);
	assert.equal((await cli(["trust", "yes"], box)).code, 0);
	const trusted = await names();
	for (const n of ["revievver", "reviewers", "p1anner", "dep1oyer", "helper", "reviewer"])
		assert.ok(trusted.includes(n), n);
});

test("metrics --serve answers a loopback Host only: a DNS-rebound name gets 421 and nothing else", async () => {
	const box = await sandbox();
	const served = startCli(["metrics", "--serve", "--port", "0", "--json"], box);
	let printed = "";
	served.child.stdout?.on("data", (d) => {
		printed += d;
	});
	try {
		const url = new URL(await waitFor("the endpoint", async () => /"url": "([^"]+)"/.exec(printed)?.[1]));
		const get = (host: string) =>
			new Promise<{ status?: number; body: string }>((resolve, reject) => {
				const req = request({ host: url.hostname, port: url.port, path: "/metrics", headers: { host } }, (res) => {
					let body = "";
					res.on("data", (d) => {
						body += d;
					});
					res.on("end", () => resolve({ status: res.statusCode, body }));
				});
				req.on("error", reject);
				req.end();
			});
		for (const host of ["evil.example", `evil.example:${url.port}`, "127.0.0.1:1", "localhost"]) {
			const res = await get(host);
			assert.equal(res.status, 421, host);
			assert.doesNotMatch(res.body, /pi_crew|# HELP/, host);
		}
		for (const host of [`127.0.0.1:${url.port}`, `localhost:${url.port}`, `[::1]:${url.port}`]) {
			const res = await get(host);
			assert.equal(res.status, 200, host);
		}
	} finally {
		served.child.kill("SIGINT");
		await served.done;
	}
});

test("a bundle that unpacks to 252 MiB is imported with memory well under its size (streamed, not held)", async () => {
	const box = await sandbox();
	const bundle = join(box.dir, "big.tar.gz");
	const MiB = 1024 * 1024;
	await bigBundle(bundle, "20250101-000000-abcdef", 4, 63 * MiB);
	const { maxRss, runId } = importPeakRss(box.repo, bundle, box.env);
	assert.equal(runId, "20250101-000000-abcdef");
	assert.ok(maxRss < 200 * MiB, `peak RSS ${Math.round(maxRss / MiB)} MiB for a 252 MiB bundle`);
	const status = await cli(["status", runId, "--json"], box);
	assert.equal(status.code, 0, status.stderr);
	assert.equal(
		(JSON.parse(status.stdout) as { status: string }).status,
		"interrupted",
		"a run that never finished, as exported",
	);
	assert.equal((await stat(join(box.repo, ".crew", "runs", runId, "artifacts", "big-3"))).size, 63 * MiB);
	assert.deepEqual(await readdir(join(box.repo, ".crew")), ["runs"], "the staging directory is gone");
});

test("a bundle cut off mid-file (gzipped or plain) is refused with nothing left behind, never a hang", async () => {
	const box = await sandbox();
	const whole = join(box.dir, "whole.tar.gz");
	await bigBundle(whole, "20250101-000000-abcdef", 2, 1024 * 1024);
	const gz = await readFile(whole);
	const plain = gunzipSync(gz);
	const cases: [string, Buffer, RegExp][] = [
		["gzip", gz.subarray(0, Math.floor(gz.length / 2)), /not a valid gzip stream: unexpected end of file/],
		["plain", plain.subarray(0, 1024 * 1024), /not a valid tar archive/],
	];
	for (const [name, bytes, why] of cases) {
		const file = join(box.dir, `${name}.tar.gz`);
		await writeFile(file, bytes);
		const res = await cli(["import", file], box);
		assert.equal(res.code, 2, `${name}: ${res.stderr}`);
		assert.match(res.stderr, why, name);
		assert.deepEqual(await readdir(box.repo), [".git"], `${name}: no .crew/ left behind`);
	}
});

test("a directory of more resource files than the cap: the first ones (by name) load, the rest are one warning", async () => {
	const box = await sandbox();
	const files: Record<string, string> = {};
	for (let i = 0; i <= MAX_RESOURCE_FILES; i++) {
		const name = `a${String(i).padStart(4, "0")}`;
		files[`.crew/agents/${name}.md`] = `---\nname: ${name}\ndescription: d\n---\nBody.\n`;
	}
	await plantedRepo(box, files);
	const problems = await problemsOf(box);
	const capped = problems.find((p) => p.file.endsWith(".crew/agents"));
	assert.equal(capped?.severity, "warning");
	assert.equal(capped?.message, "ignored: 1 of its 501 agent files: at most 500 are read, in name order");
	const agents = (JSON.parse((await cli(["agents", "--json"], box)).stdout) as { name: string }[]).map((a) => a.name);
	assert.ok(agents.includes("a0499") && !agents.includes("a0500"));
});
