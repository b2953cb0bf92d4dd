/**
 * The CLI's commands and options for people and for the parser: one table each, from which the whole help, one
 * command's help (`pi-crew run --help`, `pi-crew help run`), the parser's options and the checks of what a command
 * takes (with "did you mean") all derive.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../util/errors.js";
import { suggest } from "../util/suggest.js";

/** One way to call a command: what to type after `pi-crew`, and what it does. */
type Form = readonly [usage: string, what: string];

/** Every command, in the order the help lists them (`_coordinate`, started by pi-crew itself, is not listed). */
export const COMMANDS = {
	run: [['run <team> "<goal>"', "plan the team's workflow, then run it here until it ends; prints the team's answer"]],
	status: [
		["status [runId]", "a run's task tree (default: the latest run)"],
		["status [runId] --follow", "print its progress until it ends (exit code as for run)"],
		["status [runId] --watch", "its live board, redrawn in place until it ends (a pipe: progress lines)"],
	],
	list: [["list", "runs in this repository"]],
	events: [["events [runId]", "a run's event log (default: the latest run)"]],
	summary: [["summary [runId]", "a run's summary (each task's status and answer; default: the latest run)"]],
	result: [["result [runId] [taskId]", "a task's result (default: the latest run's last task to succeed)"]],
	transcript: [["transcript [runId] [taskId]", "a task's transcript: prompt, model text, tool calls and results"]],
	diff: [
		["diff [runId] [taskId]", "what a run (default: the latest) or a task changed, as a unified diff, isolated or not"],
	],
	cancel: [["cancel <runId>", "stop a run (foreground or background) from any process"]],
	steer: [["steer <runId> <taskId> <message>", "send a running task's worker a message, from any process"]],
	approve: [
		[
			"approve <runId> [taskId]",
			"approve a task's answer that waits for approval (--reject: send it back), from any process",
		],
	],
	respond: [["respond <runId> <taskId> <answer>", "answer the question a task waits on, from any process"]],
	resume: [["resume <runId>", "continue an interrupted or cancelled run"]],
	deadletter: [
		["deadletter [runId]", "tasks given up on (retries exhausted, heartbeat dead)"],
		["deadletter requeue <runId> [taskId...]", "run them again"],
		["deadletter add <runId> <taskId>", "put a failed task on the queue by hand"],
	],
	apply: [
		["apply [runId]", "fast-forward the checkout to an isolated run's integration branch"],
		[
			"apply [runId] --branch NAME [--squash] [--push REMOTE]",
			"make branch NAME with the run's work instead (the checkout untouched), its pull-request description in pr.md",
		],
	],
	export: [["export <runId>", "a run as a portable bundle (.tar.gz, secrets redacted)"]],
	import: [
		["import FILE", "restore a bundle as a foreign, read-only run (never resumed here)"],
		[
			"import --from pi-crew|claude DIR",
			"convert another format's agents, teams and workflows into .crew/ (or your resources), with a report per file",
		],
	],
	"export-agents": [["export-agents --format claude|codex|cursor [agent...]", "our agents in another tool's format"]],
	prune: [
		[
			"prune --older-than 7d",
			"remove your ended runs of this repository whose last event is older than that (never a live one)",
		],
	],
	forget: [["forget <runId>", "remove one of your runs (not a live one)"]],
	cleanup: [
		[
			"cleanup",
			"remove stale temp files pi-crew left behind in .crew/, the worktrees and task branches of ended isolated runs whose work is merged, and their integration branches once applied",
		],
	],
	init: [["init", "scaffold .crew/ with an example agent, team and workflow"]],
	trust: [["trust [yes|no]", "show or save pi's trust decision for this repository (as /trust in pi)"]],
	plan: [["plan <team>", "the task graph a run would execute (nothing runs)"]],
	recommend: [['recommend "<goal>"', "which team fits a goal, and why"]],
	validate: [["validate", "check agents, teams and workflows; every problem with file and line"]],
	agents: [["agents", "the agents available here and where each comes from"]],
	teams: [["teams", "the teams available here"]],
	workflows: [["workflows", "the workflows available here"]],
	config: [
		[
			"config",
			"every effective setting and where it came from (default, your config, what this repository's .crew/config.yaml tightens), and what it ignores",
		],
		["config --team T", "each task's model and why, and what the model policy (models.allow) would refuse"],
	],
	doctor: [
		["doctor", "pi, config, resources, interrupted or unreadable runs, search tools"],
		["doctor --export FILE", "a diagnostic report (schemaVersion 2, secrets redacted) to attach to a bug"],
	],
	metrics: [
		["metrics [runId]", "metrics replayed from the run logs"],
		["metrics --serve", "serve GET /metrics for Prometheus (loopback; see docs/observability.md)"],
	],
	demo: [["demo", "fix a failing test in a sample repo with the offline scripted model"]],
	help: [["help [command]", "this help, or one command's: its forms and options"]],
} as const satisfies Record<string, readonly Form[]>;

