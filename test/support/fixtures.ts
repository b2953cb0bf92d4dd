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

/** Inputs built to make a backtracking matcher revisit what it has scanned, one shape per risky pattern. */
export const ADVERSARIAL_REDACT_INPUTS: [string, (n: number) => string][] = [
	["identifier runs with dashes", (n) => "a-".repeat(n)],
	["long identifier", (n) => "a".repeat(2 * n)],
	["separators", (n) => "a=".repeat(n)],
	["BEGIN lines without END", (n) => "-----BEGIN RSA PRIVATE KEY-----\n".repeat(Math.ceil(n / 16))],
	["base64url blob", (n) => Buffer.alloc(n, "x7-_").toString()],
	["bearer words", (n) => "bearer ".repeat(Math.ceil(n / 4))],
	["query parameters", (n) => "?a=".repeat(n)],
	["URL without credentials", (n) => `https://${"u:".repeat(n)}`],
	["JWT look-alikes", (n) => "eyJabcdefghijklmn.eyJ".repeat(Math.ceil(n / 8))],
	["secret names without values", (n) => "password=".repeat(Math.ceil(n / 4))],
];
