/** Hostile repositories for the resource-loading tests: planted files committed to a real git repository. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Header, Pack, ReadEntry } from "tar";
import { readTar, type TarFile, type TarLimits } from "../../src/util/tar.js";
import { fixtures } from "./fixtures.js";
import { ROOT, type Sandbox } from "./index.js";

/** Writes `files` (path under the repository -> text) and commits them, as a cloned repository would hold them. */
export async function plantedRepo(box: Sandbox, files: Record<string, string>): Promise<void> {
	for (const [rel, text] of Object.entries(files)) await box.write(rel, text);
	execFileSync("git", ["init", "-q", box.repo]);
	execFileSync("git", ["-C", box.repo, "add", "-A"]);
	execFileSync("git", ["-C", box.repo, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "clone"]);
}

/** A 400-byte YAML "billion laughs": 101 aliases of one anchor, one more than the yaml library expands. */
export function aliasBomb(): string {
	return `x: &a lol\nlots: [${Array(101).fill("*a").join(", ")}]\n`;
}

/** An agent file whose frontmatter is an alias bomb. */
export function aliasBombAgent(name: string): string {
	return `---\nname: ${name}\ndescription: d\n${aliasBomb()}---\nBody.\n`;
}

/** A workflow of `count` steps in one chain (each depends on the one before), `cycle`: the first on the last. */
export function chainWorkflow(name: string, count: number, options: { cycle?: boolean } = {}): string {
	const steps = Array.from({ length: count }, (_, i) => {
		const dep = i > 0 ? `s${i - 1}` : options.cycle ? `s${count - 1}` : undefined;
		return `  - {id: s${i}, role: r, task: t${dep ? `, dependsOn: [${dep}]` : ""}}`;
	});
	return `---\nname: ${name}\ndescription: d\nsteps:\n${steps.join("\n")}\n---\n`;
}

/** A team of one role `r` (agent `executor`) over workflow `name`. */
export function chainTeam(name: string): string {
	return `---\nname: ${name}\ndescription: d\nroles:\n  - {name: r, agent: executor}\ndefaultWorkflow: ${name}\n---\n`;
}

/** An archive read whole into memory through readTar (its checks included): for tests of what an archive holds. */
export async function readTarInMemory(bytes: Buffer, limits: TarLimits): Promise<{ files: TarFile[]; dirs: string[] }> {
	const read: { files: TarFile[]; dirs: string[] } = { files: [], dirs: [] };
	await readTar(
		(async function* () {
			yield bytes;
		})(),
		limits,
		{
			dir: async (path) => {
				read.dirs.push(path);
			},
			file: async (path, _size, data) => {
				const chunks: Buffer[] = [];
				for await (const chunk of data) chunks.push(chunk);
				read.files.push({ path, data: Buffer.concat(chunks) });
			},
		},
	);
	return read;
}

/**
 * Writes a well-formed bundle of run `runId` to `file`: a valid log plus `count` artifacts of `bytes` zeros each, streamed
 * (gzip makes it a few hundred KiB on disk; unpacked it is count x bytes). The maker holds one artifact, not the sum.
 */
export async function bigBundle(file: string, runId: string, count: number, bytes: number): Promise<void> {
	const log = Buffer.from(
		`${JSON.stringify({ v: 1, seq: 1, ts: "2025-01-01T00:00:00.000Z", runId, type: "run.created", data: fixtures.created })}\n`,
	);
	const zeros = Buffer.alloc(bytes);
	const files = [
		{ path: "events.jsonl", data: log },
		...Array.from({ length: count }, (_, i) => ({ path: `artifacts/big-${i}`, data: zeros })),
	];
	const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");
	const zerosSha = sha(zeros);
	const manifest = Buffer.from(
		JSON.stringify({
			schemaVersion: 1,
			kind: "pi-crew-run",
			runId,
			created: "2025-01-02T00:00:00.000Z",
			piCrew: "0.3.0",
			run: { status: "pending", team: "t", workflow: "w", createdAt: "2025-01-01T00:00:00.000Z" },
			files: files.map((f) => ({
				path: f.path,
				size: f.data.length,
				sha256: f.data === zeros ? zerosSha : sha(f.data),
			})),
			skipped: [],
		}),
	);
	const pack = new Pack({ gzip: true, portable: true });
	const written = pipeline(pack, createWriteStream(file));
	for (const f of [{ path: "manifest.json", data: manifest }, ...files]) {
		const header = new Header({
			path: `${runId}/${f.path}`,
			type: "File",
			size: f.data.length,
			mode: 0o644,
			mtime: new Date(0),
		});
		const entry = new ReadEntry(header);
		entry.end(f.data);
		pack.add(entry);
	}
	pack.end();
	await written;
}

/**
 * Imports `bundle` into `repo` in a child process running the built pi-crew, and returns the child's peak resident
 * memory in bytes (process.resourceUsage().maxRSS): a memory bound, not a time.
 */
export function importPeakRss(repo: string, bundle: string, env: NodeJS.ProcessEnv): { maxRss: number; runId: string } {
	const script = `const { importBundle } = await import(${JSON.stringify(join(ROOT, "dist", "api", "bundle.js"))});
const done = await importBundle(${JSON.stringify(repo)}, ${JSON.stringify(bundle)});
console.log(JSON.stringify({ runId: done.runId, maxRss: process.resourceUsage().maxRSS * 1024 }));`;
	const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8" });
	return JSON.parse(out) as { maxRss: number; runId: string };
}
