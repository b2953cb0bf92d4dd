/**
 * The delegation policy's inputs, read the light way: it is computed before the first turn of every pi session, so it
 * may not load the config schema or the resource validators (they cost pi ~10 % of its start-up). Raw YAML is enough
 * for text: the profile and team names; everything that acts (the tools) still reads the validated config.
 */
import { lstat, readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
	AUTONOMY,
	type Autonomy,
	crewHome,
	DEFAULT_AUTONOMY,
	MAX_CONFIG_BYTES,
	PROJECT_CONFIG_FILES,
	stricterAutonomy,
} from "../config/home.js";
import { projectTrust } from "../config/trust.js";
import { RESOURCE_NAME } from "../util/names.js";
import { findRepo } from "../util/repo.js";
import { splitFrontmatter } from "../util/yaml-source.js";
import { delegationPolicy } from "./autonomy.js";
import { lazy } from "./lazy.js";

const BUILTIN_TEAMS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "builtin", "teams");
const SUFFIX = ".team.md";

async function teamsIn(dir: string, withDescriptions: boolean, parse: (text: string) => unknown) {
	// Only names that are names: a file name is repository text, and this list goes into the user's own session.
	const names = (await readdir(dir).catch(() => [] as string[]))
		.filter((n) => n.endsWith(SUFFIX) && RESOURCE_NAME.test(n.slice(0, -SUFFIX.length)))
		.sort();
	const teams: { name: string; description: string }[] = [];
	for (const file of names) {
		let description = "";
		if (withDescriptions) {
			const split = splitFrontmatter(await readFile(join(dir, file), "utf8").catch(() => ""));
			const fields = split ? parse(split.yaml) : undefined;
			const d = fields && typeof fields === "object" ? (fields as { description?: unknown }).description : undefined;
			description = typeof d === "string" ? d : "";
		}
		teams.push({ name: file.slice(0, -SUFFIX.length), description });
	}
	return teams;
}

/** The `autonomy` of a config file read raw (a valid profile, else undefined); any failure reads as unset. */
async function autonomyIn(file: string, parse: (text: string) => unknown): Promise<Autonomy | undefined> {
	try {
		const raw = parse(await readFile(file, "utf8")) as { autonomy?: unknown } | null;
		const autonomy = raw && typeof raw === "object" ? raw.autonomy : undefined;
		return AUTONOMY.includes(autonomy as Autonomy) ? (autonomy as Autonomy) : undefined;
	} catch {
		return undefined;
	}
}

/** What the repository's config sets as autonomy (it only ever applies when stricter): the first file found, if sane. */
async function projectAutonomy(repo: string, parse: (text: string) => unknown): Promise<Autonomy | undefined> {
	for (const name of PROJECT_CONFIG_FILES) {
		const file = join(repo, ".crew", name);
		const info = await lstat(file).catch(() => undefined);
		if (!info) continue;
		// A FIFO or a device would hang pi's start-up; a symlink is not read (as in config/resolve.ts).
		return info.isFile() && info.size <= MAX_CONFIG_BYTES ? autonomyIn(file, parse) : undefined;
	}
	return undefined;
}

export async function policyFor(cwd: string): Promise<string> {
	const yaml = await lazy.yaml();
	// The library throws on bad YAML and on its guards (too many aliases): such a file reads as empty here, and the
	// validated readers report it with its file and line.
	const parse = (text: string): unknown => {
		try {
			return yaml.parse(text);
		} catch {
			return undefined;
		}
	};
	const home = crewHome();
	const raw = await readFile(join(home, "config.yaml"), "utf8").then(
		(text) => parse(text) as Record<string, unknown> | null,
		() => null,
	);
	const config = raw && typeof raw === "object" ? raw : {};
	const repo = findRepo(cwd);
	const own = AUTONOMY.includes(config.autonomy as Autonomy) ? (config.autonomy as Autonomy) : DEFAULT_AUTONOMY;
	const tightened = await projectAutonomy(repo, parse);
	const autonomy = tightened ? stricterAutonomy(own, tightened) : own;
	const { trusted } = projectTrust(repo);
	const listed = [...(await teamsIn(BUILTIN_TEAMS, true, parse)), ...(await teamsIn(join(home, "teams"), true, parse))];
	const known = new Set(listed.map((t) => t.name));
	const project = (await teamsIn(join(repo, ".crew", "teams"), trusted, parse)).filter(
		(t) => trusted || !known.has(t.name),
	);
	const teams = [
		...listed.map((t) => ({ ...t, source: {} })),
		...project.map((t) => ({ ...t, source: { untrusted: !trusted } })),
	];
	return delegationPolicy(autonomy, teams);
}
