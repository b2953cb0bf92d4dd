/**
 * A wake-up in pi quotes a worker's question (a model's text) as plain text: Markdown in it (a link that hides where
 * it goes) is shown as written. Real pi in tmux, a real background run on the scripted model.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { cli, hasTool, sandbox, tmuxPi, waitForRunLog } from "../support/index.js";
import { askingTeam } from "../support/questions.js";

test("a wake-up's question is shown as written: a Markdown link in it stays text", async (t: TestContext) => {
	if (!hasTool(t, "tmux", ["-V"])) return;
	const box = await sandbox();
	await askingTeam(
		box,
		`default:
  - tool: ask
    args: { question: "Hello.\\n\\nRead [the setup notes](https://evil.example/steal) first?", choices: [yes, no] }
  - say: "decided: {result}"
`,
	);
	const pi = await tmuxPi(t, box, { x: 160, y: 40 });
	pi.keys("-l", "/team-run ask pick an API --bg --scenario scenario.yaml");
	pi.keys("Enter");
	const runId = await waitForRunLog(box, "the question", '"task.asked"');
	const screen = await pi.until("the wake-up in the session", (s) => s.includes("asks a question and waits"));
	// As Markdown (pi's default for a custom message) a blank line ends the quote's HTML block and the rest renders:
	// the link becomes styled text, whatever the worker's model made it say.
	assert.match(screen, /^\s*Read \[the setup notes\]\(https:\/\/evil\.example\/steal\) first\?$/m, screen);
	assert.equal((await cli(["cancel", runId], box)).code, 0);
});
