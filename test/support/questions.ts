/** Runs whose worker asks a question: a project agent with the `ask` tool, and what the tests read of them. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { cli, projectTeam, type Sandbox, SCRIPTED, waitForRunLog } from "./index.js";

/** The worker asks which API to keep (choices, a default), then answers with what it was told. */
export const ASKING = `default:
  - tool: ask
    args: { question: "Keep the v1 or the v2 API?", choices: [v1, v2], default: v1 }
  - say: "decided: {result}"
`;

/** A one-task team (`decide`) whose agent may ask, acting out `scenario`; the scenario file's path. */
export async function askingTeam(box: Sandbox, scenario = ASKING): Promise<string> {
	await box.write(
		".crew/agents/asker.md",
		"---\nname: asker\ndescription: decides, asking when it must\ntools: read, ask\n---\nYou decide.\n",
	);
	await projectTeam(box, "ask", [{ id: "decide", role: "asker" }]);
	return box.write("scenario.yaml", scenario);
}

/** Starts the asking team in the background (more `args`: the runtime, a timeout) once it asks: the run id. */
export async function askedRun(box: Sandbox, args: string[], scenario = ASKING): Promise<string> {
	const file = await askingTeam(box, scenario);
	const started = await cli(
		["run", "ask", "pick an API", "--model", SCRIPTED, "--scenario", file, "--background", ...args],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	await waitForRunLog(box, "the question", '"task.asked"');
	return started.stdout.trim();
}

/** The run's events of `type`, as its log holds them. */
export async function eventsOf(
	box: Sandbox,
	runId: string,
	type: string,
): Promise<{ taskId?: string; data: Record<string, unknown> }[]> {
	const log = await readFile(join(box.repo, ".crew", "runs", runId, "events.jsonl"), "utf8");
	return log
		.split("\n")
		.filter((l) => l.includes(`"${type}"`))
		.map((l) => JSON.parse(l) as { type: string; taskId?: string; data: Record<string, unknown> })
		.filter((e) => e.type === type);
}
