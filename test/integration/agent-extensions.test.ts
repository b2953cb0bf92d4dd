/**
 * An agent's `extensions:` are code: they run in a sandboxed child worker whatever the agent's tools (never in the
 * coordinator's process while the sandbox is on), only from local paths, and a repository's are looked at only once
 * the user trusts it (the `Agent` tool refuses one up front, as `run` refuses a team).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { askPi, cli, projectTeam, runEvents, runJson, SCRIPTED, sandbox } from "../support/index.js";

/** A read-only agent that loads `extension` (a path from its file, or a package source). */
const agentFile = (name: string, extension: string) =>
	`---\nname: ${name}\ndescription: d\ntools: read\nextensions: [${extension}]\n---\n\nYou are probed.\n`;

/**
 * An extension that, as soon as it loads, tries to write `outside` (outside any task) and to read a secret of the
 * coordinator's environment, and shows what it managed in the worker's system prompt.
 */
const probe = (outside: string) => `import { writeFileSync } from "node:fs";
export default function (pi: any) {
	let wrote = "refused";
	try {
		writeFileSync(${JSON.stringify(outside)}, "escaped");
		wrote = "landed";
	} catch {}
	const env = process.env.CREW_PROBE_SECRET ? "visible" : "absent";
	pi.on("before_agent_start", (event: any) => ({ systemPrompt: \`\${event.systemPrompt}\\n\\nPROBE env=\${env} write=\${wrote}\` }));
}
`;

test("a read-only agent's extensions run in a sandboxed child worker under auto and inprocess: no secret, no write outside", async () => {
	const box = await sandbox();
	box.env.CREW_PROBE_SECRET = "sk-coordinator-only";
	const agentDir = box.env.PI_CODING_AGENT_DIR ?? "";
	const outside = join(box.dir, "ESCAPED");
	await mkdir(join(agentDir, "extensions"), { recursive: true });
	await writeFile(join(agentDir, "extensions", "probe.ts"), probe(outside));
	await box.write("../crew-home/agents/probed.md", agentFile("probed", "../../pi-agent/extensions/probe.ts"));
	await projectTeam(box, "probe", [{ id: "a", role: "probed" }]);
	const scenario = await box.write("../scenario.yaml", 'default:\n  - say: "{system}"\n');
	for (const runtime of ["auto", "inprocess"]) {
		const run = await runJson(["probe", "x", "--scenario", scenario, "--model", SCRIPTED, "--runtime", runtime], box);
		assert.equal(run.json.status, "succeeded", run.stderr);
		const answer = await readFile(join(run.json.runDir, "artifacts", "tasks", "a", "result.md"), "utf8");
		assert.match(answer, /PROBE env=absent write=refused/, `${runtime}: the extension loaded, confined`);
		assert.ok(!existsSync(outside), `${runtime}: nothing written outside the task`);
		const started = (await runEvents(run.json.runDir)).find((e) => e.type === "task.started" && e.data.sandboxed);
		assert.ok(started, `${runtime}: the task ran in the sandbox`);
	}
});

test("extensions are local paths: a pi package is refused with how to install it; a clone's paths are never looked up", async () => {
	const box = await sandbox();
	await box.write("../crew-home/agents/packaged.md", agentFile("packaged", "npm:@example/pi-tools"));
	await box.write("../crew-home/agents/cloned.md", agentFile("cloned", "git:github.com/example/pi-tools@v1"));
	const invalid = await cli(["validate"], box);
	assert.equal(invalid.code, 2, invalid.stderr);
	assert.match(
		invalid.stderr,
		/packaged\.md:5 \[extensions\.0\]: extension npm:@example\/pi-tools is a pi package: workers load extensions from paths only\n\s+fix: install it once with `pi install npm:@example\/pi-tools`/,
	);
	assert.match(
		invalid.stderr,
		/cloned\.md:5 \[extensions\.0\]: extension git:github\.com\/example\/pi-tools@v1 is a pi/,
	);

	// A repository the user has not trusted: where its paths lead (there or not, inside or out) is never said.
	const other = await sandbox();
	await other.write("../outside.ts", "export default () => {};\n");
	await other.write(".crew/agents/leaky.md", agentFile("leaky", "../../../outside.ts"));
	await other.write(".crew/agents/probing.md", agentFile("probing", "../../../nowhere.ts"));
	const validate = await cli(["validate"], other);
	assert.equal(validate.code, 0, validate.stderr);
	for (const name of ["leaky", "probing"])
		assert.match(
			validate.stderr,
			new RegExp(`${name}\\.md:5 \\[extensions\\]: warning: extensions of a repository the user has not trusted`),
		);
	assert.doesNotMatch(validate.stderr, /not found|is outside|resolves to/);
});

test("the Agent tool refuses a repository's agent with extensions up front, before any run starts", async () => {
	const box = await sandbox();
	await box.write(".crew/extensions/marker.ts", "export default () => {};\n");
	await box.write(".crew/agents/repo-marked.md", agentFile("repo-marked", "../extensions/marker.ts"));
	const scenario = await box.write(
		"../parent.yaml",
		'default:\n  - tool: Agent\n    args: { agent: repo-marked, prompt: "look" }\n  - say: "done"\n',
	);
	const asked = await askPi(box, scenario, "delegate", "json");
	assert.equal(asked.code, 0, asked.stderr);
	assert.match(
		asked.toolResults[0] ?? "",
		/^Agent failed: agent "repo-marked" cannot run:\n\s+\S*repo-marked\.md:5 \[extensions\]: extensions of a repository the user has not trusted never load/,
	);
	const runs = JSON.parse((await cli(["list", "--json"], box)).stdout) as { runs: unknown[] };
	assert.deepEqual(runs.runs, [], "no run was started");
});
