/**
 * pi-crew's own worker tools, `ask` (a question to a person), `message` (a word to another task or the user) and
 * `verdict` (a judgement of the work under review), and how a call reaches the run. Registered inactive: a worker has one only when its agent's `tools` name it (pi's
 * `--tools`, or the SDK session's `tools`, activate it).
 * - A child worker (guard-extension.ts) has no way to the coordinator but its stdio: a call is a dialog of pi's RPC
 *   extension-UI subprotocol, `ctx.ui.input(CREW_REQUEST, <the request as JSON>)`, which the coordinator's
 *   RpcChannel recognizes by its title and answers with `{value: <a CrewReply as JSON>}`.
 * - An in-process worker (inprocess.ts) calls the run directly.
 * The parameters are plain JSON Schema, typed by TypeBox's inference: importing TypeBox costs pi's start ~140 ms.
 */
import type { XStatic } from "typebox/schema";
import type { ExtensionAPI, ExtensionContext } from "../host.js";
import { dropUnset } from "../util/tool-args.js";
import type { WorkerRequest } from "./runtime.js";

/** The title of the dialog that carries a crew tool's call from a child worker; any other dialog is dismissed. */
export const CREW_REQUEST = "pi-crew:request";

/** The answer to a request carried by a dialog: the tool's result, or why there is none (the tool's error). */
export type CrewReply = { answer: string } | { error: string };

/** Who answers a call: resolves to the tool's result; a rejection is the tool's error, its message for the model. */
export type CrewSend = (request: WorkerRequest, ctx: ExtensionContext) => Promise<string>;

const AskParams = {
	type: "object",
	properties: {
		question: {
			type: "string",
			description: "the question, complete on its own: the person answering has not read your conversation",
		},
		choices: {
			type: "array",
			items: { type: "string" },
			description: "the possible answers, when the question has a few (the answer is one of them)",
		},
		default: {
			type: "string",
			description: "the answer to take when nobody can answer (an unattended run); one of choices, if any",
		},
	},
	required: ["question"],
} as const;

const MessageParams = {
	type: "object",
	properties: {
		to: { type: "string", description: "a task id of this run, or `lead` for the person running it" },
		text: { type: "string", description: "the message, complete on its own" },
	},
	required: ["to", "text"],
} as const;

const VerdictParams = {
	type: "object",
	properties: {
		clean: {
			type: "boolean",
			description: "true when the work needs nothing more; false when it must go back to be fixed",
		},
		findings: {
			type: "string",
			description:
				"what is wrong and where (file, line, the failing check), complete on its own: whoever fixes it reads only this",
		},
	},
	required: ["clean", "findings"],
} as const;

