/**
 * Seeing the crew work, as a user would: real pi in tmux with the live board above the editor while a diamond run
 * started from another terminal goes; `pi-crew status --watch` in a terminal, at two widths and through a pipe.
 * Runs are held at barriers (`waitFor` steps), so each state is on screen for as long as the test looks at it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
	CLI,
	cli,
	hasTool,
	projectTeam,
	type RunJson,
	type Sandbox,
	SCRIPTED,
	sandbox,
	tmuxPi,
	waitFor,
} from "../support/index.js";

/** A diamond (a, then b and c, then d) in the background; b and c each wait for a file of the test's. */
async function heldDiamond(box: Sandbox) {
	await projectTeam(box, "diamond", [
		{ id: "a", role: "explorer" },
		{ id: "b", role: "executor", dependsOn: ["a"] },
		{ id: "c", role: "verifier", dependsOn: ["a"] },
		{ id: "d", role: "writer", dependsOn: ["b", "c"] },
	]);
	const release = (task: string) => writeFile(join(box.dir, `go-${task}`), "");
	const scenario = await box.write(
		"../scenario.yaml",
		[
			`"task:b":\n  - tool: bash\n    args: { command: "echo working" }\n  - waitFor: ${join(box.dir, "go-b")}\n  - say: b done`,
			`"task:c":\n  - waitFor: ${join(box.dir, "go-c")}\n  - say: c done`,
			"default:\n  - say: done",
		].join("\n"),
	);
	const started = await cli(
		["run", "diamond", "a goal", "--model", SCRIPTED, "--scenario", scenario, "--background", "--json"],
		box,
	);
	assert.equal(started.code, 0, started.stderr);
	return { runId: (JSON.parse(started.stdout) as RunJson).runId, release };
}

test("pi shows a board of a run started from another terminal: each running task with its time and activity, then clears", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	await box.write(".crew/runs/.keep", ""); // a repository that has had runs: the live view starts with the session
	const pi = await tmuxPi(t, box);
	const { runId, release } = await heldDiamond(box);
	const board = await pi.until("b and c running on the board", (s) => /▶ b /.test(s) && /▶ c /.test(s));
	assert.match(board, new RegExp(`pi-crew diamond · ${runId} · running 1/4 · [\\d.]+m?s`));
	assert.match(board, /▶ b +executor +[\d.]+m?s .*(thinking|bash echo working)/);
	assert.match(board, /▶ c +verifier +[\d.]+m?s .*thinking \([\d.]+m?s\)/);
	assert.match(board, /1 done · 1 waiting/);
	assert.match(board, /crew: 1 run · 2 working · 1\/4 done/, "the footer");
	// Time goes on on screen while nothing is logged.
	const shownTime = () => /▶ c +verifier +([\d.]+m?s)/.exec(pi.screen())?.[1];
	const first = shownTime();
	await pi.until("c's time to move on", () => shownTime() !== first, 10_000);

	await release("b");
	await pi.until("b done", (s) => /running 2\/4/.test(s) && !/▶ b /.test(s));
	await release("c");
	// The finished run stays a moment (on a busy machine the notice may come after it has cleared).
	await pi.until("the finished run on the board", (s) => /succeeded 4\/4/.test(s));
	await pi.until("the run's end notified", (s) => new RegExp(`run ${runId} \\(diamond\\) succeeded`).test(s));
	await pi.until("the board to clear", (s) => !s.includes(`pi-crew diamond · ${runId}`), 30_000);
	assert.doesNotMatch(pi.screen(), /crew: 1 run/, "and the footer");
});

test("status --watch redraws the board in place, keeps to the terminal's width, and exits with the run's code", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	const { runId, release } = await heldDiamond(box);
	const session = `pi-crew-watch-${process.pid}`;
	const command = `cd ${box.repo} && env PI_CREW_HOME=${box.env.PI_CREW_HOME} HOME=${box.env.HOME} ${process.execPath} ${CLI} status ${runId} --watch; echo EXIT=$?; sleep 120`;
	execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", "120", "-y", "30", command]);
	t.after(() => execFileSync("tmux", ["kill-session", "-t", session]));
	const screen = () => execFileSync("tmux", ["capture-pane", "-p", "-t", session]).toString();
	const until = (what: string, check: (s: string) => boolean) =>
		waitFor(what, async () => (check(screen()) ? screen() : undefined), 60_000);
	const running = await until("b and c running", (s) => /▶ b /.test(s) && /▶ c /.test(s));
	assert.match(running, /✓ a +explorer +[\d.]+m?s/);
	assert.match(running, /· d +writer +- +waiting for b, c/);
	assert.equal(running.split(`pi-crew diamond · ${runId}`).length, 2, "one board, redrawn in place");
	execFileSync("tmux", ["resize-window", "-t", session, "-x", "60"]);
	const narrow = await until("the board at 60 columns", (s) =>
		s.split("\n").some((l) => l.startsWith("pi-crew diamond") && l.endsWith("…")),
	);
	for (const line of narrow.split("\n")) assert.ok([...line].length <= 60, line);
	await release("b");
	await release("c");
	const done = await until("the run's end", (s) => s.includes("EXIT="));
	assert.match(done, /succeeded 4\/4/);
	assert.match(done, /EXIT=0/);

	// Not a terminal: progress lines, then the tree.
	const piped = await cli(["status", runId, "--watch"], box);
	assert.equal(piped.code, 0);
	assert.match(piped.stdout, /✓ d succeeded in/);
	assert.ok(!piped.stdout.includes("\u001b["), "no terminal control codes in a pipe");
});
