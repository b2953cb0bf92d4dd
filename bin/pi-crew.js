#!/usr/bin/env node
// The compiled CLI (`npm install` builds dist/ through the prepare script).
import { cli } from "../dist/cli/main.js";

await cli(process.argv.slice(2));
