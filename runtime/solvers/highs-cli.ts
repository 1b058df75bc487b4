// The native HiGHS executable (`highs`, not packaged in Debian 12) as a Solver: options through an
// options file, the raw solution file (`write_solution_style = 0`) parsed back into values by name.

import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FileSolution, SolveOptions, SolveStatus, Solver } from "./types.js";
import { FEASIBILITY_TOLERANCE, MIP_GAP } from "./types.js";
import { executableVersion, externalSolver, fileSolution, runProcess, tail, type ExternalBackend } from "./external.js";

const missing = (exe: string) =>
  exe.includes("/")
    ? `no \`${exe}\` executable; HiGHS is not packaged in Debian 12 — install it from its releases`
    : `no \`${exe}\` executable on PATH; HiGHS is not packaged in Debian 12 — install it from its releases and put it on PATH`;

/** HiGHS' model-status strings (utilModelStatusToString) → ours; null for "infeasible or unbounded". */
const STATUS: Record<string, SolveStatus | null> = {
  Optimal: "optimal",
  Empty: "optimal",
  Infeasible: "infeasible",
  Unbounded: "unbounded",
  "Time limit reached": "timeout",
  "Primal infeasible or unbounded": null,
};

export interface HighsRawSolution {
  status: string;
  objective: number | null;
  values: Map<string, number> | null;
}

/** The raw solution file: "Model status" / <status>, then "# Primal solution values" / Feasible /
 *  "Objective v" / "# Columns n" / n lines "name value" (then rows, duals and the basis, ignored). */
export function parseHighsRaw(text: string): HighsRawSolution | string {
  const lines = text.split("\n").map((l) => l.trim());
  const s = lines.indexOf("Model status");
  if (s < 0 || s + 1 >= lines.length) return "no 'Model status' in the HiGHS solution file";
  const status = lines[s + 1];
  const p = lines.indexOf("# Primal solution values");
  if (p < 0 || lines[p + 1] !== "Feasible") return { status, objective: null, values: null };
  const obj = /^Objective\s+(\S+)$/.exec(lines[p + 2] ?? "");
  const cols = /^# Columns\s+(\d+)$/.exec(lines[p + 3] ?? "");
  if (!obj || !cols) return "malformed primal solution in the HiGHS solution file";
  const values = new Map<string, number>();
  const n = Number(cols[1]);
  for (let j = 0; j < n; j++) {
    const m = /^(\S+)\s+(\S+)$/.exec(lines[p + 4 + j] ?? "");
    if (!m || Number.isNaN(Number(m[2]))) return `bad column line ${p + 5 + j} in the HiGHS solution file`;
    values.set(m[1], Number(m[2]));
  }
  return { status, objective: Number(obj[1]), values };
}

export async function solveFileWithHighsCli(
  exe: string,
  path: string,
  opts: SolveOptions,
  dir: string,
): Promise<FileSolution> {
  const t0 = performance.now();
  const optionsFile = join(dir, "highs.opt"),
    sol = join(dir, "highs.sol");
  await writeFile(
    optionsFile,
    [
      `primal_feasibility_tolerance = ${FEASIBILITY_TOLERANCE}`,
      `dual_feasibility_tolerance = ${FEASIBILITY_TOLERANCE}`,
      `mip_feasibility_tolerance = ${FEASIBILITY_TOLERANCE}`,
      `mip_rel_gap = ${MIP_GAP}`,
      "write_solution_style = 0",
      "",
    ].join("\n"),
  );
  for (let attempt = 0; ; attempt++) {
    const args = ["--options_file", optionsFile, "--solution_file", sol];
    if (opts.timeLimit !== undefined) args.push("--time_limit", String(Math.max(0, opts.timeLimit)));
    // Presolve may not tell infeasible from unbounded; the re-run without it does.
    if (attempt > 0) args.push("--presolve", "off");
    args.push("--model_file", path);
    await rm(sol, { force: true });
    const out = await runProcess(exe, args, dir, missing(exe), opts.timeLimit);
    if (!out.ran) return fileSolution("highs-cli", t0, out.status, null, null, out.message);
    const text = await readFile(sol, "utf8").catch(() => null);
    if (text === null)
      return fileSolution(
        "highs-cli",
        t0,
        "error",
        null,
        null,
        `${exe} wrote no solution (exit ${out.exitCode})${tail(out.output)}`,
      );
    const r = parseHighsRaw(text);
    if (typeof r === "string") return fileSolution("highs-cli", t0, "error", null, null, r);
    const status = STATUS[r.status];
    if (status === null && attempt === 0) continue;
    if (status === undefined || status === null)
      return fileSolution("highs-cli", t0, "error", null, null, `HiGHS: ${r.status}`);
    if (status !== "optimal") return fileSolution("highs-cli", t0, status, null, null, `HiGHS: ${r.status}`);
    if (r.values === null)
      return fileSolution("highs-cli", t0, "error", null, null, "HiGHS: optimal without a feasible primal solution");
    return fileSolution("highs-cli", t0, "optimal", r.objective, r.values);
  }
}

export function highsCliBackend(executable = "highs"): ExternalBackend {
  return {
    name: "highs-cli",
    executable,
    missing: missing(executable),
    defaultFormat: "mps",
    integers: true,
    version: () => executableVersion(executable, ["--version"], missing(executable), "HiGHS"),
    solveFile: (path, _format, opts, dir) => solveFileWithHighsCli(executable, path, opts, dir),
  };
}

export const createHighsCli = (opts: { executable?: string } = {}): Solver =>
  externalSolver(highsCliBackend(opts.executable));
