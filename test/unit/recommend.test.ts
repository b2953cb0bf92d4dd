/** Team recommendation on the builtin teams: realistic goals pick the team their intent calls for. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { chooseTeam } from "../../src/api/recommend.js";
import { loadCatalog } from "../../src/resources/catalog.js";
import { tempDir } from "../support/index.js";

async function builtin() {
	const dir = await tempDir("pi-crew-recommend-");
	return loadCatalog({ repo: join(dir, "repo"), home: join(dir, "home"), trustProject: false });
}

test("realistic goals pick the builtin team their intent calls for", async () => {
	const catalog = await builtin();
	const table: [string, string][] = [
		// A failing test is a fix, not test-writing: "failing test" reads the goal's words before "test" alone does.
		["fix the failing test", "fast-fix"],
		["the tests fail after upgrading node", "fast-fix"],
		["fix the login bug", "fast-fix"],
		["fix typo in README", "fast-fix"],
		// Features want a plan; fast-fix has none. The lighter of the teams that plan wins.
		["add input validation to the signup form", "default"],
		["refactor the payment module", "default"],
		["add a new feature: export as CSV", "implementation"],
		["write tests for the parser", "implementation"],
		["increase test coverage of utils", "implementation"],
		["audit src/auth for security issues", "review"],
		["review my PR", "review"],
		["check this diff for bugs", "review"],
		["document the API", "research"],
		["why does the build take so long", "research"],
		["where is the config loaded", "research"],
		["understand how the scheduler works", "research"],
	];
	const got = table.map(([goal]) => [goal, chooseTeam(catalog, goal)?.team]);
	assert.deepEqual(got, table);
});

test("a longer phrase weighs more, an avoidWhen subtracts, and a tie goes to the lighter team", async () => {
	const catalog = await builtin();
	const choice = chooseTeam(catalog, "fix the failing test");
	const score = (team: string) => choice?.ranked.find((r) => r.team === team)?.score;
	// fix (1 word) + failing test (2 words), at 2 points a word.
	assert.equal(score("fast-fix"), 6);
	assert.deepEqual(choice?.ranked.find((r) => r.team === "fast-fix")?.reasons, [
		'executor: trigger "fix"',
		'executor: trigger "failing test"',
	]);
	// The same for default (it has the executor too): the tie goes to fast-fix, three tasks to four.
	assert.equal(score("default"), 6);
	// implementation: its tester's "test" is read as "failing test", and the tester avoids those.
	assert.equal(score("implementation"), 2);
	assert.ok(
		choice?.ranked
			.find((r) => r.team === "implementation")
			?.reasons.includes('test-engineer: avoid when "failing test"'),
	);
	assert.equal(choice?.why, 'executor: trigger "fix"; executor: trigger "failing test"');
});

test("a goal nothing matches says so and takes the default team", async () => {
	const choice = chooseTeam(await builtin(), "hello there");
	assert.equal(choice?.team, "default");
	assert.equal(choice?.matched, false);
	assert.equal(choice?.why, "nothing in the goal matches a team's agents or names: the default team");
});
