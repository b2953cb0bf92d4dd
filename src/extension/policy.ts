/**
 * The delegation policy's inputs, read the light way: it is computed before the first turn of every pi session, so it
 * may not load the config schema, the resource validators or, for the usual one-line fields, the YAML parser (they
 * cost pi ~10 % of its start-up). Raw text is enough for text: the profile and team descriptions; everything that acts
 * (the tools) still reads the validated config.
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
import { splitFrontmatter, topLevelString } from "../util/frontmatter.js";
import { RESOURCE_NAME } from "../util/names.js";
import { findRepo } from "../util/repo.js";
import { delegationPolicy } from "./autonomy.js";
import { lazy } from "./lazy.js";

const BUILTIN_TEAMS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "builtin", "teams");
const SUFFIX = ".team.md";

async function teamsIn(dir: string, withDescriptions: boolean) {
	// Only names that are names: a file name is repository text, and this list goes into the user's own session.
	const names = (await readdir(dir).catch(() => [] as string[]))
		.filter((n) => n.endsWith(SUFFIX) && RESOURCE_NAME.test(n.slice(0, -SUFFIX.length)))
		.sort();
	const teams: { name: string; description: string }[] = [];
	for (const file of names) {
		let description = "";
		if (withDescriptions) {
			const split = splitFrontmatter(await readFile(join(dir, file), "utf8").catch(() => ""));
			description = (split && (await stringIn(split.yaml, "description"))) ?? "";
		}
		teams.push({ name: file.slice(0, -SUFFIX.length), description });
	}
	return teams;
}

/** The `autonomy` of a config file read raw (a valid profile, else undefined); any failure reads as unset. */
async function autonomyIn(file: string): Promise<Autonomy | undefined> {
	const autonomy = await readFile(file, "utf8").then(
		(text) => stringIn(text, "autonomy"),
		() => undefined,
	);
	return AUTONOMY.includes(autonomy as Autonomy) ? (autonomy as Autonomy) : undefined;
}

/** What the repository's config sets as autonomy (it only ever applies when stricter): the first file found, if sane. */
async function projectAutonomy(repo: string): Promise<Autonomy | undefined> {
	for (const name of PROJECT_CONFIG_FILES) {
		const file = join(repo, ".crew", name);
		const info = await lstat(file).catch(() => undefined);
		if (!info) continue;
		// A FIFO or a device would hang pi's start-up; a symlink is not read (as in config/resolve.ts).
		return info.isFile() && info.size <= MAX_CONFIG_BYTES ? autonomyIn(file) : undefined;
	}
	return undefined;
}

/** Top-level `key` of YAML `text` when it is a string: without the parser when the text allows (frontmatter.ts). */
async function stringIn(text: string, key: string): Promise<string | undefined> {
	const light = topLevelString(text, key);
	if (light !== undefined) return light ?? undefined;
	// A shape only the parser reads. It throws on bad YAML and on its guards (too many aliases): such a file reads as
	// unset here, and the validated readers report it with its file and line.
	try {
		const raw = (await lazy.yaml()).parse(text) as Record<string, unknown> | null;
		const value = raw && typeof raw === "object" ? raw[key] : undefined;
		return typeof value === "string" ? value : undefined;
	} catch {
		return undefined;
	}
}

export async function policyFor(cwd: string): Promise<string> {
	const home = crewHome();
	const repo = findRepo(cwd);
	const own = (await autonomyIn(join(home, "config.yaml"))) ?? DEFAULT_AUTONOMY;
	const tightened = await projectAutonomy(repo);
	const autonomy = tightened ? stricterAutonomy(own, tightened) : own;
	const { trusted } = projectTrust(repo);
	const listed = [...(await teamsIn(BUILTIN_TEAMS, true)), ...(await teamsIn(join(home, "teams"), true))];
	const known = new Set(listed.map((t) => t.name));
	const project = (await teamsIn(join(repo, ".crew", "teams"), trusted)).filter((t) => trusted || !known.has(t.name));
	const teams = [
		...listed.map((t) => ({ ...t, source: {} })),
		...project.map((t) => ({ ...t, source: { untrusted: !trusted } })),
	];
	return delegationPolicy(autonomy, teams);
}
