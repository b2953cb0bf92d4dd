/**
 * Which `pi` the child workers run: the host's own. Inside a pi session that is the session's process (its node and
 * entry point, recorded by the extension in PI_CREW_HOST_PI, so background coordinators and nested runs inherit it);
 * from the CLI it is the pi the user would run (`pi` on PATH), else the one installed beside pi-crew.
 * `PI_CREW_PI_BIN` overrides all of them. Paths are absolute: a worker's PATH may be bare.
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HOST_PACKAGE } from "../host.js";

export interface PiCommand {
	command: string;
	args: string[];
	/** Where it came from, for `doctor` and error messages. */
	source: "PI_CREW_PI_BIN" | "pi session" | "pi on PATH" | "peer dependency";
	/** Known without running it (the session's own version); otherwise ask `pi --version`. */
	version?: string;
}

/** Set by the extension in the pi process it is loaded into: that process is the pi workers must run. */
export const HOST_PI_ENV = "PI_CREW_HOST_PI";

/** What the extension records about the pi it runs in (see `piCommand`). */
export function recordHostPi(env: NodeJS.ProcessEnv = process.env): void {
	const entry = runningPiEntry();
	env[HOST_PI_ENV] = JSON.stringify({
		command: process.execPath,
		args: entry ? [entry] : [],
		version: runningPiVersion(),
	});
}

/** The script this pi process runs; none for a compiled single-file pi, whose executable is the whole of it. */
function runningPiEntry(): string | undefined {
	const entry = process.argv[1];
	return entry && isFile(entry) ? realpathSync(entry) : undefined;
}

/**
 * The version of the pi this process is, from the package.json above its entry script. Read from the file, not by
 * importing pi's module: an extension's import of it can load a second copy of pi (~0.9 s at every start).
 */
export function runningPiVersion(): string {
	const entry = runningPiEntry();
	for (let dir = entry ? dirname(entry) : ""; dir && dirname(dir) !== dir; dir = dirname(dir)) {
		const manifest = readManifest(join(dir, "package.json"));
		if (manifest?.name === HOST_PACKAGE) return manifest.version ?? "unknown";
	}
	return "unknown";
}

function readManifest(file: string): { name?: string; version?: string; bin?: { pi?: string } } | undefined {
	if (!isFile(file)) return undefined;
	try {
		return JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string; bin?: { pi?: string } };
	} catch {
		return undefined;
	}
}

/** The version of the pi session this process belongs to (its own, or its starter's), if any. */
export function sessionPiVersion(env: NodeJS.ProcessEnv = process.env): string | undefined {
	return parseHostPi(env[HOST_PI_ENV])?.version;
}

/** The entry script of the pi session this process belongs to, if any (none for a compiled pi). */
export function sessionPiEntry(env: NodeJS.ProcessEnv = process.env): string | undefined {
	return parseHostPi(env[HOST_PI_ENV])?.args[0];
}

export function piCommand(env: NodeJS.ProcessEnv = process.env): PiCommand {
	if (env.PI_CREW_PI_BIN) return { command: env.PI_CREW_PI_BIN, args: [], source: "PI_CREW_PI_BIN" };
	const host = parseHostPi(env[HOST_PI_ENV]);
	if (host) return host;
	const onPath = which("pi", env.PATH ?? "");
	if (onPath) return { command: onPath, args: [], source: "pi on PATH" };
	return peerPi();
}

function parseHostPi(text: string | undefined): PiCommand | undefined {
	if (!text) return undefined;
	try {
		const { command, args, version } = JSON.parse(text) as { command?: unknown; args?: unknown; version?: unknown };
		if (typeof command !== "string" || !Array.isArray(args) || !args.every((a) => typeof a === "string"))
			return undefined;
		return { command, args, source: "pi session", version: typeof version === "string" ? version : undefined };
	} catch {
		return undefined;
	}
}

/** The real path of program `name` in the directories of `path` (a PATH value), if any. */
export function which(name: string, path: string): string | undefined {
	for (const dir of path.split(delimiter)) {
		if (!dir) continue;
		const file = join(dir, name);
		if (isFile(file)) return realpathSync(file);
	}
	return undefined;
}

/** The host package installed beside pi-crew (its peer dependency), run with this process's node. */
function peerPi(): PiCommand {
	// The package exports no package.json: find it above the resolved entry.
	let dir = dirname(fileURLToPath(import.meta.resolve(HOST_PACKAGE)));
	let manifest = readManifest(join(dir, "package.json"));
	for (; manifest?.name !== HOST_PACKAGE; manifest = readManifest(join(dir, "package.json")))
		if (dirname(dir) === dir) throw new Error(`cannot find the package.json of ${HOST_PACKAGE}`);
		else dir = dirname(dir);
	const entry = join(dir, manifest.bin?.pi ?? "dist/cli.js");
	if (!isFile(entry)) throw new Error(`${HOST_PACKAGE} ${manifest.version ?? ""} has no pi entry at ${entry}`);
	return { command: process.execPath, args: [entry], source: "peer dependency", version: manifest.version };
}

function isFile(path: string): boolean {
	try {
		return statSync(path).isFile();
	} catch {
		return false;
	}
}
