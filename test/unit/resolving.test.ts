/** A conflict in the resolver's hands, as the log folds it and the board and status show it. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { foldEvents } from "../../src/store/fold.js";
import { renderBoard } from "../../src/view/board.js";
import { renderRun } from "../../src/view/render.js";
import { eventBuilder, fixtures } from "../support/index.js";

test("a task whose conflict the resolver works on reads resolving conflict; a failed resolution's reason says why", () => {
	const ev = eventBuilder();
	const events = [
		ev("run.created", { ...fixtures.created, team: "t" }),
		ev("task.planned", fixtures.planned(), "b"),
		ev("run.started", { pid: 1 }),
		ev("task.started", { attempt: 1, promptPath: "p" }, "b"),
		ev("task.committed", { resultPath: "r", chars: 1, commit: "c1", base: "c0" }, "b"),
		ev("task.resolving", { files: ["config.py"], agent: "merger", from: "c1", into: "i1" }, "b"),
		ev("task.tool", { tool: "edit", phase: "start", summary: "config.py" }, "b"),
	];
	const resolving = foldEvents(events);
	assert.ok(resolving);
	assert.deepEqual(resolving.tasks.get("b")?.resolving, { files: ["config.py"], agent: "merger", from: "c1" });
	const board = renderBoard({ state: resolving, status: "running" }, { now: Date.parse(resolving.lastAt), width: 120 });
	assert.match(board[1]?.text ?? "", /▶ b .* resolving conflict \(merger\) · edit config\.py/);
	const view = {
		state: resolving,
		status: "running" as const,
		problems: [],
		paths: {} as never,
		integrity: "verified" as const,
	};
	assert.match(renderRun(view), /\(resolving conflict in config\.py\)/);

	const failed = foldEvents([
		...events,
		ev("task.resolved", { failed: "the resolver merger left conflict markers in config.py" }, "b"),
		ev(
			"task.conflicted",
			{
				files: ["config.py"],
				branch: "br",
				worktree: "wt",
				resolver: "the resolver merger left conflict markers in config.py",
			},
			"b",
		),
	]);
	const task = failed?.tasks.get("b");
	assert.equal(task?.resolving, undefined);
	assert.equal(task?.resolutions, 1);
	assert.equal(
		task?.reason,
		"needs attention: merging its work conflicts in config.py; the resolver merger left conflict markers in config.py",
	);
});
