#!/usr/bin/env node
// The CLI ships as TypeScript source (one form, no build step): tsx loads it.
import { register } from "tsx/esm/api";

register();
const { cli } = await import("../src/cli/main.ts");
await cli(process.argv.slice(2));
