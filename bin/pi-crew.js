#!/usr/bin/env node
// The compiled CLI (dist/ ships in the package; in a clone, `npm install` builds it through the prepare script).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
	// The exact command again, on a Node 22 that npx fetches: control characters shown as "?", shell-quoted.
	const quote = (arg) =>
		/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/[\p{Cc}]/gu, "?").replace(/'/g, "'\\''")}'`;
	const script = process.argv[1] ?? "";
	const self = /[\\/]pi-crew$/.test(script) ? "pi-crew" : `node ${quote(script)}`;
	const again = [self, ...process.argv.slice(2).map(quote)].join(" ");
	process.stderr.write(
		[
			`pi-crew: needs Node 22.19 or later, as pi 1.x does; this is Node ${process.version}. Either:`,
			`  - run it on a Node 22 that npm fetches, nothing to install: npx -y -p node@22 ${again}`,
			"  - or install Node 22 (nvm install 22, or a package from https://nodejs.org) and run pi-crew again",
			"In a clone of pi-crew, `npm run demo` and `npm test` already use the Node 22 that `npm install` brings.",
			"",
		].join("\n"),
	);
	process.exit(2);
}
// Under a pi session (a background coordinator, a run started from the session's shell), pi's packages are the
// session's: when pi installed pi-crew they are not beside it (pi installs no peers), and workers run that pi anyway.
const { shareHostModules } = await import("../dist/host.js");
const { sessionPiEntry } = await import("../dist/workers/host-pi.js");
shareHostModules(sessionPiEntry());
const { cli } = await import("../dist/bundle/main.js");
await cli(process.argv.slice(2));
