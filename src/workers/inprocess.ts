/**
 * The `inprocess` runtime: a task runs inside the coordinator's process through pi's SDK (its own session, tools,
 * model and cwd; no extensions but pi-crew's path wall). Milliseconds per task instead of a second, at the price of
 * isolation: it suits short, read-only roles, and runs writing ones only while the sandbox is off (see auto.ts).
 * Same contract as the child runtime: the session's events are pi's JSON events, read by the same PiStreamReader,
 * and the signal or the timeout abort the session.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { piAgentDir } from "../config/home.js";
import { type ExtensionAPI, loadSdk } from "../host.js";
import { isScripted } from "../scripted/scenario.js";
import { fenceRepositoryContext, repositoryRoots } from "./context-fence.js";
import { registerCrewTools } from "./crew-tools.js";
import { guardFileTools, guardRoots } from "./path-guard.js";
import { PiStreamReader } from "./pi-stream.js";
import {
	failure,
	reviewAnswer,
	StopRequest,
	stopped,
	type TaskSpec,
	type WorkerChannel,
	type WorkerEvent,
	type WorkerFailure,
	type WorkerOutcome,
	type WorkerRuntime,
} from "./runtime.js";
import { TaskTimer } from "./task-timer.js";
import { workerEnv } from "./worker-env.js";

type Sdk = Awaited<ReturnType<typeof loadSdk>>;
type ThinkingLevel = NonNullable<NonNullable<Parameters<Sdk["createAgentSession"]>[0]>["thinkingLevel"]>;
type ModelRuntime = Awaited<ReturnType<Sdk["ModelRuntime"]["create"]>>;

/** One model runtime per agent dir and scenario in this process: creating one per task cost ~30 ms. */
const runtimes = new Map<string, Promise<ModelRuntime>>();

function modelRuntime(sdk: Sdk, agentDir: string, scenario: string | undefined): Promise<ModelRuntime> {
	const key = JSON.stringify([agentDir, scenario]);
	let runtime = runtimes.get(key);
	if (!runtime) {
		runtime = (async () => {
			const created = await sdk.ModelRuntime.create({
				authPath: join(agentDir, "auth.json"),
				modelsPath: join(agentDir, "models.json"),
			});
			if (scenario !== undefined) {
				const { scriptedProvider } = await import("../scripted/extension.js");
				const { loadScenario } = await import("../scripted/scenario.js");
				created.registerNativeProvider(await scriptedProvider(scenario ? await loadScenario(scenario) : undefined));
			}
			return created;
		})();
		runtimes.set(key, runtime);
		runtime.catch(() => runtimes.delete(key));
	}
	return runtime;
}

interface Place {
	roots: ReturnType<typeof guardRoots>;
	repositoryDirs: Promise<string[]>;
}

export class InProcessRuntime implements WorkerRuntime {
	readonly name = "inprocess";
	/**
	 * Where tasks work, by [repo, cwd, trust], asked of git once per place: a run's tasks share it, and two git
	 * processes per task (forked from a coordinator whose heap grows with the run) cost more than the task itself.
	 */
	private readonly places = new Map<string, Place>();

	/** @param allowEnv variables workers get besides the essentials and their model's credentials (config `env.allow`) */
	constructor(private readonly allowEnv: readonly string[] = []) {}

