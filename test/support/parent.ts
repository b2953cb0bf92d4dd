/** A pi session in RPC mode driven by a test as a client would: commands in, every event and UI request out. */
import type { TestContext } from "node:test";
import { type Sandbox, spawnPi, waitFor } from "./index.js";

/** One line pi wrote: an event (`message_end`, `agent_end`...), a response, or an extension UI request. */
export type RpcLine = Record<string, unknown> & { type: string };

export interface RpcMessage {
	role: string;
	customType?: string;
	content: string | { type: string; text?: string }[];
	details?: Record<string, unknown>;
}

/** The text of a message of a `message_end` event, whatever its content's shape. */
export function messageText(m: RpcMessage): string {
	return typeof m.content === "string" ? m.content : m.content.map((c) => c.text ?? "").join("");
}

/**
 * A scripted pi session (pi-crew loaded, and what `piArgs` adds) in RPC mode, on `env` (e.g. `PI_CREW_SCENARIO` for
 * its model); quit after the test.
 */
export function rpcSession(t: TestContext, box: Sandbox, env: NodeJS.ProcessEnv = box.env, piArgs: string[] = []) {
	const child = spawnPi(["--mode", "rpc", ...piArgs], box, env);
	const lines: RpcLine[] = [];
	let buffer = "";
	child.stdout.on("data", (d) => {
		buffer += d;
		const parts = buffer.split("\n");
		buffer = parts.pop() ?? "";
		for (const part of parts) {
			try {
				lines.push(JSON.parse(part) as RpcLine);
			} catch {
				// not a protocol line
			}
		}
	});
	const closed = new Promise((resolve) => child.on("close", resolve));
	t.after(async () => {
		child.stdin.end();
		await closed;
	});
	let ids = 0;
	return {
		lines,
		/** Sends a command (`{type: "prompt", message}`, `{type: "compact"}`...); resolves with pi's response to it. */
		send: (command: Record<string, unknown>, timeoutMs = 120_000) => {
			const id = `t${++ids}`;
			child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
			return waitFor(
				`pi's response to ${String(command.type)}`,
				async () => lines.find((l) => l.type === "response" && l.id === id),
				timeoutMs,
			);
		},
		/** The messages pi ended so far (`message_end` events), oldest first. */
		messages: () => lines.filter((l) => l.type === "message_end").map((l) => l.message as RpcMessage),
		/** The texts of pi's notifications so far. */
		notices: () => lines.filter((l) => l.method === "notify").map((l) => String(l.message)),
		until: <T>(what: string, check: () => T | undefined, timeoutMs = 120_000) =>
			waitFor(what, async () => check(), timeoutMs),
	};
}