/** Registers the crew tools, inactive; `send` answers their calls. */
export function registerCrewTools(pi: ExtensionAPI, send: CrewSend): void {
	pi.registerTool({
		name: "ask",
		label: "Ask",
		description:
			"Ask the person running this team a question and wait for the answer (minutes or hours: your time limit " +
			"does not run meanwhile). Returns the answer as text.",
		promptSnippet: "Ask the person running the team a question and wait for the answer",
		promptGuidelines: [
			"Use ask only for a decision you cannot make from the task, the repository or your tools (which of two APIs to keep, whether data may be dropped); otherwise decide and say why in your answer.",
			"With ask, give choices when the answer is one of a few, and a default: the answer taken when nobody can answer.",
		],
		defaultActive: false,
		// Alone in its turn: pi would run a sibling call (a long bash) meanwhile, its time paused with the question's.
		executionMode: "sequential",
		parameters: AskParams,
		prepareArguments: (args) => dropUnset<XStatic<typeof AskParams>>(args),
		async execute(_id, params, signal, _onUpdate, ctx) {
			const choices = params.choices?.filter((c) => c.trim());
			const request: WorkerRequest = {
				type: "ask",
				text: params.question,
				...(choices?.length ? { choices } : {}),
				...(params.default ? { default: params.default } : {}),
			};
			return text(await untilAborted(send(request, ctx), signal));
		},
	});
	pi.registerTool({
		name: "message",
		label: "Message",
		description:
			"Send a message to another task of this team (by its task id: delivered to its worker, or into its prompt " +
			"if it has not started) or to `lead` (the person running the team: needs no answer). Does not wait for a reply.",
		promptSnippet: "Send a message to another task of the team, or to the lead",
		promptGuidelines: [
			"Use message to tell another task what it needs from your work (a finding, a changed interface); use ask, not message, when you need an answer.",
		],
		defaultActive: false,
		executionMode: "sequential",
		parameters: MessageParams,
		prepareArguments: (args) => dropUnset<XStatic<typeof MessageParams>>(args),
		async execute(_id, params, signal, _onUpdate, ctx) {
			return text(await untilAborted(send({ type: "message", to: params.to, text: params.text }, ctx), signal));
		},
	});
	pi.registerTool({
		name: "verdict",
		label: "Verdict",
		description:
			"Give your verdict on the work you were asked to check: clean (nothing more to do) or not, with the findings. " +
			"A verdict that is not clean sends the work back to be fixed with your findings. Your last call stands.",
		promptSnippet: "Give a structured verdict (clean or not, with findings) on the work you checked",
		promptGuidelines: [
			"Call verdict once you have checked the work, before your final answer: clean only when every check you ran passed and nothing the task asked for is missing.",
			"With verdict, make findings specific (file, line, the failing command and its error) so that the fix needs nothing else.",
		],
		defaultActive: false,
		executionMode: "sequential",
		parameters: VerdictParams,
		async execute(_id, params, signal, _onUpdate, ctx) {
			const request: WorkerRequest = { type: "verdict", clean: params.clean, findings: params.findings };
			return text(await untilAborted(send(request, ctx), signal));
		},
	});
}

/** A child worker's way to the run: the request as a dialog over pi's RPC stdio (see the module's header). */
export const sendOverRpc: CrewSend = async (request, ctx) => {
	const value = await ctx.ui.input(CREW_REQUEST, JSON.stringify(request));
	const reply = value === undefined ? undefined : parseReply(value);
	if (!reply) throw new Error("pi-crew did not answer: this worker is not connected to a run that takes requests");
	if ("error" in reply) throw new Error(reply.error);
	return reply.answer;
};

function parseReply(value: string): CrewReply | undefined {
	try {
		const reply = JSON.parse(value) as Partial<{ answer: unknown; error: unknown }>;
		if (typeof reply.answer === "string") return { answer: reply.answer };
		if (typeof reply.error === "string") return { error: reply.error };
	} catch {
		// not ours
	}
	return undefined;
}

/**
 * A request as a child worker sent it (the dialog's placeholder), or undefined when it is not one. Only its shape is
 * checked here; the run checks its sizes and targets.
 */
export function parseRequest(text: unknown): WorkerRequest | undefined {
	if (typeof text !== "string") return undefined;
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		return undefined;
	}
	// Written by the worker (or anything it runs): `null`, a number or a list is no request.
	if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
	const r = parsed as Record<string, unknown>;
	const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
	if (r.type === "ask" && typeof r.text === "string") {
		if (r.choices !== undefined && !strings(r.choices)) return undefined;
		if (r.default !== undefined && typeof r.default !== "string") return undefined;
		return {
			type: "ask",
			text: r.text,
			...(r.choices ? { choices: r.choices as string[] } : {}),
			...(r.default !== undefined ? { default: r.default as string } : {}),
		};
	}
	if (r.type === "message" && typeof r.to === "string" && typeof r.text === "string")
		return { type: "message", to: r.to, text: r.text };
	if (r.type === "verdict" && typeof r.clean === "boolean" && typeof r.findings === "string")
		return { type: "verdict", clean: r.clean, findings: r.findings };
	return undefined;
}

/** A call's reply, or its end when the worker is stopped (a cancel, a timeout): a stopped worker waits for no one. */
function untilAborted(reply: Promise<string>, signal: AbortSignal | undefined): Promise<string> {
	if (!signal) return reply;
	return new Promise((resolve, reject) => {
		const onAbort = () => reject(new Error("the worker was stopped"));
		if (signal.aborted) onAbort();
		signal.addEventListener("abort", onAbort, { once: true });
		reply.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
	});
}

function text(value: string) {
	return { content: [{ type: "text" as const, text: value }], details: {} };
}
