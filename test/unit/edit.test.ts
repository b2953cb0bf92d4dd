/** Editing resources: validated before writing, rolled back when they break something, builtins untouchable. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { deleteResource, writeResource } from "../../src/api/edit.js";
import { tempDir } from "../support/index.js";

// Created at the file's top level, where the cleanup it registers runs after the file's tests.
const dir = await tempDir("pi-crew-edit-");
const repo = join(dir, "repo");
await mkdir(join(repo, ".git"), { recursive: true });
process.env.PI_CREW_HOME = join(dir, "crew-home");

const agent = (name: string, extra = "") => `---\nname: ${name}\ndescription: d\n${extra}---\nDo the work.\n`;
const team = (name: string, agentName: string) =>
	`---\nname: ${name}\ndescription: d\nroles:\n  - name: r\n    agent: ${agentName}\ndefaultWorkflow: default\n---\n`;

test("create writes a valid resource once; update needs it to exist", async () => {
	const file = await writeResource({
		cwd: repo,
		kind: "agent",
		name: "helper",
		content: agent("helper"),
		scope: "project",
		mode: "create",
	});
	assert.equal(file, join(repo, ".crew/agents/helper.md"));
	await assert.rejects(
		writeResource({
			cwd: repo,
			kind: "agent",
			name: "helper",
			content: agent("helper"),
			scope: "project",
			mode: "create",
		}),
		/exists: use update/,
	);
	await assert.rejects(
		writeResource({
			cwd: repo,
			kind: "agent",
			name: "other",
			content: agent("other"),
			scope: "project",
			mode: "update",
		}),
		/does not exist: use create/,
	);
});

test("invalid content is refused before anything is written, with the line", async () => {
	await assert.rejects(
		writeResource({
			cwd: repo,
			kind: "agent",
			name: "broken",
			content: agent("broken", "tools: read, fly\n"),
			scope: "project",
			mode: "create",
		}),
		/broken\.md:4 \[tools\]: unknown tool "fly"/,
	);
	assert.equal(existsSync(join(repo, ".crew/agents/broken.md")), false);
	// pi-crew's own worker tools are tools an agent may name.
	await writeResource({
		cwd: repo,
		kind: "agent",
		name: "asker",
		content: agent("asker", "tools: read, ask, message\n"),
		scope: "project",
		mode: "create",
	});
	assert.equal(existsSync(join(repo, ".crew/agents/asker.md")), true);
});

test("a change that breaks a cross-reference or shadows a builtin is rolled back", async () => {
	await assert.rejects(
		writeResource({
			cwd: repo,
			kind: "team",
			name: "crew",
			content: team("crew", "ghost"),
			scope: "project",
			mode: "create",
		}),
		/was not saved:\n.*unknown agent "ghost"/,
	);
	assert.equal(existsSync(join(repo, ".crew/teams/crew.team.md")), false);
	await assert.rejects(
		writeResource({
			cwd: repo,
			kind: "agent",
			name: "executor",
			content: agent("executor"),
			scope: "project",
			mode: "create",
		}),
		/was not saved:\n.*would shadow the builtin agent "executor"/,
	);
	const ok = team("crew", "helper");
	await writeResource({ cwd: repo, kind: "team", name: "crew", content: ok, scope: "project", mode: "create" });
	await assert.rejects(
		writeResource({
			cwd: repo,
			kind: "team",
			name: "crew",
			content: team("crew", "nobody"),
			scope: "project",
			mode: "update",
		}),
		/unknown agent "nobody"/,
	);
	assert.equal(await readFile(join(repo, ".crew/teams/crew.team.md"), "utf8"), ok, "the previous version is back");
});

test("delete refuses an agent a team uses, and removes what nothing needs", async () => {
	await assert.rejects(deleteResource(repo, "agent", "helper", "project"), /used by team crew: change those first/);
	await deleteResource(repo, "team", "crew", "project");
	await deleteResource(repo, "agent", "helper", "project");
	assert.equal(existsSync(join(repo, ".crew/agents/helper.md")), false);
	await assert.rejects(deleteResource(repo, "agent", "helper", "project"), /does not exist/);
	await assert.rejects(deleteResource(repo, "agent", "../../etc/passwd", "project"), /invalid agent name/);
});

test("symlinks are refused: an edit through one, and a repository resource that is one", async () => {
	const { symlink, writeFile } = await import("node:fs/promises");
	const outside = join(repo, "..", "outside.md");
	await writeFile(outside, "not pi-crew's to touch\n");
	await mkdir(join(repo, ".crew/agents"), { recursive: true });
	await symlink(outside, join(repo, ".crew/agents/notes.md"));
	await assert.rejects(
		writeResource({
			cwd: repo,
			kind: "agent",
			name: "notes",
			content: agent("notes"),
			scope: "project",
			mode: "update",
		}),
		/notes\.md: pi-crew paths may not be symlinks/,
	);
	assert.equal(await readFile(outside, "utf8"), "not pi-crew's to touch\n");
	const { validateResources } = await import("../../src/api/index.js");
	const { problems } = await validateResources(repo);
	assert.ok(
		problems.some(
			(p) => p.file.endsWith("notes.md") && /ignored: a repository's resource may not be a symlink/.test(p.message),
		),
	);
});

test("setting a config field keeps a comments-only file's comments; tool arguments keep a meaningful false", async () => {
	const { setConfigValue } = await import("../../src/config/config.js");
	const { writeFile } = await import("node:fs/promises");
	const home = join(repo, "..", "home-for-config");
	await mkdir(home, { recursive: true });
	await writeFile(join(home, "config.yaml"), "# mine\n# keep me\n");
	await setConfigValue("autonomy", "manual", home);
	assert.equal(await readFile(join(home, "config.yaml"), "utf8"), "# mine\n# keep me\nautonomy: manual\n");
	const { dropUnset } = await import("../../src/util/tool-args.js");
	assert.deepEqual(dropUnset({ runId: " r1 ", wait: false, timeoutSeconds: 0, model: null, goal: "" }, ["wait"]), {
		runId: "r1",
		wait: false,
	});
});
