/**
 * `node --import tsx bench/bundle-import.ts [dist]`: peak memory of importing a bundle that unpacks to 252 MiB (4 x 63
 * MiB artifacts), in a child process running the built pi-crew (`dist`, default this checkout's): its maxRSS, and the
 * ratio to the bundle's unpacked size. Record the result in docs/benchmarks.md.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bigBundle } from "../test/support/hostile.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MIB = 1024 * 1024;
const dist = resolve(process.argv[2] ?? join(ROOT, "dist"));
const dir = await mkdtemp(join(tmpdir(), "pi-crew-bench-bundle-"));
try {
	const repo = join(dir, "repo");
	await mkdir(join(repo, ".git"), { recursive: true });
	const bundle = join(dir, "big.tar.gz");
	await bigBundle(bundle, "20250101-000000-abcdef", 4, 63 * MIB);
	const script = `const t0 = process.hrtime.bigint();
const { importBundle } = await import(${JSON.stringify(join(dist, "api", "bundle.js"))});
const done = await importBundle(${JSON.stringify(repo)}, ${JSON.stringify(bundle)});
console.log(JSON.stringify({ bytes: done.bytes, maxRss: process.resourceUsage().maxRSS * 1024, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));`;
	const env = { ...process.env, PI_CREW_HOME: join(dir, "crew-home") };
	const out = JSON.parse(
		execFileSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8" }),
	);
	console.log(
		`| ${dist} | ${(out.bytes / MIB).toFixed(0)} MiB | ${(out.maxRss / MIB).toFixed(0)} MiB | ${(out.maxRss / out.bytes).toFixed(2)} | ${(out.ms / 1000).toFixed(1)} s |`,
	);
} finally {
	await rm(dir, { recursive: true, force: true });
}
