/** The `scaffold` runtime: no worker runs. The engine has already written each task's prompts; this records that. */
import type { TaskSpec, WorkerOutcome, WorkerRuntime } from "./runtime.js";

export class ScaffoldRuntime implements WorkerRuntime {
	readonly name = "scaffold";

	async run(spec: TaskSpec): Promise<WorkerOutcome> {
		// A judge with nothing to judge finds it clean: a workflow's loop ends in its first round, as a dry run should.
		if (spec.crew?.tools.includes("verdict"))
			await spec.crew.request({
				type: "verdict",
				clean: true,
				findings: "(scaffold) no worker ran, nothing was judged",
			});
		return {
			kind: "succeeded",
			answer: `(scaffold) No worker ran. Prompt: ${spec.promptPath}\nSystem prompt: ${spec.systemPromptPath}`,
		};
	}
}
