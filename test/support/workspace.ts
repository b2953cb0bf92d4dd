/** Scenarios for tests of runs that write: tasks that write files through their bash tool. */
import type { Sandbox } from "./index.js";

/**
 * A scenario where each named task writes `file` with `text` (in a YAML double-quoted string: `\n` is a newline,
 * `\e` an ESC) through its bash tool, then answers `<task> wrote <file>: ` and the directory listing; other tasks list
 * the directory.
 */
export async function writers(box: Sandbox, writes: Record<string, [string, string]>): Promise<string> {
	const steps = Object.entries(writes).map(
		([task, [file, text]]) =>
			`"task:${task}":\n  - tool: bash\n    args: { command: "printf '${text}' > ${file} && ls" }\n  - say: "${task} wrote ${file}: {result}"`,
	);
	return box.write(
		"../scenario.yaml",
		[...steps, 'default:\n  - tool: bash\n    args: { command: ls }\n  - say: "{result}"'].join("\n"),
	);
}
