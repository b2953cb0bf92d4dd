/**
 * A real model provider over HTTP: a small OpenAI-compatible server on 127.0.0.1, configured the way pi documents
 * custom providers (`models.json`, a key in an environment variable of the user's choosing). The workers are real pi
 * children; what the server saw and what the run recorded are compared.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { projectTeam, runJson, sandbox, task } from "../support/index.js";
import { openAiServer } from "../support/openai-server.js";

test("a team on a custom provider over HTTP: its key from a variable of any name, the answers, the usage it reported", async () => {
	const box = await sandbox();
	const server = await openAiServer("ANSWER-42 from the gateway", { prompt_tokens: 1234, completion_tokens: 56 });
	try {
		await box.write(
			"../pi-agent/models.json",
			JSON.stringify({
				providers: {
					gw: {
						baseUrl: `http://127.0.0.1:${server.port}/v1`,
						api: "openai-completions",
						apiKey: "$MY_GATEWAY_TOKEN",
						models: [{ id: "m1", contextWindow: 200_000, maxTokens: 4096 }],
					},
				},
			}),
		);
		await box.write("../pi-agent/settings.json", JSON.stringify({ retry: { enabled: false } }));
		await projectTeam(box, "ask", [
			{ id: "first", role: "explorer" },
			{ id: "second", role: "writer", dependsOn: ["first"] },
		]);
		const env = { ...box.env, MY_GATEWAY_TOKEN: "gw-secret-0123456789abcdef" };
		const { code, json, stderr } = await runJson(["ask", "what does the gateway say", "--model", "gw/m1"], {
			...box,
			env,
		});
		assert.equal(code, 0, stderr);
		assert.equal(json.status, "succeeded");
		for (const id of ["first", "second"]) {
			const result = await readFile(join(json.runDir, "artifacts", "tasks", id, "result.md"), "utf8");
			assert.equal(result.trim(), "ANSWER-42 from the gateway");
			const usage = (task(json, id) as unknown as { usage: { input: number; output: number; total: number } }).usage;
			assert.deepEqual([usage.input, usage.output, usage.total], [1234, 56, 1290], "what the server reported");
		}
		// Each worker called the server once, with the key from the variable the user's models.json names.
		assert.deepEqual(
			server.seen.map((s) => [s.model, s.authorization]),
			[
				["m1", "Bearer gw-secret-0123456789abcdef"],
				["m1", "Bearer gw-secret-0123456789abcdef"],
			],
		);
		const run = json as unknown as { usage: { total: number } };
		assert.equal(run.usage.total, 2 * 1290);
		// The key itself is nowhere in what the run wrote.
		for (const rel of (await readdir(json.runDir, { recursive: true })) as string[]) {
			const text = await readFile(join(json.runDir, rel), "utf8").catch(() => "");
			assert.ok(!text.includes("gw-secret-0123456789abcdef"), `${rel} holds the key`);
		}
	} finally {
		server.close();
	}
});
