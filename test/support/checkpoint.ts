/**
 * Logs with checkpoints for the checkpoint tests and the views benchmark: a log written through the real writer,
 * folded and checkpointed as the coordinator does it (engine/coordinator.ts). No test-runner imports here.
 */
import { Checkpoints } from "../../src/store/checkpoint.js";
import type { EventLogWriter } from "../../src/store/event-log.js";
import type { CrewEvent, RunState } from "../../src/store/events.js";
import { applyEvent } from "../../src/store/fold.js";
import { runPaths } from "../../src/store/run-store.js";

/** Folds `log`'s durable events and takes checkpoints of them every `every` events, as a coordinator does. */
export async function checkpointed(
	repo: string,
	log: EventLogWriter,
	every?: number,
): Promise<{ state: () => RunState; checkpoints: Checkpoints }> {
	let state: RunState | undefined;
	log.subscribe((e: CrewEvent) => {
		state = applyEvent(state, e);
	});
	const get = () => state as RunState;
	const checkpoints = await Checkpoints.start(log, runPaths(repo, log.runId), get, every);
	if (!checkpoints) throw new Error("no checkpoints: there is no crew key");
	return { state: get, checkpoints };
}
