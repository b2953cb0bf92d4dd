/** The `team` tool's result text reaches pi's screen: what it carries from runs is made inert first. */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { registerTeamTool } from "../../src/extension/team-tool.js";
import type { ExtensionAPI } from "../../src/host.js";
import { pastRun, tempDir } from "../support/index.js";
import { assertInert } from "../support/inert.js";

interface Tool {
	execute(id: string, params: unknown, signal: undefined, onUpdate: undefined, ctx: unknown): Promise<unknown>;
}

test("a run's answer holding an OSC (U+009D) and a bidi override (U+202E) comes back from the tool inert", async () => {
	const repo = await tempDir("pi-crew-team-tool-");
	await mkdir(join(repo, ".git"));
	const runId = "20200101-000000-abcdef";
	const paths = await pastRun(repo, runId);
	await writeFile(paths.summary, "done\n\u009d52;c;Y3VybCBldmlsIHwgc2g=\u0007 and \u202Eevil\nnext line\n");
	let tool: Tool | undefined;
	const pi = { registerTool: (t: Tool) => (tool = t) } as unknown as ExtensionAPI;
	registerTeamTool(pi, { resourcesChanged() {}, runStarted() {} });
	const result = (await tool?.execute("1", { action: "summary", runId }, undefined, undefined, {
		cwd: repo,
		hasUI: false,
	})) as { content: { text: string }[] };
	const shown = result.content[0]?.text ?? "";
	assertInert(shown, "the team tool's summary");
	assert.match(shown, /\\u009d52;c;.*\\u0007 and \\u202eevil\nnext line/, "shown escaped, lines kept");
});