export type CommandName = keyof typeof COMMANDS | "_coordinate";

type Option = {
	type: "string" | "boolean";
	short?: string;
	/** The value's placeholder in the help (string options). */
	arg?: string;
	text: string;
	/** The commands that take it; `all` for every one. */
	commands: readonly CommandName[] | "all";
};

/** Every option: what it is for, and which commands take it (any other command refuses it, naming itself). */
export const OPTIONS = {
	workflow: {
		type: "string",
		arg: "W",
		text: "the workflow to use (default: the team's)",
		commands: ["run", "plan", "config"],
	},
	team: {
		type: "string",
		arg: "T",
		text: "each task of this team's workflow: its model and why",
		commands: ["config"],
	},
	runtime: {
		type: "string",
		arg: "child|inprocess|auto|scaffold",
		text: "how workers run (default: child, real pi processes)",
		commands: ["run"],
	},
	model: { type: "string", arg: "provider/id", text: "the model of every worker", commands: ["run"] },
	scenario: { type: "string", arg: "FILE", text: "rehearse on the offline scripted model", commands: ["run"] },
	concurrency: { type: "string", arg: "N", text: "tasks running at once (default 4)", commands: ["run"] },
	timeout: { type: "string", arg: "SECONDS", text: "per task (default 900)", commands: ["run"] },
	retry: { type: "boolean", text: "retry failed tasks", commands: ["run"] },
	"max-tokens": { type: "string", arg: "N", text: "the run's token budget", commands: ["run"] },
	"max-cost": { type: "string", arg: "USD", text: "the run's cost budget in US dollars", commands: ["run"] },
	"max-tasks": { type: "string", arg: "N", text: "how many tasks the run may start", commands: ["run"] },
	"max-wall": { type: "string", arg: "SECONDS", text: "the run's wall-clock budget", commands: ["run"] },
	isolation: {
		type: "string",
		arg: "worktree|shared",
		text: "writing tasks in git worktrees of their own (docs/workspaces.md)",
		commands: ["run"],
	},
	apply: { type: "boolean", text: "fast-forward the checkout to the run's work when it succeeds", commands: ["run"] },
	branch: { type: "string", arg: "NAME", text: "make this branch with the run's work", commands: ["apply"] },
	squash: { type: "boolean", text: "the branch's work as one commit (goal and tasks)", commands: ["apply"] },
	push: { type: "string", arg: "REMOTE", text: "push the branch to this git remote", commands: ["apply"] },
	background: {
		type: "boolean",
		text: "start it and return; the run goes on in its own process",
		commands: ["run", "resume", "deadletter"],
	},
	follow: { type: "boolean", short: "f", text: "print progress until the run ends", commands: ["status"] },
	"no-input": {
		type: "boolean",
		text: "nobody answers the workers' questions: config questions.unattended decides (a foreground run without a terminal is the same)",
		commands: ["run", "resume"],
	},
	"follow-up": {
		type: "boolean",
		text: "deliver the message after the worker's current turn, not before its next model call",
		commands: ["steer"],
	},
	drop: {
		type: "string",
		arg: "ID,ID",
		text: "tasks of the adaptive plan not to run (approving the rest)",
		commands: ["approve"],
	},
	reject: {
		type: "string",
		arg: "FEEDBACK",
		text: "reject the answer; its worker gets the feedback and answers again",
		commands: ["approve"],
	},
	watch: { type: "boolean", short: "w", text: "the live board until the run ends", commands: ["status"] },
	from: { type: "string", arg: "pi-crew|claude", text: "the format of the directory to convert", commands: ["import"] },
	user: { type: "boolean", text: "into your resources instead of .crew/", commands: ["import"] },
	format: { type: "string", arg: "claude|codex|cursor", text: "the target format", commands: ["export-agents"] },
	out: {
		type: "string",
		arg: "PATH",
		text: "where to write (export: the bundle file, default .crew/exports/<runId>.tar.gz; export-agents: a directory; diff: a patch for git apply, binary files included)",
		commands: ["export", "export-agents", "diff"],
	},
	force: { type: "boolean", text: "replace existing files", commands: ["import", "export-agents"] },
	"older-than": { type: "string", arg: "AGE", text: "30m, 12h, 7d, 2w (0d: any age)", commands: ["prune"] },
	status: {
		type: "string",
		arg: "S,S",
		text: "succeeded,failed,cancelled,interrupted (default: the ended ones)",
		commands: ["prune"],
	},
	"dry-run": {
		type: "boolean",
		text: "say what would be done, change nothing",
		commands: ["import", "prune", "forget", "cleanup"],
	},
	stat: { type: "boolean", text: "files changed, with lines added and removed", commands: ["diff"] },
	export: { type: "string", arg: "FILE", text: "write a diagnostic report instead", commands: ["doctor"] },
	filter: { type: "string", arg: "GLOB", text: "only these metrics ('crew.task.*')", commands: ["metrics"] },
	prometheus: { type: "boolean", text: "Prometheus text format", commands: ["metrics"] },
	serve: { type: "boolean", text: "serve GET /metrics until stopped", commands: ["metrics"] },
	port: { type: "string", arg: "N", text: "the port to serve on", commands: ["metrics"] },
	json: {
		type: "boolean",
		text: "one JSON document on stdout",
		commands: [
			"run",
			"status",
			"list",
			"events",
			"summary",
			"result",
			"transcript",
			"diff",
			"cancel",
			"steer",
			"approve",
			"respond",
			"resume",
			"deadletter",
			"apply",
			"export",
			"import",
			"export-agents",
			"prune",
			"forget",
			"cleanup",
			"init",
			"trust",
			"plan",
			"recommend",
			"validate",
			"agents",
			"teams",
			"workflows",
			"config",
			"doctor",
			"metrics",
		],
	},
	cwd: { type: "string", arg: "DIR", text: "the repository (default: the current directory)", commands: "all" },
	help: { type: "boolean", short: "h", text: "this command's help", commands: "all" },
	version: { type: "boolean", text: "which pi-crew this is", commands: "all" },
} as const satisfies Record<string, Option>;

