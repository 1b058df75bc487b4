// Stand-in for the native `highs` executable (not packaged in Debian 12), for tests only: the command-line
// options robustc passes, solved by the npm WebAssembly build, the solution file from HiGHS' own writer.

import { readFileSync, writeFileSync } from "node:fs";
import loadHighs from "highs";

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const h = await loadHighs();
if (args.includes("--version")) {
  console.log(`HiGHS version ${h.version.string} (WebAssembly stand-in)`);
  process.exit(0);
}
const file = option("--model_file") ?? args.at(-1);
let text;
try {
  text = readFileSync(file, "utf8");
} catch {
  console.error(`Model file ${file} not found`);
  process.exit(1);
}
const model = h.createModel();
try {
  model.options.set({ output_flag: false });
  model.readModel({ format: file.endsWith(".lp") ? "lp" : "mps", data: text });
  const options = option("--options_file");
  if (options) model.options.read(readFileSync(options, "utf8"));
  const timeLimit = option("--time_limit");
  if (timeLimit !== undefined) model.options.set("time_limit", Number(timeLimit));
  const presolve = option("--presolve");
  if (presolve !== undefined) model.options.set("presolve", presolve);
  model.run();
  const solution = option("--solution_file");
  if (solution) writeFileSync(solution, model.exportSolution(false));
  console.log("HiGHS run time (WebAssembly stand-in):", model.getRunTime());
} catch (e) {
  console.error(String(e));
  process.exit(1);
} finally {
  model.dispose();
}
