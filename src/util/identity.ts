/**
 * How a worker learns who it is. The engine writes these markers into the worker's prompts; the scripted model (and
 * any tooling) reads them back. One module so the format cannot drift between writer and reader.
 */

const MARKER =
	/You are the "([a-z0-9][a-z0-9-]*)" agent of a pi-crew team, working on task "([A-Za-z0-9._-]+)" \(attempt (\d+)\)/;

export interface Identity {
	agent: string;
	taskId: string;
	attempt: number;
}

/** First line of every worker's appended system prompt. */
export function identityLine({ agent, taskId, attempt }: Identity): string {
	return `You are the "${agent}" agent of a pi-crew team, working on task "${taskId}" (attempt ${attempt}).`;
}

export function parseIdentity(systemPrompt: string | undefined): Identity | undefined {
	const match = systemPrompt ? MARKER.exec(systemPrompt) : null;
	return match?.[1] && match[2] ? { agent: match[1], taskId: match[2], attempt: Number(match[3]) } : undefined;
}

const GOAL_HEADING = "## Goal";

export function goalSection(goal: string): string {
	return `${GOAL_HEADING}\n\n${goal.trim()}\n`;
}

/** The goal from a task prompt built by the engine; a prompt without a goal section is all goal. */
export function parseGoal(prompt: string): string {
	const start = prompt.indexOf(`${GOAL_HEADING}\n`);
	if (start < 0) return prompt.trim();
	const body = prompt.slice(start + GOAL_HEADING.length + 1);
	const end = body.search(/\n## /);
	return (end < 0 ? body : body.slice(0, end)).trim();
}

/** What a worker writes to stderr while a tool runs without output, so the coordinator sees it is alive. */
export const HEARTBEAT_LINE = "pi-crew: heartbeat";

/** What a worker writes to stderr first: the pi version and entry it runs on. */
export const WORKER_PI_LINE = "pi-crew: worker on pi";
