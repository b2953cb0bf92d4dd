/** Event payloads for hand-written logs (tests and bench; no test-runner imports here). */
export const fixtures = {
	created: {
		goal: "g",
		team: "t",
		workflow: "w",
		cwd: "/",
		settings: {
			runtime: "child",
			concurrency: 2,
			taskTimeoutMs: 60_000,
			heartbeat: { warnMs: 30_000, staleMs: 60_000, deadMs: 300_000, pollMs: 5_000, deadTicks: 3 },
		},
	},
	planned: (dependsOn: string[] = []) => ({
		role: "r",
		agent: "explorer",
		dependsOn,
		template: "do {goal}",
		output: "out",
	}),
};
