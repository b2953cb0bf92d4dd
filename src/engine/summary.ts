/** `summary.md` of a run, rendered from its folded state. */
import { type RunState, shownUsage, type TaskState } from "../store/events.js";
import { runningMs } from "../store/fold.js";
import { type LoopRound, loopRounds } from "./rounds.js";

export function formatDuration(ms: number | undefined): string {
	if (ms === undefined) return "-";
	return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** US dollars as pi reports them: to the cent, or four places below a cent. */
export function formatCost(usd: number): string {
	return `$${usd < 0.01 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

export function formatTokens(n: number): string {
	return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

function budgetLine(state: RunState): string {
	const b = state.settings.budget;
	if (!b) return "";
	const parts = [
		b.maxTokens !== undefined ? `${formatTokens(b.maxTokens)} tokens` : "",
		b.maxCost !== undefined ? `$${b.maxCost}` : "",
		b.maxTasks !== undefined ? `${b.maxTasks} tasks` : "",
		b.maxWallMs !== undefined ? `${Math.round(b.maxWallMs / 1000)}s` : "",
	].filter(Boolean);
	return `; budget: ${parts.join(", ")}`;
}

/** `12.3k (input 12.0k: 9.1k cache read, 2.9k cache write; output 300)`. */
export function tokensLine(state: Pick<RunState, "usage">): string {
	const u = shownUsage(state.usage);
	const cached = [
		u.cacheRead > 0 ? `${formatTokens(u.cacheRead)} cache read` : "",
		u.cacheWrite > 0 ? `${formatTokens(u.cacheWrite)} cache write` : "",
	].filter(Boolean);
	const cost = u.cost !== undefined ? `, cost ${formatCost(u.cost)}` : "";
	return `${formatTokens(u.total)} (input ${formatTokens(u.input)}${cached.length > 0 ? `: ${cached.join(", ")}` : ""}; output ${formatTokens(u.output)})${cost}`;
}

function row(t: TaskState, state: RunState): string {
	const outcome = t.reason ? t.reason.replace(/\|/g, "\\|").replace(/\n/g, " ") : (t.resultPath ?? "");
	return `| ${t.id} | ${t.role} (${t.agent}) | ${t.status} | ${t.attempts.length} | ${formatDuration(runningMs(t.attempts, Date.parse(state.lastAt)))} | ${formatTokens(t.usage.total)} | ${t.usage.cost === undefined ? "-" : formatCost(t.usage.cost)} | ${outcome} |`;
}

/** `; last finding: tests fail`: the first line of what the loop's latest round was judged for. */
function lastFinding(r: LoopRound): string {
	const line = r.lastFinding?.trim().split("\n")[0];
	return line ? `; last finding: ${line}` : "";
}

export function renderSummary(state: RunState, status: string, reason?: string): string {
	const tasks = [...state.tasks.values()];
	return [
		`# Run ${state.runId}: ${status}`,
		"",
		`- Team: ${state.team}, workflow: ${state.workflow}, runtime: ${state.settings.runtime}${state.settings.model ? `, model: ${state.settings.model}` : ""}`,
		`- Goal: ${state.goal.split("\n")[0]}`,
		reason ? `- Reason: ${reason}` : "",
		`- Tokens: ${tokensLine(state)}${budgetLine(state)}`,
		state.resumes > 0 ? `- Resumed ${state.resumes} time(s)` : "",
		...loopRounds(state)
			.filter((r) => r.round > 1)
			.map((r) => `- Loop ${r.step} → ${r.to}: ${r.round} of at most ${r.max} rounds${lastFinding(r)}`),
		"",
		"| task | role (agent) | status | attempts | time | tokens | cost | result or reason |",
		"|---|---|---|---|---|---|---|---|",
		...tasks.map((t) => row(t, state)),
		"",
	]
		.filter((l, i, all) => l !== "" || all[i - 1] !== "")
		.join("\n");
}
