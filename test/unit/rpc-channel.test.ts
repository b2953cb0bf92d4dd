/** The coordinator's side of a child worker's stdio: lines a worker forges are never a crash, nor a flood. */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { attemptRequests } from "../../src/engine/requests.js";
import { CREW_REQUEST } from "../../src/workers/crew-tools.js";
import { RpcChannel } from "../../src/workers/rpc-channel.js";
import type { WorkerRequest } from "../../src/workers/runtime.js";

/** A channel over a pipe, what it writes to the worker, and a dialog line as pi would print it. */
function channel(answer?: (request: WorkerRequest) => Promise<string>) {
	const stdin = new PassThrough();
	const written: Record<string, unknown>[] = [];
	stdin.on("data", (chunk: Buffer) => {
		for (const line of chunk.toString().split("\n").filter(Boolean)) written.push(JSON.parse(line));
	});
	const dialog = (id: string, placeholder: string) =>
		JSON.stringify({ type: "extension_ui_request", id, method: "input", title: CREW_REQUEST, placeholder });
	const rpc = new RpcChannel(stdin);
	rpc.answer = answer;
	return { rpc, written, dialog };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

test("a forged dialog whose request is null, a number or a list is refused, not a crash", async () => {
	const { rpc, written, dialog } = channel(async () => "never");
	for (const [i, placeholder] of ["null", "7", "[]", '"ask"'].entries())
		assert.equal(rpc.take(dialog(`d${i}`, placeholder)), true);
	await settled();
	assert.deepEqual(
		written.map((w) => [w.id, JSON.parse(w.value as string)]),
		["d0", "d1", "d2", "d3"].map((id) => [id, { error: "pi-crew could not read the request" }]),
	);
});

test("a worker has one crew request open at a time: a second one forged meanwhile is refused", async () => {
	let release: (answer: string) => void = () => {};
	const asked: WorkerRequest[] = [];
	const { rpc, written, dialog } = channel(
		(request) =>
			new Promise((resolve) => {
				asked.push(request);
				release = resolve;
			}),
	);
	const ask = JSON.stringify({ type: "ask", text: "Keep v1?" });
	rpc.take(dialog("a", ask));
	rpc.take(dialog("b", ask));
	await settled();
	assert.equal(asked.length, 1);
	assert.deepEqual(
		written.map((w) => [w.id, JSON.parse(w.value as string)]),
		[["b", { error: "another request of this worker is still open: pi-crew takes one at a time" }]],
	);
	release("yes");
	await settled();
	rpc.take(dialog("c", ask));
	await settled();
	assert.equal(asked.length, 2, "once answered, the next request is taken");
	assert.deepEqual(written.at(1), { type: "extension_ui_response", id: "a", value: JSON.stringify({ answer: "yes" }) });
});

test("a forged call of a crew tool the worker's agent lacks is refused before it reaches the run", async () => {
	const reached: WorkerRequest[] = [];
	const { rpc, written, dialog } = channel(
		attemptRequests(["message"], async (request) => {
			reached.push(request);
			return "sent";
		}),
	);
	rpc.take(dialog("a", JSON.stringify({ type: "ask", text: "May I?" })));
	await settled();
	assert.deepEqual(reached, []);
	assert.deepEqual(JSON.parse(written[0]?.value as string), {
		error: "this worker has no ask tool: its agent's tools do not name it",
	});
});
