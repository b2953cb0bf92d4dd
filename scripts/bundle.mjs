/**
 * `npm run build`'s last step: the CLI as one bundle (dist/bundle/), what bin/pi-crew.js runs. Loaded file by file,
 * a `pi-crew run` made Node resolve and compile ~720 modules (TypeBox alone is 523) before its first worker: a third
 * of a second of CPU paid by every command. What a command loads lazily stays lazy (split into chunks).
 */
import { rm, writeFile } from "node:fs/promises";
import { build } from "esbuild";

// Chunks are named by their content: the last build's would stay beside the new ones (and ship).
await rm("dist/bundle", { recursive: true, force: true });
await build({
	entryPoints: ["dist/cli/main.js"],
	outdir: "dist/bundle",
	bundle: true,
	splitting: true,
	format: "esm",
	platform: "node",
	target: "node22",
	// pi's packages are the session's (host.ts); the metrics exporters and tar load only for the commands that use them,
	// and load as their authors built them (bundled, the OTLP exporter's class was lost).
	external: ["@earendil-works/*", "@opentelemetry/*", "prom-client", "tar"],
	// yaml is CommonJS and requires Node's modules: give the ESM bundle a `require`.
	banner: {
		js: "import { createRequire as __crewRequire } from 'node:module'; const require = __crewRequire(import.meta.url);",
	},
	logLevel: "warning",
});
// workers/pi-process.ts hands pi the guard extension beside itself: in the bundle, that is here.
await writeFile("dist/bundle/guard-extension.js", 'export { default } from "../workers/guard-extension.js";\n');
