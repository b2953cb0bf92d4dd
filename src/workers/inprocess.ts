/**
 * The `inprocess` runtime: a task runs inside the coordinator's process through pi's SDK (its own session, tools,
 * model and cwd; no extensions). Milliseconds per task instead of a second, at the price of isolation: it suits short,
 * read-only roles. Same contract as the child runtime: the session's events are pi's JSON events, read by the same
 * PiStreamReader, and the signal or the timeout abort the session.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { loadSdk } from "../host.js";
import { PiStreamReader } from "./pi-stream.js";
import { StopRequest, type TaskSpec, type WorkerEvent, type WorkerOutcome, type WorkerRuntime } from "./runtime.js";

const SCRIPTED = "crew-scripted/";

export class InProcessRuntime implements WorkerRuntime {
	readonly name = "inprocess";

	canSteer(): boolean {
		return true;
	}

	async run(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void): Promise<WorkerOutcome> {
		const sdk = await loadSdk();
		const agentDir = process.env.PI_CODING_AGENT_DIR ?? join(homedir(), ".pi", "agent");
		const auth = sdk.AuthStorage.create(join(agentDir, "auth.json"));
		const registry = sdk.ModelRegistry.create(auth, join(agentDir, "models.json"));
		if (spec.model?.startsWith(SCRIPTED)) {
			const { scriptedProvider } = await import("../scripted/extension.js");
			const { loadScenario } = await import("../scripted/scenario.js");
			registry.registerProvider(
				"crew-scripted",
				scriptedProvider(spec.scenario ? await loadScenario(spec.scenario) : undefined),
			);
		}
		const [provider, id] = spec.model
			? [spec.model.slice(0, spec.model.indexOf("/")), spec.model.slice(spec.model.indexOf("/") + 1)]
			: [];
		const model = provider && id ? registry.find(provider, id) : undefined;
		if (spec.model && !model) return { ok: false, reason: `model "${spec.model}" not found`, retryable: false };
		const settings = sdk.SettingsManager.create(spec.cwd, agentDir);
		const loader = new sdk.DefaultResourceLoader({
			cwd: spec.cwd,
			agentDir,
			settingsManager: settings,
			noExtensions: true,
			appendSystemPrompt: [await readFile(spec.systemPromptPath, "utf8")],
		});
		await loader.reload();
		const { session } = await sdk.createAgentSession({
			cwd: spec.cwd,
			agentDir,
			authStorage: auth,
			modelRegistry: registry,
			...(model ? { model } : {}),
			...(spec.tools ? { tools: spec.tools } : {}),
			resourceLoader: loader,
			sessionManager: sdk.SessionManager.inMemory(spec.cwd),
			settingsManager: settings,
		});
		spec.steerable?.((message) => session.steer(message));
		const reader = new PiStreamReader();
		let stopped: { reason: string; stop?: StopRequest["kind"] } | undefined;
		const stop = (reason: string, kind?: StopRequest["kind"]) => {
			if (stopped) return;
			stopped = { reason, stop: kind };
			void session.abort();
		};
		const unsubscribe = session.subscribe((event) => {
			onEvent({ type: "activity" });
			for (const e of reader.push(JSON.stringify(event))) {
				if (e.type === "turn" && spec.maxTurns && reader.turns > spec.maxTurns)
					stop(`exceeded maxTurns (${spec.maxTurns}) of agent ${spec.agent}`);
				else if (e.type !== "turn") onEvent(e);
			}
		});
		const onAbort = () => {
			const why = signal.reason instanceof StopRequest ? signal.reason : new StopRequest("cancel", "cancelled");
			stop(why.message, why.kind);
		};
		signal.addEventListener("abort", onAbort, { once: true });
		if (signal.aborted) onAbort();
		const timer = setTimeout(() => stop(`timed out after ${Math.round(spec.timeoutMs / 1000)}s`), spec.timeoutMs);
		try {
			if (!stopped) await session.prompt(spec.prompt);
		} catch (err) {
			stopped ??= { reason: `in-process session failed: ${(err as Error).message}` };
		} finally {
			clearTimeout(timer);
			signal.removeEventListener("abort", onAbort);
			spec.steerable?.(undefined);
			unsubscribe();
			session.dispose();
		}
		return stopped ? { ok: false, ...stopped } : reader.outcome();
	}
}
