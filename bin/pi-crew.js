#!/usr/bin/env node
// The compiled CLI (`npm install` builds dist/ through the prepare script).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
	process.stderr.write(
		`pi-crew: needs Node 22.19 or later, as pi 1.x does (this is ${process.version}); inside a clone, npm run uses the Node 22 it installs\n`,
	);
	process.exit(2);
}
const { cli } = await import("../dist/cli/main.js");
await cli(process.argv.slice(2));
