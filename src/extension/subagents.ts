/**
 * Subagent tools: `Agent` starts one agent on a prompt (a single-task run, so it shows in status and lists and can be
 * cancelled and resumed like any run), `get_subagent_result` waits for or polls its answer.
 */
import type { XStatic } from "typebox/schema";
import type { ExtensionAPI } from "../host.js";
import { dropUnset } from "../util/tool-args.js";
import { lazy } from "./lazy.js";
import type { Starter } from "./wake.js";

function text(value: string, details: unknown = {}) {
	return { content: [{ type: "text" as const, text: value }], details };
}

// Plain JSON Schema typed by inference, as in team-tool.ts: no TypeBox at pi's start.
const AgentParams = {
	type: "object",
	properties: {
		agent: {
			type: "string",
			description: "the agent to start (see the team tool's get action; e.g. explorer, executor)",
		},
		prompt: { type: "string", description: "what the agent should do" },
		background: {
			type: "boolean",
			description: "return at once with the run id; collect the answer with get_subagent_result",
		},
		model: { type: "string", description: "the agent's model (provider/id)" },
	},
	required: ["agent", "prompt"],
} as const;

const ResultParams = {
	type: "object",
	properties: {
		runId: { type: "string", description: "the run id the Agent tool returned" },
		wait: { type: "boolean", description: "wait for the answer (default true); false: report status now" },
		timeoutSeconds: {
			type: "number",
			minimum: 1,
			maximum: 3600,
			description: "how long to wait at most, 1-3600 (default 600)",
		},
	},
	required: ["runId"],
} as const;

const SteerParams = {
	type: "object",
	properties: {
		runId: { type: "string", description: "the run id the Agent tool returned" },
		message: { type: "string", description: "what to tell the running agent (it reads it before its next step)" },
	},
	required: ["runId", "message"],
} as const;

export function registerSubagentTools(
	pi: ExtensionAPI,
	hooks: { runStarted(runId: string, since?: string, background?: Starter): void },
): void {
	pi.registerTool({
		name: "steer_subagent",
		label: "Steer subagent",
		description:
			"Send a message to a running agent started with the Agent tool; it reads it before its next step " +
			"(in-process agents and child pi processes alike).",
		parameters: SteerParams,
		prepareArguments: (args) => dropUnset<XStatic<typeof SteerParams>>(args),
		async execute(_id, params, _signal, _onUpdate, ctx) {
			await (await lazy.autonomy()).assertAllowed(ctx.cwd, "steer agents");
			const result = await (await lazy.lifecycle()).steer(ctx.cwd, params.runId, params.message);
			if (!result.delivered) throw new Error(`not delivered to run ${params.runId}: ${result.reason}`);
			return text(`delivered to ${result.taskId} of run ${params.runId}`, result);
		},
	});

	pi.registerTool({
		name: "Agent",
		label: "Agent",
		description:
			"Start one pi-crew agent (a worker with its own role prompt and tools) on a prompt and get its answer. " +
			"With background: true it returns a run id at once; use get_subagent_result for the answer.",
		parameters: AgentParams,
		prepareArguments: (args) => dropUnset<XStatic<typeof AgentParams>>(args),
		async execute(_id, params, signal, onUpdate, ctx) {
			const api = await lazy.api();
			try {
				await (await lazy.autonomy()).assertAllowed(ctx.cwd, "start agents");
				const { progressLine } = await lazy.render();
				let tracked = false;
				const view = await api.runAgent({
					cwd: ctx.cwd,
					agent: params.agent,
					goal: params.prompt,
					model: params.model,
					sessionModel: ctx.model ? `${ctx.model.provider}/${ctx.model.id}` : undefined,
					background: params.background === true,
					signal,
					onEvent: (event, state) => {
						if (!tracked) hooks.runStarted(event.runId);
						tracked = true;
						const line = progressLine(event, state);
						if (line) onUpdate?.(text(line));
					},
				});
				const runId = view.state.runId;
				if (params.background) hooks.runStarted(runId, undefined, "agent");
				if (params.background)
					return text(`started ${params.agent} as run ${runId}; get its answer with get_subagent_result`, { runId });
				return text(`${await api.runAnswer(view)}\n\n(run ${runId})`, api.runJson(view));
			} catch (err) {
				throw new Error(`Agent failed: ${(err as Error).message}`);
			}
		},
	});

	pi.registerTool({
		name: "get_subagent_result",
		label: "Subagent result",
		description: "The answer of an agent started with the Agent tool: waits for it by default.",
		parameters: ResultParams,
		prepareArguments: (args) => dropUnset<XStatic<typeof ResultParams>>(args, ["wait"]),
		async execute(_id, params, signal, _onUpdate, ctx) {
			const api = await lazy.api();
			try {
				let view = await api.runStatus(ctx.cwd, params.runId);
				if (params.wait !== false && (view.status === "running" || view.status === "pending")) {
					const timeout = AbortSignal.timeout(Math.min(3600, Math.max(1, params.timeoutSeconds ?? 600)) * 1000);
					const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
					view = await (await lazy.lifecycle()).follow(ctx.cwd, params.runId, () => undefined, stop);
				}
				return text(await api.runAnswer(view), api.runJson(view));
			} catch (err) {
				throw new Error(`get_subagent_result failed: ${(err as Error).message}`);
			}
		},
	});
}
