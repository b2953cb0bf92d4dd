/** `plan`: a team's task graph and the models its tasks would run on, without running anything. */
import { context } from "./context.js";

/** A team's task graph without running anything: what `run` would do. */
export interface PlanView {
	team: string;
	workflow: string;
	/** `model`: what the task would run on (`provider/id` as resolved), absent for pi's own default. */
	tasks: { id: string; role: string; agent: string; dependsOn: string[]; task: string; model?: string }[];
	/** pi's default model (for tasks without one) as a run here would find it. */
	piDefault?: string;
	/** The models a run would refuse, each with what to do. */
	modelProblems: string[];
}

/** What `run` would do for `team` here: its tasks, each with its model, and the models a run would refuse. */
export async function planTeam(
	cwd: string | undefined,
	team: string,
	workflow?: string,
	sessionModel?: string,
): Promise<PlanView> {
	const { repo, catalog, config } = await context(cwd);
	const { planRun, modelsOf, taskModels } = await import("../engine/plan.js");
	const plan = planRun(catalog, team, workflow);
	const settings = { defaultModel: config.values.model ?? sessionModel };
	const { resolveEach } = await import("./models.js");
	const found = await resolveEach(modelsOf(plan, settings), repo, config.user.claude?.models);
	return {
		team: plan.team,
		workflow: plan.workflow,
		tasks: plan.tasks.map((t) => {
			const model = taskModels({ ...settings, models: found.models }, t)[0];
			return {
				id: t.id,
				role: t.role,
				agent: t.agent.name,
				dependsOn: t.dependsOn,
				task: t.template,
				...(model ? { model } : {}),
			};
		}),
		...(found.piDefault ? { piDefault: found.piDefault } : {}),
		modelProblems: found.problems,
	};
}
