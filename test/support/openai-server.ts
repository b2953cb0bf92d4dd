/** A small OpenAI-compatible model provider on 127.0.0.1, for behaviour that depends on real HTTP (keys, usage). */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Seen {
	authorization: string | undefined;
	model: string;
}

export interface ServerOptions {
	/** The first N completions fail with HTTP 429 (a rate limit), at once. */
	failFirst?: number;
	/** Each answer waits for this first (a test holds the model call while it looks at the run). */
	gate?: Promise<void>;
}

/**
 * Answers every chat completion with `answer`, streamed, and reports `usage` in the last chunk (after the failures
 * and the wait `options` ask for).
 */
export async function openAiServer(
	answer: string,
	usage: { prompt_tokens: number; completion_tokens: number },
	options: ServerOptions = {},
) {
	const seen: Seen[] = [];
	const server = createServer((req: IncomingMessage, res: ServerResponse) => {
		let body = "";
		req.on("data", (d) => {
			body += d;
		});
		req.on("end", async () => {
			if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
				res.writeHead(404).end();
				return;
			}
			const request = JSON.parse(body) as { model: string };
			seen.push({ authorization: req.headers.authorization, model: request.model });
			if (req.headers.authorization !== "Bearer gw-secret-0123456789abcdef") {
				res.writeHead(401, { "content-type": "application/json" });
				res.end(JSON.stringify({ error: { message: "bad key", type: "invalid_request_error" } }));
				return;
			}
			if (seen.length <= (options.failFirst ?? 0)) {
				res.writeHead(429, { "content-type": "application/json" });
				res.end(JSON.stringify({ error: { message: "Rate limit reached for requests", type: "rate_limit_exceeded" } }));
				return;
			}
			await options.gate;
			res.writeHead(200, { "content-type": "text/event-stream" });
			const chunk = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
			const base = { id: "c1", object: "chat.completion.chunk", created: 1, model: request.model };
			chunk({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: answer } }] });
			chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
			chunk({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
			res.end("data: [DONE]\n\n");
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return { port: (server.address() as AddressInfo).port, seen, close: () => server.close() };
}
