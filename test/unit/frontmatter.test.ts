import assert from "node:assert/strict";
import { mkdir, readdir, readFile, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { delegationPolicy } from "../../src/extension/autonomy.js";
import { splitFrontmatter, topLevelString } from "../../src/util/frontmatter.js";
import { ROOT, tempDir } from "../support/index.js";
import { traced } from "../support/startup.js";

/** What the YAML parser reads at top-level `key`: a string, or null for anything else. */
function parsed(text: string, key: string): string | null {
	try {
		const value = (parse(text) as Record<string, unknown> | null)?.[key];
		return typeof value === "string" ? value : null;
	} catch {
		return null;
	}
}

// Valid YAML in the shapes team files and configs take: the light reader agrees with the parser or defers to it.
const DOCS = [
	'name: x\ndescription: "Find the bug, fix it, verify: for small, clear fixes."\nroles:\n  - name: a\n',
	"description: plain text, with commas # and a comment\n",
	"description: 'it''s single-quoted' # comment\n",
	'description: "quoted"   \n',
	"description: it's plain: no\n",
	"description: a:b c#d\n",
	"description: |\n  block\n  text\n",
	"description: >-\n  folded\n  text\n",
	"description: first line\n  goes on\n",
	"description:\n  on the next line\n",
	"description:\nname: x\n",
	'description: "escaped \\"quote\\" \\u00e9"\n',
	"description: 12\n",
	"description: 1.5e3\n",
	"description: true\n",
	"description: Null\n",
	"description: ~\n",
	"description: &a anchored\nother: *a\n",
	"description: !!str 12\n",
	'"description": quoted key\n',
	"? description\n: complex key\n",
	"{description: flow}\n",
	"nested:\n  description: not top-level\n",
	"# comment\n\ndescription: after a comment\n\n",
	"description: windows\r\nname: x\r\n",
	"autonomy: assisted\nmetrics:\n  prometheus: 9464\n",
	"description: [a, b]\n",
	"description: x\n---\ndescription: y\n",
	"  description: indented as a whole\n  name: x\n",
	"autonomy:\n# a comment\n  assisted\n",
	"description: x\n  # an indented comment\nname: y\n",
];

test("a top-level string reads as the YAML parser reads it, or is left to the parser", () => {
	let light = 0;
	for (const doc of DOCS) {
		for (const key of ["description", "autonomy", "name"]) {
			const read = topLevelString(doc, key);
			if (read === undefined) continue;
			light++;
			assert.equal(read, parsed(doc, key), `${JSON.stringify(doc)} at ${key}`);
		}
	}
	assert.ok(light >= 30, `most shapes read without the parser (${light})`);
	// Shapes the light reader must leave to the parser.
	for (const doc of ["description: |\n  block\n", "description: 12\n", "description: x\ndescription: y\n"])
		assert.equal(topLevelString(doc, "description"), undefined, doc);
});

test("every builtin team's description reads without the YAML parser, as the parser reads it", async () => {
	const dir = join(ROOT, "builtin", "teams");
	const files = (await readdir(dir)).filter((f) => f.endsWith(".team.md"));
	assert.ok(files.length >= 5);
	for (const file of files) {
		const split = splitFrontmatter(await readFile(join(dir, file), "utf8"));
		assert.ok(split, file);
		const read = topLevelString(split.yaml, "description");
		assert.equal(typeof read, "string", file);
		assert.equal(read, parsed(split.yaml, "description"), file);
	}
});

/** A home and a trusted repository whose teams' descriptions take every shape. */
async function policyBox() {
	const dir = await tempDir("pi-crew-policy-text-");
	const repo = join(dir, "repo");
	const home = join(dir, "home");
	const agent = join(dir, "agent");
	await mkdir(join(repo, ".git"), { recursive: true });
	await mkdir(join(repo, ".crew", "teams"), { recursive: true });
	await mkdir(join(home, "teams"), { recursive: true });
	await mkdir(agent, { recursive: true });
	await writeFile(join(agent, "trust.json"), JSON.stringify({ [await realpath(repo)]: true }));
	await writeFile(join(home, "config.yaml"), "# mine\nautonomy: aggressive # for the test\n");
	await writeFile(join(repo, ".crew", "config.yaml"), "concurrency: 2\nautonomy: 'suggested'\n");
	const teams: Record<string, string> = {
		plain: "description: Plain words, with commas # a comment\n",
		single: "description: 'It''s quoted'\n",
		block: "description: |\n  Two\n  lines\n",
		folded: "description: >\n  Folded\n  text\n",
		number: "description: 42\n",
		escaped: 'description: "Tab\\there"\n',
		crlf: 'description: "Saved on Windows"\r\nroles: []\r\n',
		broken: "description: [unclosed\n",
	};
	for (const [name, yaml] of Object.entries(teams))
		await writeFile(join(repo, ".crew", "teams", `${name}.team.md`), `---\nname: ${name}\n${yaml}---\nbody\n`);
	await writeFile(join(home, "teams", "mine.team.md"), '---\nname: mine\ndescription: "My own team"\n---\n');
	return { repo, home, agent };
}

test("the delegation policy's text is the one the YAML parser gives, for builtin, user and repository teams", async () => {
	const { repo, home, agent } = await policyBox();
	const saved = { home: process.env.PI_CREW_HOME, agent: process.env.PI_CODING_AGENT_DIR };
	process.env.PI_CREW_HOME = home;
	process.env.PI_CODING_AGENT_DIR = agent;
	try {
		const { policyFor } = await import("../../src/extension/policy.js");
		// The text as the parser reads every file (the policy before it had a light reader).
		const described = async (dir: string) =>
			Promise.all(
				(await readdir(dir))
					.filter((f) => f.endsWith(".team.md"))
					.sort()
					.map(async (f) => {
						const split = splitFrontmatter(await readFile(join(dir, f), "utf8"));
						const name = f.slice(0, -".team.md".length);
						return { name, description: parsed(split?.yaml ?? "", "description") ?? "", source: {} };
					}),
			);
		const builtin = await described(join(ROOT, "builtin", "teams"));
		const expected = delegationPolicy("suggested", [
			...builtin,
			...(await described(join(home, "teams"))),
			...(await described(join(repo, ".crew", "teams"))).map((t) => ({ ...t, source: { untrusted: false } })),
		]);
		assert.equal(await policyFor(repo), expected);
		assert.match(expected, /- block: Two lines \n/);
		assert.match(expected, /- number: \n/);
	} finally {
		process.env.PI_CREW_HOME = saved.home;
		process.env.PI_CODING_AGENT_DIR = saved.agent;
	}
});

test("reading the policy of the builtin teams and a plain config loads no YAML parser", async () => {
	const { repo, home, agent } = await policyBox();
	const policy = join(ROOT, "src", "extension", "policy.ts");
	const script = `const { policyFor } = await import(${JSON.stringify(policy)}); process.stdout.write(await policyFor(process.cwd()));`;
	// An untrusted repository: its teams are listed by name, so only the builtin and user teams are read.
	await writeFile(join(agent, "trust.json"), "{}");
	const run = await traced(
		process.execPath,
		["--import", import.meta.resolve("tsx"), "--input-type=module", "-e", script],
		repo,
		{ ...process.env, PI_CREW_HOME: home, PI_CODING_AGENT_DIR: agent },
	);
	assert.equal(run.code, 0, run.stderr);
	assert.match(run.stdout, /^## pi-crew delegation \(autonomy: suggested\)[\s\S]*- fast-fix: Find the bug/);
	assert.deepEqual(
		run.modules.filter((m) => m.includes("/node_modules/yaml/")),
		[],
		"the YAML parser is not loaded",
	);
});