	async run(spec: TaskSpec, signal: AbortSignal, onEvent: (event: WorkerEvent) => void): Promise<WorkerOutcome> {
		const sdk = await loadSdk();
		const agentDir = piAgentDir();
		const runtime = await modelRuntime(sdk, agentDir, isScripted(spec.model) ? (spec.scenario ?? "") : undefined);
		const [provider, id] = spec.model
			? [spec.model.slice(0, spec.model.indexOf("/")), spec.model.slice(spec.model.indexOf("/") + 1)]
			: [];
		const model = provider && id ? runtime.getModel(provider, id) : undefined;
		if (spec.model && !model) return failure("spawn_failed", `model "${spec.model}" not found`);
		// The run's trust decision, as for a child worker: in a repository the user has not trusted, its protected
		// resources (.pi/settings.json, SYSTEM.md, skills, extensions, packages) stay out of a session that runs inside
		// the coordinator, and its context files are fenced.
		const crew = spec.crew;
		const settings = sdk.SettingsManager.create(spec.cwd, agentDir, { projectTrusted: spec.projectTrusted });
		const place = this.place(spec);
		const roots = place.roots;
		const repositoryDirs = await place.repositoryDirs;
		const loader = new sdk.DefaultResourceLoader({
			cwd: spec.cwd,
			agentDir,
			settingsManager: settings,
			noExtensions: true,
			// The agent's own extensions (a trusted scope's: see engine/attempt.ts), as a child worker's `-e`.
			...(spec.extensions ? { additionalExtensionPaths: spec.extensions } : {}),
			// Skills named by the agent or step: exactly these, none of pi's discovered ones.
			...(spec.skills ? { noSkills: true, additionalSkillPaths: spec.skills } : {}),
			extensionFactories: [
				// The path wall of its file tools, as a child worker's guard puts it up.
				(pi) => guardFileTools(pi, roots, spec.cwd),
				// pi-crew's tools (active when its tools name them), whose calls go straight to the run; they are
				// called once the session runs, with its timer.
				...(crew
					? [(pi: ExtensionAPI) => registerCrewTools(pi, (request) => timer.paused(() => crew.request(request)))]
					: []),
				...(spec.projectTrusted
					? []
					: [
							(pi: Parameters<typeof guardFileTools>[0]) => {
								pi.on("before_agent_start", (event) =>
									fenceRepositoryContext(event.systemPromptOptions, repositoryDirs),
								);
							},
						]),
			],
			appendSystemPrompt: [await readFile(spec.systemPromptPath, "utf8")],
		});
		await loader.reload();
		const { session } = await sdk.createAgentSession({
			cwd: spec.cwd,
			agentDir,
			modelRuntime: runtime,
			...(model ? { model } : {}),
			// The agent's level (one of THINKING_LEVELS, checked by the schema); pi clamps it to what the model supports.
			...(spec.thinking ? { thinkingLevel: spec.thinking as ThinkingLevel } : {}),
			...(spec.tools ? { tools: spec.tools } : {}),
			// pi's defaults (no tools named) include bash.
			...(!spec.tools || spec.tools.includes("bash")
				? { customTools: [await this.scopedBash(sdk, spec, settings)] }
				: {}),
			resourceLoader: loader,
			sessionManager: sdk.SessionManager.inMemory(spec.cwd),
			settingsManager: settings,
		});
		const channel: WorkerChannel = {
			steer: async (text) => void (await session.steer(text)),
			followUp: async (text) => void (await session.followUp(text)),
		};
		spec.channel?.(channel);
		const reader = new PiStreamReader();
		let ended: WorkerFailure | undefined;
		const stop = (why: WorkerFailure) => {
			if (ended) return;
			ended = why;
			void session.abort();
		};
		const unsubscribe = session.subscribe((event) => {
			onEvent({ type: "activity" });
			for (const e of reader.push(JSON.stringify(event))) {
				if (e.type === "turn" && spec.maxTurns && reader.turns > spec.maxTurns)
					stop(failure("turn_limit", `exceeded maxTurns (${spec.maxTurns}) of agent ${spec.agent}`));
				else if (e.type !== "turn" && e.type !== "settled") onEvent(e);
			}
		});
		const onAbort = () =>
			stop(stopped(signal.reason instanceof StopRequest ? signal.reason : new StopRequest("cancel", "cancelled")));
		signal.addEventListener("abort", onAbort, { once: true });
		if (signal.aborted) onAbort();
		const timer = new TaskTimer(spec.timeoutMs, () =>
			stop(failure("timed_out", `timed out after ${Math.round(spec.timeoutMs / 1000)}s`)),
		);
		try {
			if (!ended) await session.prompt(spec.prompt);
			// An answer that waits for approval: the session stays, and a rejection's feedback is its next prompt.
			for (let draft = reader.outcome(); spec.review && !ended && draft.kind === "succeeded"; ) {
				spec.channel?.(undefined);
				const said = await reviewAnswer(spec.review, draft.answer, timer);
				if (ended || "approved" in said) break;
				if ("failed" in said) ended = said.failed;
				else {
					spec.channel?.(channel);
					await session.prompt(said.feedback);
					draft = reader.outcome();
				}
			}
		} catch (err) {
			ended ??= failure("crashed", `in-process session failed: ${(err as Error).message}`);
		} finally {
			timer.clear();
			signal.removeEventListener("abort", onAbort);
			spec.channel?.(undefined);
			unsubscribe();
			session.dispose();
		}
		return ended ?? reader.outcome();
	}

	/** The path wall's roots of a task's place and, in a repository not trusted, the repository's directories. */
	private place(spec: Pick<TaskSpec, "repo" | "cwd" | "projectTrusted">): Place {
		const key = JSON.stringify([spec.repo, spec.cwd, spec.projectTrusted]);
		let place = this.places.get(key);
		if (!place) {
			const repositoryDirs = spec.projectTrusted ? Promise.resolve([]) : repositoryRoots(spec.repo, spec.cwd);
			place = { roots: guardRoots(spec.cwd, spec.repo), repositoryDirs };
			this.places.set(key, place);
			// A failure is the task's to report, not every later task's.
			Promise.all([place.roots, repositoryDirs]).catch(() => this.places.delete(key));
		}
		return place;
	}

	/**
	 * pi's bash tool (a custom tool of the same name replaces the built-in one), configured from the same settings,
	 * whose commands run in the worker's environment instead of the coordinator's: what pi itself adds or changes for
	 * a command (its bin dir on PATH, the session's PI_* variables) is kept on top of it.
	 */
	private async scopedBash(sdk: Sdk, spec: TaskSpec, settings: ReturnType<Sdk["SettingsManager"]["create"]>) {
		const scoped = await workerEnv(spec, { allow: this.allowEnv });
		const bash = sdk.createBashToolDefinition(spec.cwd, {
			commandPrefix: settings.getShellCommandPrefix(),
			shellPath: settings.getShellPath(),
			spawnHook: (context) => {
				const env = { ...scoped };
				for (const k of Object.keys(process.env)) if (!(k in context.env)) delete env[k];
				for (const [k, v] of Object.entries(context.env)) if (process.env[k] !== v) env[k] = v;
				return { ...context, env };
			},
		});
		return sdk.defineTool(bash); // typed for `customTools`
	}
}
