// Solvers by name, and solving a model FILE (.lp or .mps) with any of them: the check behind
// `robustc compile --solve`, which reads back column values by the names the solver reports.

import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { createCbc, cbcBackend } from "./cbc.js";
import { createClp, clpBackend } from "./clp.js";
import { withTempDir, fileSolution } from "./external.js";
import { createGlpk, glpkBackend } from "./glpk.js";
import { createHighs, solveLpTextWithHighs, solveMpsTextWithHighs } from "./highs.js";
import { createHighsCli, highsCliBackend } from "./highs-cli.js";
import { SOLVER_NAMES, type FileSolution, type SolveOptions, type Solver, type SolverName } from "./types.js";

export { SOLVER_NAMES, type SolverName };

export function isSolverName(s: string): s is SolverName {
  return (SOLVER_NAMES as readonly string[]).includes(s);
}

export function getSolver(name: SolverName): Solver {
  switch (name) {
    case "highs":
      return createHighs();
    case "glpk":
      return createGlpk();
    case "clp":
      return createClp();
    case "cbc":
      return createCbc();
    case "highs-cli":
      return createHighsCli();
  }
}

/**
 * Solves the model in `path` (format by extension: .lp or .mps) with `solver`; values are keyed by the
 * column names the solver reports. The objective is the solver's own, and with an objective constant in
 * the file it differs by reader (measured: an LP constant is added by HiGHS, subtracted by Clp, dropped
 * by CBC, rejected by GLPK; an MPS objective RHS is −constant except for GLPK, +constant): evaluate the
 * values rather than trust it. GLPK 5.0 rejects an MPS OBJSENSE section; Clp and CBC ignore it, so they
 * get `-maximize` here. Clp solves the LP relaxation of a file with integer columns.
 */
export async function solveFile(path: string, solver: SolverName, opts: SolveOptions = {}): Promise<FileSolution> {
  const t0 = performance.now();
  const ext = extname(path).toLowerCase();
  if (ext !== ".lp" && ext !== ".mps")
    return fileSolution(solver, t0, "error", null, null, `${path}: expected a .lp or .mps file`);
  const format = ext === ".lp" ? "lp" : "mps";
  if (solver === "highs") {
    const text = await readFile(path, "utf8").catch(() => null);
    if (text === null) return fileSolution(solver, t0, "error", null, null, `${path}: cannot read`);
    return format === "lp" ? solveLpTextWithHighs(text, opts) : solveMpsTextWithHighs(text, opts);
  }
  const backend =
    solver === "glpk"
      ? glpkBackend()
      : solver === "clp"
        ? clpBackend()
        : solver === "cbc"
          ? cbcBackend()
          : highsCliBackend();
  return withTempDir(solver, (dir) => backend.solveFile(resolve(path), format, opts, dir));
}
