/** The `scaffold` runtime: no worker runs. The engine has already written each task's prompts; this records that. */
import type { TaskSpec, WorkerOutcome, WorkerRuntime } from "./runtime.js";

export class ScaffoldRuntime implements WorkerRuntime {
	readonly name = "scaffold";

	async run(spec: TaskSpec): Promise<WorkerOutcome> {
		return {
			kind: "succeeded",
			answer: `(scaffold) No worker ran. Prompt: ${spec.promptPath}\nSystem prompt: ${spec.systemPromptPath}`,
		};
	}
}