type OptionName = keyof typeof OPTIONS;
type ParserOptions = { [K in OptionName]: { type: (typeof OPTIONS)[K]["type"]; short?: string } };

/** What node's parser needs of each option. */
const PARSER = Object.fromEntries(
	Object.entries(OPTIONS).map(([name, o]: [string, Option]) => [
		name,
		o.short ? { type: o.type, short: o.short } : { type: o.type },
	]),
) as ParserOptions;

function parse(argv: string[]) {
	return parseArgs({ args: argv, options: PARSER, allowPositionals: true, strict: true, tokens: true });
}
export type Values = ReturnType<typeof parse>["values"];

const LISTED = Object.keys(COMMANDS);

export function isCommand(name: string): name is CommandName {
	return Object.hasOwn(COMMANDS, name) || name === "_coordinate";
}

/** An unknown command, in one line: the closest one, and where they are listed. */
export function unknownCommand(name: string): UsageError {
	const near = suggest(name, LISTED);
	return new UsageError(
		`unknown command "${name}"${near ? `; did you mean ${near}?` : ""} (pi-crew --help lists them)`,
	);
}

function takes(option: Option, command: CommandName): boolean {
	return option.commands === "all" || option.commands.includes(command);
}

/**
 * argv parsed: the command, its arguments, its options. An option nobody takes is refused with the closest one its
 * command takes; an option of another command is refused naming the command.
 */
