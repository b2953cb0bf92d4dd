/** `pi-crew doctor`: what would stop a run here, and what needs attention (interrupted or unreadable runs). */
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { piCommand } from "../workers/child.js";
import { findRepo, formatProblem, listRuns, validateResources } from "./index.js";
import { findInterrupted } from "./lifecycle.js";

export interface Check {
	name: string;
	level: "ok" | "warning" | "error";
	detail: string;
	hint?: string;
}

async function onPath(names: string[]): Promise<string | undefined> {
	for (const dir of (process.env.PATH ?? "").split(delimiter))
		for (const name of names)
			if (
				await access(join(dir, name), constants.X_OK).then(
					() => true,
					() => false,
				)
			)
				return join(dir, name);
	return undefined;
}

async function piVersion(): Promise<Check> {
	let command = "pi";
	let args: string[] = [];
	try {
		({ command, args } = piCommand());
		// pi prints its version on stderr.
		const { stdout, stderr } = await promisify(execFile)(command, [...args, "--version"], { timeout: 30_000 });
		const version = (stdout.trim() || stderr.trim()).split("\n")[0];
		return { name: "pi", level: "ok", detail: `${version} (${[command, ...args].join(" ")})` };
	} catch (err) {
		return {
			name: "pi",
			level: "error",
			detail: `cannot run ${[command, ...args].join(" ")}: ${(err as Error).message.split("\n")[0]}`,
			hint: "install @mariozechner/pi-coding-agent beside pi-crew, or set PI_CREW_PI_BIN",
		};
	}
}

async function config(): Promise<Check> {
	try {
		const { crewHome, loadConfig } = await import("../config/config.js");
		await loadConfig();
		return { name: "config", level: "ok", detail: join(crewHome(), "config.yaml") };
	} catch (err) {
		return { name: "config", level: "error", detail: (err as Error).message, hint: "fix the config file" };
	}
}

export async function doctor(cwd: string | undefined): Promise<{ ok: boolean; repo: string; checks: Check[] }> {
	const repo = findRepo(cwd);
	const major = Number(process.versions.node.split(".")[0]);
	const checks: Check[] = [
		major >= 20
			? { name: "node", level: "ok", detail: process.version }
			: { name: "node", level: "error", detail: process.version, hint: "pi-crew needs Node 20 or later" },
		await piVersion(),
		await config(),
	];
	const configOk = checks.at(-1)?.level === "ok";
	if (configOk) {
		const loaded = await validateResources(repo).catch((err: Error) => err);
		if (loaded instanceof Error) {
			checks.push({ name: "resources", level: "error", detail: loaded.message, hint: "see: pi-crew validate" });
			return { ok: false, repo, checks };
		}
		const { catalog, problems } = loaded;
		const errors = problems.filter((p) => p.severity !== "warning");
		checks.push({
			name: "resources",
			level: errors.length > 0 ? "error" : problems.length > 0 ? "warning" : "ok",
			detail: `${catalog.agents.size} agents, ${catalog.teams.size} teams, ${catalog.workflows.size} workflows${problems.length > 0 ? `\n${problems.map((p) => `  ${formatProblem(p)}`).join("\n")}` : ""}`,
			hint: problems.length > 0 ? "see: pi-crew validate" : undefined,
		});
	}
	try {
		for (const run of await findInterrupted(repo))
			checks.push({
				name: `run ${run.state.runId}`,
				level: "warning",
				detail: `interrupted (team ${run.state.team}): its coordinator is gone`,
				hint: `pi-crew resume ${run.state.runId}`,
			});
		for (const b of (await listRuns(repo)).broken)
			checks.push({ name: `run ${b.runId}`, level: "error", detail: `unreadable: ${b.error}` });
	} catch (err) {
		checks.push({ name: "runs", level: "error", detail: (err as Error).message, hint: "see .crew/runs" });
	}
	const rg = await onPath(["rg"]);
	const fd = await onPath(["fd", "fdfind"]);
	checks.push(
		rg && fd
			? { name: "search tools", level: "ok", detail: `${rg}, ${fd}` }
			: {
					name: "search tools",
					level: "warning",
					detail: `${rg ? "" : "rg "}${fd ? "" : "fd "}not found: pi's grep/find tools (used by read-only agents) will fail`,
					hint: "install ripgrep and fd (Debian: apt install ripgrep fd-find)",
				},
	);
	return { ok: checks.every((c) => c.level !== "error"), repo, checks };
}
