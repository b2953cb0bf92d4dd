/** Slash commands in a real pi: over RPC (headless) and in an interactive terminal under tmux. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { askPi, cli, hasTool, type RunJson, rpc, sandbox, tmuxPi } from "../support/index.js";

test('/team-run fix the login bug: "fix" is not a team; the whole text is the goal, the team is recommended', async () => {
	const box = await sandbox();
	// Until the end is told and the board shows it (the notice comes first, the frame at the same poll).
	const ui = await rpc(
		box,
		"/team-run fix the login bug",
		(r) =>
			r.some((x) => x.method === "notify" && /pi-crew: run \S+ \(fast-fix\) succeeded/.test(x.message ?? "")) &&
			r.some((x) => x.widgetLines?.some((l) => / · succeeded 3\/3 · /.test(l))),
	);
	const notes = ui.filter((x) => x.method === "notify").map((x) => x.message ?? "");
	assert.match(
		notes[0] ?? "",
		/^pi-crew: team fast-fix \(recommended: executor: trigger "fix".*\): fix the login bug$/,
	);
	assert.match(
		notes.at(-1) ?? "",
		/^pi-crew: run (\S+) \(fast-fix\) succeeded in [\d.]+m?s, [\d.]+k? tokens; see \/team-status \1$/,
	);
	// The live board follows the run: each task running in turn, then the run done.
	const boards = ui.filter((x) => x.method === "setWidget").flatMap((x) => x.widgetLines ?? []);
	for (const task of ["explore", "fix", "verify"])
		assert.ok(
			boards.some((l) => new RegExp(`^ {2}▶ ${task} +\\w+ +[\\d.]+m?s`).test(l)),
			`${task} shown running`,
		);
	assert.ok(boards.some((l) => /^pi-crew fast-fix · \S+ · succeeded 3\/3 · /.test(l)));
	assert.ok(
		ui.some((x) => x.method === "setStatus" && /^crew: 1 run · \d working · \d\/3 done$/.test(x.statusText ?? "")),
		"the footer says what runs",
	);
	const run = JSON.parse((await cli(["status", "--json"], box)).stdout) as RunJson & { goal: string; team: string };
	assert.equal(run.team, "fast-fix");
	assert.equal(run.goal, "fix the login bug");
});

test("/team-run with a known team runs that team on the rest of the text", async () => {
	const box = await sandbox();
	const ui = await rpc(box, "/team-run research how the config is loaded", (r) =>
		r.some((x) => /pi-crew: run \S+ \(research\) succeeded/.test(x.message ?? "")),
	);
	assert.match(
		ui.filter((x) => x.method === "notify")[0]?.message ?? "",
		/^pi-crew: team research: how the config is loaded$/,
	);
});

test("/team-run --bg: the run goes on in a background coordinator and the session hears when it ends", async () => {
	const box = await sandbox();
	const ui = await rpc(box, "/team-run research where the tests are --bg", (r) =>
		r.some((x) => /pi-crew: run \S+ \(research\) succeeded/.test(x.message ?? "")),
	);
	const notes = ui.filter((x) => x.method === "notify").map((x) => x.message ?? "");
	assert.match(notes[1] ?? "", /^pi-crew: run (\S+) \(team research\) continues in the background$/);
	const runId = /run (\S+) \(team research\)/.exec(notes[1] ?? "")?.[1];
	assert.equal(notes.filter((n) => n.startsWith(`pi-crew: run ${runId} (research) succeeded`)).length, 1, "once");
	const run = JSON.parse((await cli(["status", runId ?? "", "--json"], box)).stdout) as RunJson;
	assert.equal(run.status, "succeeded");
});

test("interactive pi under tmux: /team-list shows the runs in a widget", async (t) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	const seeded = await cli(["run", "review", "seed a run", "--runtime", "scaffold", "--json"], box);
	const runId = (JSON.parse(seeded.stdout) as RunJson).runId;
	const pi = await tmuxPi(t, box);
	pi.keys("/team-list", "Enter");
	const shown = await pi.until("the run list", (screen) => screen.includes(runId), 30_000);
	assert.match(shown, new RegExp(`${runId}\\s+succeeded\\s+review`));
});

test("/team-autonomy sets the profile in the user's config; then the agent may not start runs, only suggest them", async () => {
	const box = await sandbox();
	const { readFile } = await import("node:fs/promises");
	await box.write("../crew-home/config.yaml", "# my settings\nconcurrency: 2\n");
	const set = await rpc(box, "/team-autonomy suggested", (r) =>
		r.some((x) => /autonomy: suggested/.test(x.message ?? "")),
	);
	assert.match(set.at(-1)?.message ?? "", /^pi-crew autonomy: suggested \(saved in .*config\.yaml\)$/);
	const config = await readFile(join(box.dir, "crew-home", "config.yaml"), "utf8");
	assert.match(config, /# my settings\nconcurrency: 2\nautonomy: suggested\n/, "the rest of the file is kept");

	const scenario = await box.write(
		"parent.yaml",
		`default:\n  - tool: team\n    args: { action: run, team: fast-fix, goal: "fix it" }\n  - say: "{result}"\n`,
	);
	const { code, stdout, stderr } = await askPi(box, scenario, "fix it");
	assert.equal(code, 0, stderr);
	assert.match(stdout, /autonomy profile is "suggested": do not start runs yourself\. Suggest it to the user instead/);
	const listed = await cli(["list", "--json"], box);
	assert.equal(listed.code, 0, listed.stderr);
	assert.deepEqual((JSON.parse(listed.stdout) as { runs: unknown[] }).runs, [], "no run was started");
});

test("/team-init, /team-status, /team-doctor and /team-cancel over RPC", async () => {
	const box = await sandbox();
	const init = await rpc(box, "/team-init", (r) => r.some((x) => /file\(s\) created in \.crew/.test(x.message ?? "")));
	assert.match(
		init.find((x) => x.method === "notify")?.message ?? "",
		/^pi-crew: 4 file\(s\) created in \.crew\/; try \/team-run docs/,
	);
	const seeded = JSON.parse(
		(await cli(["run", "docs", "the readme", "--runtime", "scaffold", "--json"], box)).stdout,
	) as RunJson;
	const status = await rpc(box, "/team-status", (r) =>
		r.some((x) => /pi-crew: run \S+ succeeded/.test(x.message ?? "")),
	);
	assert.ok(
		status.some((x) => x.method === "setWidget" && x.widgetLines?.some((l) => l.includes(seeded.runId))),
		"the tree is shown",
	);
	const doctor = await rpc(box, "/team-doctor", (r) => r.some((x) => /pi-crew doctor:/.test(x.message ?? "")));
	assert.ok(
		doctor.some(
			(x) => x.method === "setWidget" && x.widgetLines?.some((l) => /^ok {3}pi: 1\.\d+\.\d+ \(pi session: /.test(l)),
		),
	);
	const cancel = await rpc(box, `/team-cancel ${seeded.runId}`, (r) =>
		r.some((x) => /pi-crew: run/.test(x.message ?? "")),
	);
	assert.match(
		cancel.find((x) => x.method === "notify")?.message ?? "",
		new RegExp(`run ${seeded.runId}: already ended \\(succeeded\\)`),
	);
});
