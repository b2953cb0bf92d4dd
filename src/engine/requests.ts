/** What one attempt's worker may ask of its run: only the crew tools its agent has, each a bounded number of times. */
import type { CrewToolName, WorkerRequest } from "../workers/runtime.js";

/**
 * Calls of each crew tool one attempt may make: plenty for real work, while a looping worker cannot flood the person
 * running the team (each question waits for them, each message to `lead` is a notice, each to a task a paid turn).
 */
export const REQUEST_LIMITS: Readonly<Record<CrewToolName, number>> = { ask: 10, message: 20, verdict: 5 };

/**
 * `handle` behind the attempt's gate. A child worker's request arrives as a dialog that anything it runs can forge,
 * so the gate checks the tool itself: a worker whose agent lacks `ask` cannot ask through a forged one.
 */
export function attemptRequests(
	tools: readonly CrewToolName[],
	handle: (request: WorkerRequest) => Promise<string>,
): (request: WorkerRequest) => Promise<string> {
	const made: Record<CrewToolName, number> = { ask: 0, message: 0, verdict: 0 };
	return async (request) => {
		if (!tools.includes(request.type))
			throw new Error(`this worker has no ${request.type} tool: its agent's tools do not name it`);
		const limit = REQUEST_LIMITS[request.type];
		if (made[request.type] >= limit)
			throw new Error(
				`this attempt has made its ${limit} ${request.type} calls, the most one may: go on without, and say in your answer what is left to ${request.type === "ask" ? "decide" : request.type === "message" ? "tell" : "judge"}`,
			);
		made[request.type]++;
		return handle(request);
	};
}
