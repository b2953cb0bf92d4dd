/**
 * User configuration (`<crew home>/config.yaml`). One schema is the source of truth for its fields; unknown keys are
 * errors so typos are never silently ignored. A repository cannot configure pi-crew: its `.crew/` holds resources
 * only, so it cannot loosen the user's policy.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { type Static, Type } from "typebox";
import { checkSchema } from "../util/schema-check.js";
import { formatProblem, type Problem, parseYaml } from "../util/yaml-source.js";
import { RUNTIMES, type RuntimeName } from "../workers/runtime.js";

export const ConfigSchema = Type.Object(
	{
		/** Absolute paths of repositories whose `.crew/` may shadow builtin and user resources. */
		trustedProjects: Type.Optional(Type.Array(Type.String())),
		concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
		runtime: Type.Optional(Type.Union(RUNTIMES.map((r) => Type.Literal(r)))),
		/** Default model for workers (`provider/id`), below `--model` and an agent's own `model`. */
		model: Type.Optional(Type.String({ minLength: 1 })),
		/** Per-task timeout; the worker's whole process group is killed when it passes. */
		taskTimeoutMs: Type.Optional(Type.Integer({ minimum: 1000 })),
	},
	{ additionalProperties: false },
);
export type CrewConfig = Static<typeof ConfigSchema>;

export const DEFAULTS = { concurrency: 4, runtime: "child" as RuntimeName, taskTimeoutMs: 15 * 60_000 };

/** `PI_CREW_HOME`, else `~/.pi/agent/crew`. */
export function crewHome(env: NodeJS.ProcessEnv = process.env): string {
	return env.PI_CREW_HOME ? resolve(env.PI_CREW_HOME) : join(homedir(), ".pi", "agent", "crew");
}

export class ConfigError extends Error {
	constructor(readonly problems: Problem[]) {
		super(problems.map(formatProblem).join("\n"));
		this.name = "ConfigError";
	}
}

export async function loadConfig(home = crewHome()): Promise<CrewConfig> {
	const file = join(home, "config.yaml");
	let text: string;
	try {
		text = await readFile(file, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
		throw err;
	}
	const src = parseYaml(text, file);
	if (src.problems.length > 0) throw new ConfigError(src.problems);
	if (src.value == null) return {};
	const problems = checkSchema(ConfigSchema, src, file);
	if (problems.length > 0) throw new ConfigError(problems);
	const config = src.value as CrewConfig;
	return { ...config, trustedProjects: config.trustedProjects?.map((p) => resolve(home, p)) };
}

export function isTrusted(config: CrewConfig, repo: string): boolean {
	return (config.trustedProjects ?? []).includes(resolve(repo));
}
