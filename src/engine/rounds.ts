/** A run's loop rounds as its fold has them: what `status`, the board, the dashboard and `summary.md` show of loops. */
import type { RunState, TaskState } from "../store/events.js";

/** One loop step of a run: it sends `to` back while its verdict is not clean, `round` of at most `max` so far. */
export interface LoopRound {
	step: string;
	to: string;
	round: number;
	max: number;
	/** What the step's latest verdict found when it was not clean, else what the last round was sent back with. */
	lastFinding?: string;
}

/** Every loop step of the run, in plan order, with the round it is in (1 until its first loop back). */
export function loopRounds(state: RunState): LoopRound[] {
	const out: LoopRound[] = [];
	for (const t of state.tasks.values()) {
		if (!t.loop) continue;
		const finding = t.verdict && !t.verdict.clean ? t.verdict.findings : state.tasks.get(t.loop.to)?.finding;
		out.push({
			step: t.id,
			to: t.loop.to,
			round: t.round ?? 1,
			max: t.loop.max,
			...(finding ? { lastFinding: finding } : {}),
		});
	}
	return out;
}

/** A task as the views name it: `execute`, or `execute ×2` in its second loop round. */
export function roundName(t: Pick<TaskState, "id" | "round">): string {
	return t.round && t.round > 1 ? `${t.id} ×${t.round}` : t.id;
}
