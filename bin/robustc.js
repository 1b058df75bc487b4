#!/usr/bin/env node
// The robustc command: runs the compiled CLI (make build writes dist/).
import { main } from "../dist/runtime/cli.js";
// A reader that stops early (`robustc predict ... | head`) closes stdout: end quietly, as Unix tools do.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
