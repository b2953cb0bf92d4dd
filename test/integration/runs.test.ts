/**
 * Run bundles and removal through the real CLI: export → import round-trips a run that status shows the same; every
 * hostile bundle is refused with nothing written; prune and forget never touch a live run (a real background
 * coordinator held at a barrier); the config's automatic prune; the team tool's actions in a real pi.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Header, Pack, ReadEntry } from "tar";
import {
	askPi,
	cli,
	fixtures,
	listing,
	pastRun,
	projectTeam,
	type RunJson,
	type Sandbox,
	SCRIPTED,
	sandbox,
} from "../support/index.js";

const OLD_RUN = "20200101-000000-0a0a0a";

async function json<T>(args: string[], box: Sandbox): Promise<T> {
	const res = await cli([...args, "--json"], box);
	assert.equal(res.code, 0, `${args.join(" ")}: ${res.stderr}`);
	return JSON.parse(res.stdout) as T;
}

test("export → import round-trips a run: status and events read the same, foreign, redacted, never resumed", async () => {
	const a = await sandbox();
	const run = await cli(["run", "fast-fix", "check the notes", "--model", SCRIPTED, "--json"], a);
	assert.equal(run.code, 0, run.stderr);
	const runId = (JSON.parse(run.stdout) as RunJson).runId;
	const artifacts = join(a.repo, ".crew", "runs", runId, "artifacts");
	// Written past pi-crew's own redacting writer, as a tool of a worker could: redacted on the way out.
	await writeFile(join(artifacts, "notes.md"), "connect with api_key=sk_live_abcdefghijklmnop1234 please\n");
	await writeFile(join(artifacts, "blob.bin"), Buffer.from([0xff, 0xfe, 0x00, 0x01]));
	await writeFile(join(a.dir, "outside.txt"), "not part of the run");
	await symlink(join(a.dir, "outside.txt"), join(artifacts, "link.md"));
	const bundle = join(a.dir, "run.tar.gz");
	const exported = await json<{ path: string; manifest: { files: { path: string }[]; skipped: { path: string }[] } }>(
		["export", runId, "--out", bundle],
		a,
	);
	assert.equal(exported.path, bundle);
	assert.deepEqual(
		exported.manifest.skipped.map((s) => s.path),
		["artifacts/blob.bin", "artifacts/link.md"],
	);
	assert.ok(exported.manifest.files.some((f) => f.path === "artifacts/summary.md"));

	const b = await sandbox();
	const imported = await cli(["import", bundle], b);
	assert.equal(imported.code, 0, imported.stderr);
	assert.equal(imported.stdout.trim(), runId);
	const [was, is] = [await json<Record<string, unknown>>(["status", runId], a), await json(["status", runId], b)];
	const {
		imported: record,
		integrity,
		integrityProblem,
		problems,
		...copy
	} = is as Record<string, unknown> & {
		imported: { bundle: string };
	};
	assert.equal(record.bundle, "run.tar.gz");
	// A bundle carries no MACs (they are this user's, like the creator mark): the copy cannot be authenticated.
	assert.equal(integrity, "unauthenticated");
	assert.deepEqual(problems, [integrityProblem]);
	const here = (value: unknown) =>
		JSON.parse(JSON.stringify(value).replaceAll(a.repo, b.repo)) as Record<string, unknown>;
	const { integrity: verified, problems: none, ...before } = here(was);
	assert.deepEqual([verified, none], ["verified", []]);
	assert.deepEqual(copy, before, "status --json is the same, but where the run lives");
	const events = async (box: Sandbox) =>
		(await json<{ events: { data: { owner?: string } }[] }>(["events", runId], box)).events;
	const original = await events(a);
	assert.ok(original[0]?.data.owner, "made here: the log carries the creator mark");
	delete original[0]?.data.owner;
	assert.deepEqual(await events(b), original, "the same log, without the creator mark");
	const copied = join(b.repo, ".crew", "runs", runId, "artifacts");
	assert.equal(await readFile(join(copied, "notes.md"), "utf8"), "connect with api_key=[REDACTED] please\n");
	assert.ok(!existsSync(join(copied, "blob.bin")) && !existsSync(join(copied, "link.md")));

	const list = await cli(["list"], b);
	assert.match(list.stdout, new RegExp(`^${runId}  foreign`, "m"));
	assert.match(list.stderr, new RegExp(`${runId}: foreign, never resumed here: imported from run\\.tar\\.gz on`));
	const doctor = JSON.parse((await cli(["doctor", "--json"], b)).stdout) as {
		checks: { name: string; level: string; detail: string }[];
	};
	const check = doctor.checks.find((c) => c.name === `run ${runId}`);
	assert.equal(check?.level, "ok", "imported on purpose: nothing to fix");
	assert.match(check?.detail ?? "", /^foreign: imported from run\.tar\.gz/);
	const shown = await cli(["status", runId], b);
	assert.match(shown.stdout, /imported from run\.tar\.gz on .*: foreign, never resumed here/);
	const taskId = (is as RunJson).tasks[0]?.id ?? "";
	for (const args of [
		["resume", runId],
		["resume", runId, "--background"],
		["deadletter", "requeue", runId, taskId],
		["deadletter", "add", runId, taskId],
	]) {
		const res = await cli(args, b);
		assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
		assert.match(res.stderr, new RegExp(`run ${runId} was not created here: imported from run\\.tar\\.gz`));
	}
	const again = await cli(["import", bundle], b);
	assert.equal(again.code, 2);
	assert.match(again.stderr, /already exists here .*an existing run is never replaced; nothing was written/);

	// Back on the machine that made it: a copy is foreign there too, never resumed.
	const forgot = await cli(["forget", runId], a);
	assert.equal(forgot.code, 0, forgot.stderr);
	assert.match(forgot.stdout, new RegExp(`^forgot run ${runId} \\(succeeded\\): \\d+ files and directories removed`));
	assert.equal((await cli(["import", bundle], a)).code, 0);
	const home = await cli(["resume", runId], a);
	assert.equal(home.code, 2);
	assert.match(home.stderr, /was not created here: imported from/);
	// An imported run is the user's to forget, not to prune.
	const pruned = await json<{ removed: unknown[]; skipped: { why: string }[] }>(["prune", "--older-than", "0d"], a);
	assert.deepEqual(pruned.removed, []);
	assert.match(pruned.skipped[0]?.why ?? "", /imported here: remove it with pi-crew forget/);
	assert.equal((await cli(["forget", runId], a)).code, 0);
});

/** A tar built entry by entry (any type, any path), gzipped: how an attacker would make one. */
async function tarOf(entries: { path: string; type?: string; data?: Buffer; linkpath?: string }[]): Promise<Buffer> {
	const pack = new Pack({ gzip: true, portable: true, preservePaths: true });
	const chunks: Buffer[] = [];
	pack.on("data", (c: Buffer) => chunks.push(c));
	const done = new Promise<void>((resolve) => pack.on("end", () => resolve()));
	for (const e of entries) {
		const data = e.data ?? Buffer.alloc(0);
		const type = (e.type ?? "File") as "File";
		const header = new Header({ path: e.path, type, size: data.length, mode: 0o644, mtime: new Date(0) });
		if (e.linkpath) header.linkpath = e.linkpath;
		const entry = new ReadEntry(header);
		entry.end(data);
		pack.add(entry);
	}
	pack.end();
	await done;
	return Buffer.concat(chunks);
}

