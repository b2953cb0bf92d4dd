/**
 * Applying a run from pi (the `team` tool's `apply` action, `/team-apply`): a fast-forward of the checkout, or with a
 * branch the run's work as that branch (`squash`: one commit; `push`: to a remote), as `pi-crew apply` does.
 */
import { type Confirm, pushConfirmation } from "./confirm.js";
import { lazy } from "./lazy.js";

export interface ApplyOptions {
	branch?: string;
	squash?: boolean;
	push?: string;
}

/**
 * Applies run `runId` (default: the latest) and says what became of it, with the result's fields. `by`: the user
 * (a command they typed), or the model, whose push the user confirms first (`confirm`: absent without a UI, and the
 * push is refused): a push is outward and cannot be undone.
 */
export async function applyRun(
	cwd: string,
	runId: string | undefined,
	o: ApplyOptions,
	by: "user" | { confirm: Confirm | undefined },
): Promise<{ text: string; details: object }> {
	if (o.branch === undefined && !o.squash && !o.push) {
		const done = await (await lazy.api()).applyRun(cwd, runId);
		const moved = done.from === done.to ? "already had" : `moved from ${done.from.slice(0, 12)} to`;
		return { text: `run ${done.runId}: the checkout ${moved} ${done.to.slice(0, 12)} (${done.branch})`, details: done };
	}
	const confirmPush = by === "user" ? undefined : pushConfirmation(by.confirm, o.push);
	const req = { branch: o.branch, squash: o.squash, push: o.push, ...(confirmPush && { confirmPush }) };
	const done = await (await lazy.handover()).handOver(cwd, runId, req);
	const pushed = done.pushed ? `, pushed to ${done.pushed}` : "";
	return {
		text: `run ${done.runId}: branch ${done.branch} at ${done.commit.slice(0, 12)} (${done.commits} commit(s) on ${done.base.slice(0, 12)})${pushed}; the checkout is as it was. Pull-request description: ${done.prPath}`,
		details: done,
	};
}