export function parseCommandLine(argv: string[]): { command?: string; args: string[]; values: Values } {
	// Unknown options are found on a lenient pass first, so that the command they follow can be named.
	const { tokens } = parseArgs({ args: argv, options: PARSER, allowPositionals: true, strict: false, tokens: true });
	const first = tokens.find((t) => t.kind === "positional");
	const command = first?.kind === "positional" && isCommand(first.value) ? first.value : undefined;
	for (const t of tokens) {
		if (t.kind !== "option" || Object.hasOwn(OPTIONS, t.name)) continue;
		const candidates = Object.entries(OPTIONS)
			.filter(([, o]: [string, Option]) => !command || takes(o, command))
			.map(([name]) => name);
		const near = t.rawName.startsWith("--") ? suggest(t.name, candidates) : undefined;
		const where = command ? `pi-crew ${command} --help lists its options` : "pi-crew --help lists the commands";
		throw new UsageError(
			`unknown option ${t.rawName}${command ? ` for ${command}` : ""}${near ? `; did you mean --${near}?` : ""} (${where})`,
		);
	}
	const { values, positionals } = parse(argv);
	const [name, ...args] = positionals;
	if (name !== undefined && isCommand(name) && !values.help)
		for (const [option, value] of Object.entries(values)) {
			const o: Option = OPTIONS[option as OptionName];
			if (value !== undefined && !takes(o, name))
				throw new UsageError(`${name} does not take --${option} (pi-crew ${name} --help lists its options)`);
		}
	return { command: name, args, values };
}

const WIDTH = 118;
const COLUMN = 38;

/** `text` wrapped at WIDTH, each line after the first indented by `indent`. */
function wrap(text: string, indent: number, first: number): string {
	const lines: string[] = [];
	let line = "";
	let room = WIDTH - first;
	for (const word of text.split(" ")) {
		if (line && line.length + 1 + word.length > room) {
			lines.push(line);
			line = word;
			room = WIDTH - indent;
		} else line = line ? `${line} ${word}` : word;
	}
	lines.push(line);
	return lines.join(`\n${" ".repeat(indent)}`);
}

/** A usage and its text, the text in a column (or on the next line when the usage is longer). */
function row(usage: string, text: string, column = COLUMN): string {
	const left = `  ${usage}`;
	if (left.length < column - 1) return `${left.padEnd(column)}${wrap(text, column, column)}`;
	return `${left}\n${" ".repeat(column)}${wrap(text, column, column)}`;
}

/** The whole help: every command's forms. */
export function usage(): string {
	const rows = Object.values(COMMANDS).flatMap((forms) => forms.map(([u, what]) => row(`pi-crew ${u}`, what)));
	return [
		"pi-crew: run teams of pi agents on a repository",
		"",
		"Usage:",
		...rows,
		"",
		row("pi-crew --version", "which pi-crew this is"),
		row("pi-crew <command> --help", "a command's forms and options (so does pi-crew help <command>)"),
		"",
		"Every command takes --cwd DIR (the repository; default: the current directory).",
		"Exit codes: 0 success, 1 run failed or cancelled, 2 bad usage or invalid resources.",
		"Docs: README.md, docs/lifecycle.md, docs/conversation.md, docs/scripted-model.md, docs/observability.md",
	].join("\n");
}

/** One command's help: its forms, then every option it takes. */
export function commandUsage(command: keyof typeof COMMANDS): string {
	const options = Object.entries(OPTIONS)
		.filter(([, o]: [string, Option]) => takes(o, command) && o.commands !== "all")
		.map(([name, o]: [string, Option]) =>
			row(`--${name}${o.short ? `, -${o.short}` : ""}${o.arg ? ` ${o.arg}` : ""}`, o.text),
		);
	return [
		...COMMANDS[command].map(([u, what]) => row(`pi-crew ${u}`, what)),
		"",
		"Options:",
		...options,
		row("--cwd DIR", OPTIONS.cwd.text),
		"",
		"Exit codes: 0 success, 1 run failed or cancelled, 2 bad usage or invalid resources.",
	].join("\n");
}

/** The help asked for (`--help`, `help`, `help <command>`, `<command> --help`), or why none can be given. */
export function help(command: string | undefined, args: string[]): string {
	const topic = command === "help" ? args[0] : command;
	if (topic === undefined || topic === "help") return usage();
	if (!Object.hasOwn(COMMANDS, topic)) throw unknownCommand(topic);
	return commandUsage(topic as keyof typeof COMMANDS);
}