const R = "20250101-000000-abcdef";
const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const logOf = (runId: string, data: object = fixtures.created) =>
	Buffer.from(
		`${JSON.stringify({ v: 1, seq: 1, ts: "2025-01-01T00:00:00.000Z", runId, type: "run.created", data })}\n`,
	);

/** A well-formed bundle of run R: its manifest lists `files` (events.jsonl first) with their sizes and sha256. */
function manifestOf(files: { path: string; data: Buffer }[], over: object = {}) {
	return Buffer.from(
		JSON.stringify({
			schemaVersion: 1,
			kind: "pi-crew-run",
			runId: R,
			created: "2025-01-02T00:00:00.000Z",
			piCrew: "0.3.0",
			run: { status: "pending", team: "t", workflow: "w", createdAt: "2025-01-01T00:00:00.000Z" },
			files: files.map((f) => ({ path: f.path, size: f.data.length, sha256: sha(f.data) })),
			skipped: [],
			...over,
		}),
	);
}

function bundleOf(files: { path: string; data: Buffer }[], extra: Parameters<typeof tarOf>[0] = []) {
	return tarOf([
		{ path: `${R}/manifest.json`, data: manifestOf(files) },
		...files.map((f) => ({ path: `${R}/${f.path}`, data: f.data })),
		...extra,
	]);
}

