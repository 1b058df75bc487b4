#!/usr/bin/env node
// The robustc command: runs the compiled CLI (make build writes dist/).
import { main } from "../dist/runtime/cli.js";
process.exitCode = await main(process.argv.slice(2));