test("every hostile bundle is refused with a clear error, exit 2, and nothing written", async () => {
	const box = await sandbox();
	await pastRun(box.repo, OLD_RUN, { crewHome: box.env.PI_CREW_HOME });
	const events = { path: "events.jsonl", data: logOf(R) };
	const MiB = 1024 * 1024;
	const zeros = Buffer.alloc(60 * MiB);
	const absolute = join(box.dir, "planted-by-absolute-path");
	const cases: [string, Buffer | (() => Promise<Buffer>), RegExp][] = [
		["absolute", () => bundleOf([events], [{ path: absolute, data: Buffer.from("x") }]), /has an absolute path/],
		["dotdot", () => bundleOf([events], [{ path: `${R}/../x`, data: Buffer.from("x") }]), /leaves its directory/],
		[
			"symlink",
			() => bundleOf([events], [{ path: `${R}/artifacts/l`, type: "SymbolicLink", linkpath: "/etc/passwd" }]),
			/is a symbolic link: only regular files and directories/,
		],
		[
			"hardlink",
			() => bundleOf([events], [{ path: `${R}/artifacts/h`, type: "Link", linkpath: `${R}/events.jsonl` }]),
			/is a hard link/,
		],
		["fifo", () => bundleOf([events], [{ path: `${R}/artifacts/f`, type: "FIFO" }]), /is a FIFO/],
		["device", () => bundleOf([events], [{ path: `${R}/artifacts/d`, type: "CharacterDevice" }]), /character device/],
		[
			"entry over the cap",
			() => bundleOf([events, { path: "artifacts/big", data: Buffer.alloc(64 * MiB + 1) }]),
			/"20250101-000000-abcdef\/artifacts\/big" is 64\.0 MiB; the limit for one file is 64 MiB/,
		],
		[
			"total over the cap",
			() => bundleOf([events, ...[1, 2, 3, 4, 5].map((i) => ({ path: `artifacts/z${i}`, data: zeros }))]),
			/the archive unpacks to more than 256 MiB/,
		],
		[
			"checksum mismatch",
			() =>
				tarOf([
					{
						path: `${R}/manifest.json`,
						data: manifestOf([events, { path: "artifacts/a", data: Buffer.from("good") }]),
					},
					{ path: `${R}/events.jsonl`, data: events.data },
					{ path: `${R}/artifacts/a`, data: Buffer.from("evil") },
				]),
			/artifacts\/a does not match its sha256 in the manifest/,
		],
		[
			"malformed manifest",
			() => tarOf([{ path: `${R}/manifest.json`, data: Buffer.from('{"schemaVersion":1,"kind":"pi-crew-run"}') }]),
			/the manifest is malformed/,
		],
		[
			"manifest not JSON",
			() => tarOf([{ path: `${R}/manifest.json`, data: Buffer.from("{") }, { path: `${R}/events.jsonl` }]),
			/the manifest is not JSON/,
		],
		[
			"newer schema",
			() => tarOf([{ path: `${R}/manifest.json`, data: manifestOf([events], { schemaVersion: 9 }) }]),
			/made by a newer pi-crew \(bundle schema 9/,
		],
		[
			"a file not in the manifest",
			() => bundleOf([events], [{ path: `${R}/artifacts/extra`, data: Buffer.from("x") }]),
			/artifacts\/extra is not in the manifest/,
		],
		[
			"a lease of its own",
			() => bundleOf([events, { path: "lease.json", data: Buffer.from("{}") }]),
			/unexpected file lease\.json: a bundle holds events\.jsonl, coordinator\.log and artifacts\/ only/,
		],
		[
			"a creator mark",
			() => bundleOf([{ path: "events.jsonl", data: logOf(R, { ...fixtures.created, owner: "0".repeat(32) }) }]),
			/carries a creator mark/,
		],
		[
			"another run's log",
			() => bundleOf([{ path: "events.jsonl", data: logOf("20250101-000000-ffffff") }]),
			/is an event of run 20250101-000000-ffffff/,
		],
		["a corrupt log", () => bundleOf([{ path: "events.jsonl", data: Buffer.from("{oops\n") }]), /corrupt line/],
		[
			"two top directories",
			() => bundleOf([events], [{ path: "other/x", data: Buffer.from("x") }]),
			/one top directory \(\S+\); this one has a second: other/,
		],
		[
			"an unsafe run id",
			() => tarOf([{ path: "..x/manifest.json", data: manifestOf([], { runId: "..x" }) }]),
			/invalid run id/,
		],
		["not a tar", Buffer.from("just text, not an archive ".repeat(50)), /not a valid tar archive/],
	];
	const crew = join(box.repo, ".crew");
	const before = await listing(crew);
	for (const [name, make, why] of cases) {
		const file = join(box.dir, `${name.replaceAll(" ", "-")}.tar.gz`);
		await writeFile(file, typeof make === "function" ? await make() : make);
		const res = await cli(["import", file], box);
		assert.equal(res.code, 2, `${name}: ${res.stderr}`);
		assert.match(res.stderr, /^pi-crew: refusing to import .*; nothing was written\n$/, name);
		assert.match(res.stderr, why, name);
		assert.deepEqual(await listing(crew), before, `${name}: nothing written under .crew/`);
	}
	assert.ok(!existsSync(absolute));
	await symlink(join(box.dir, "checksum-mismatch.tar.gz"), join(box.dir, "linked.tar.gz"));
	const linked = await cli(["import", join(box.dir, "linked.tar.gz")], box);
	assert.equal(linked.code, 2);
	assert.match(linked.stderr, /not a regular file \(links are never followed\); nothing was written/);
	// The same builder makes bundles that are taken: the refusals above are for what each case changed.
	await writeFile(join(box.dir, "fine.tar.gz"), await bundleOf([events]));
	const fine = await cli(["import", join(box.dir, "fine.tar.gz")], box);
	assert.equal(fine.code, 0, fine.stderr);
	assert.equal((await json<{ status: string }>(["status", R], box)).status, "interrupted");
});

test("prune and forget never touch a live run: a background coordinator held at a barrier runs on to success", async () => {
	const box = await sandbox();
	await projectTeam(box, "held", [{ id: "one", role: "explorer" }]);
	const release = join(box.repo, "release.flag");
	const scenario = await box.write(
		"scenario.yaml",
		`"task:one":\n  - waitFor: ${JSON.stringify(release)}\n  - say: "one done"\n`,
	);
	const started = await cli(
		["run", "held", "hold on", "--model", SCRIPTED, "--scenario", scenario, "--background"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	const live = started.stdout.trim();
	await pastRun(box.repo, OLD_RUN, { crewHome: box.env.PI_CREW_HOME });
	const liveDir = join(box.repo, ".crew", "runs", live);
	const files = (await listing(liveDir)).map((l) => l.split(" ")[0]);
	const all = ["--status", "succeeded,failed,cancelled,interrupted"];

	const dry = await json<{ removed: { runId: string }[] }>(["prune", "--older-than", "0d", ...all, "--dry-run"], box);
	assert.deepEqual(
		dry.removed.map((r) => r.runId),
		[OLD_RUN],
	);
	assert.ok(existsSync(join(box.repo, ".crew", "runs", OLD_RUN)), "--dry-run deleted nothing");
	const pruned = await cli(["prune", "--older-than", "0d", ...all], box);
	assert.equal(pruned.code, 0, pruned.stderr);
	assert.match(pruned.stdout, new RegExp(`^removed ${OLD_RUN}  succeeded`, "m"));
	assert.match(pruned.stdout, new RegExp(`^left ${live}: its coordinator is alive \\(pid \\d+\\)$`, "m"));
	const forget = await cli(["forget", live], box);
	assert.equal(forget.code, 2);
	assert.match(forget.stderr, new RegExp(`run ${live} is running: its coordinator is alive .*cancel it first`));
	const after = (await listing(liveDir)).map((l) => l.split(" ")[0]);
	assert.deepEqual(
		files.filter((f) => !after.includes(f)),
		[],
		"every file of the live run is still there",
	);

	await writeFile(release, "");
	const followed = await cli(["status", live, "--follow"], box);
	assert.equal(followed.code, 0, followed.stderr);
	assert.equal((await json<{ status: string }>(["status", live], box)).status, "succeeded");
	// Ended now, it is the user's to prune.
	const later = await json<{ removed: { runId: string }[] }>(["prune", "--older-than", "0d"], box);
	assert.deepEqual(
		later.removed.map((r) => r.runId),
		[live],
	);
	const audit = await readFile(join(box.repo, ".crew", "removed-runs.jsonl"), "utf8");
	assert.match(audit, new RegExp(`"runId":"${OLD_RUN}".*"by":"pi-crew prune --older-than 0d --status`));
});

test("the config's prune runs when a coordinator starts, and only when the user's config asks", async () => {
	const box = await sandbox();
	const old = "20200101-000000-0b0b0b";
	const interrupted = "20200101-000000-0c0c0c";
	await pastRun(box.repo, old, { crewHome: box.env.PI_CREW_HOME });
	await pastRun(box.repo, interrupted, { crewHome: box.env.PI_CREW_HOME, status: "interrupted" });
	const run = async () => assert.equal((await cli(["run", "review", "x", "--runtime", "scaffold"], box)).code, 0);
	await run();
	assert.ok(existsSync(join(box.repo, ".crew", "runs", old)), "not asked: nothing pruned");
	// A repository cannot ask for it.
	await box.write(".crew/config.yaml", "prune:\n  olderThanDays: 1\n");
	await run();
	assert.ok(existsSync(join(box.repo, ".crew", "runs", old)), "not from the repository's config");
	await mkdir(box.env.PI_CREW_HOME ?? "", { recursive: true });
	await writeFile(join(box.env.PI_CREW_HOME ?? "", "config.yaml"), "prune:\n  olderThanDays: 7\n");
	await run();
	assert.ok(!existsSync(join(box.repo, ".crew", "runs", old)), "the user's config: pruned");
	assert.ok(existsSync(join(box.repo, ".crew", "runs", interrupted)), "an interrupted run only when named");
	const { runs } = await json<{ runs: unknown[] }>(["list"], box);
	assert.equal(runs.length, 4, "the three new runs and the interrupted one");
	const audit = await readFile(join(box.repo, ".crew", "removed-runs.jsonl"), "utf8");
	assert.match(audit, new RegExp(`"runId":"${old}".*"by":"config prune.olderThanDays: 7"`));
});

test("the team tool exports and imports runs; prune, forget and cleanup list on a dry run and need a confirmation", async () => {
	const box = await sandbox();
	await pastRun(box.repo, OLD_RUN, { crewHome: box.env.PI_CREW_HOME });
	const calls = [
		{ action: "export", kind: "run", runId: OLD_RUN },
		{ action: "import", file: `.crew/exports/${OLD_RUN}.tar.gz` },
		{ action: "export", kind: "run", runId: OLD_RUN, file: "/tmp/elsewhere.tar.gz" },
		{ action: "forget", runId: OLD_RUN, dryRun: true },
		{ action: "forget", runId: OLD_RUN },
		{ action: "prune", olderThan: "7d", dryRun: true },
		{ action: "prune", olderThan: "7d" },
		{ action: "cleanup", dryRun: true },
	];
	const script = calls.map((args) => `  - tool: team\n    args: ${JSON.stringify(args)}`).join("\n");
	const scenario = await box.write("parent.yaml", `default:\n${script}\n  - say: done\n`);
	const asked = await askPi(box, scenario, "manage runs", "json");
	assert.equal(asked.code, 0, asked.stderr);
	const [exported, imported, outside, wouldForget, forget, wouldPrune, prune, clean] = asked.toolResults;
	assert.match(
		exported ?? "",
		new RegExp(
			`^bundle of run ${OLD_RUN} \\(\\d+ files, secrets redacted\\): .*\\.crew/exports/${OLD_RUN}\\.tar\\.gz$`,
		),
	);
	assert.match(imported ?? "", /already exists here/);
	assert.match(outside ?? "", /points outside/);
	assert.equal(wouldForget, `would forget run ${OLD_RUN} (succeeded)`);
	assert.match(forget ?? "", /forget run .* needs the user's confirmation: ask them to do it \(pi-crew forget\)/);
	assert.equal(wouldPrune, `would remove ${OLD_RUN} (succeeded)`);
	assert.match(prune ?? "", /prune 1 run\(s\) needs the user's confirmation/);
	assert.equal(clean, "nothing to clean up");
	assert.ok(
		existsSync(join(box.repo, ".crew", "runs", OLD_RUN, "events.jsonl")),
		"a model's call alone deleted nothing",
	);
});
