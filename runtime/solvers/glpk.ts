// GLPK through `glpsol` (Debian glpk-utils): `--freemps f.mps` or `--lp f.lp`, `-w` (raw solution: full
// precision, columns by index only) and `-o` (printable: index → name). Status from the raw `s` line.

import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FileSolution, SolveOptions, SolveStatus, Solver } from "./types.js";
import { MIP_GAP } from "./types.js";
import { executableVersion, externalSolver, fileSolution, runProcess, tail, type ExternalBackend } from "./external.js";

const missing = (exe: string) =>
  `no \`${exe}\` executable${exe.includes("/") ? "" : " on PATH"}; install the Debian package glpk-utils (apt-get install -y glpk-utils)`;

/** Column index (1-based) → name from the printable report; long names put the numbers on the next line. */
export function glpkColumnNames(report: string): string[] | string {
  const lines = report.split("\n");
  const head = lines.findIndex((l) => /^\s*No\.\s+Column name/.test(l));
  if (head < 0) return "no column table in glpsol's report";
  const names: string[] = [];
  for (let i = head + 2; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === "") break;
    // Entry lines hold the index right-aligned in columns 1-6 then one space; continuation lines of a
    // long name start with blanks past column 6 (their first field is a status or a number).
    const m = /^([ \d]{5}\d) (\S+)/.exec(l);
    if (!m) continue;
    if (Number(m[1]) !== names.length + 1)
      return `glpsol's report numbers column ${m[1].trim()} where ${names.length + 1} was expected`;
    names.push(m[2]);
  }
  return names;
}

interface RawSolution {
  kind: "bas" | "mip" | "ipt";
  primal: string;
  dual: string;
  objective: number;
  cols: Float64Array;
}

/** The `-w` file: `s bas m n p d obj` (or `s mip m n st obj`), then `j col ...` lines. */
export function parseGlpkRaw(text: string): RawSolution | string {
  let sol: RawSolution | null = null;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "s") {
      const kind = f[1] as RawSolution["kind"];
      const n = Number(f[3]);
      if (kind === "mip") sol = { kind, primal: f[4], dual: "", objective: Number(f[5]), cols: new Float64Array(n) };
      else if (kind === "bas" || kind === "ipt")
        sol = { kind, primal: f[4], dual: f[5], objective: Number(f[6]), cols: new Float64Array(n) };
      else return `unknown solution kind '${f[1]}' in glpsol's raw solution`;
    } else if (f[0] === "j" && sol) {
      // bas: j idx stat value dual; ipt: j idx value dual; mip: j idx value.
      const v = Number(sol.kind === "bas" ? f[3] : f[2]);
      const j = Number(f[1]) - 1;
      if (!(j >= 0 && j < sol.cols.length) || Number.isNaN(v))
        return `bad line in glpsol's raw solution: '${line.trim()}'`;
      sol.cols[j] = v;
    }
  }
  return sol ?? "no 's' line in glpsol's raw solution";
}

/** Status from the raw `s` line, and from glpsol's terminal messages when that says "undefined". */
function glpkStatus(sol: RawSolution, output: string): SolveStatus | "undefined" {
  if (/TIME LIMIT EXCEEDED/.test(output)) return "timeout";
  if (sol.kind === "mip") {
    if (sol.primal === "o") return "optimal";
    // "f" is an incumbent; with our (tiny) --mipgap it is optimal when the gap test stopped the search.
    if (sol.primal === "f") return /MIP GAP TOLERANCE REACHED/.test(output) ? "optimal" : "undefined";
    if (sol.primal === "n") return "infeasible";
  } else {
    if (sol.primal === "f" && sol.dual === "f") return "optimal";
    if (sol.primal === "n") return "infeasible";
    if (sol.primal === "f" && sol.dual === "n") return "unbounded";
  }
  if (/HAS NO PRIMAL FEASIBLE SOLUTION/.test(output)) return "infeasible";
  if (/HAS UNBOUNDED (PRIMAL )?SOLUTION/.test(output)) return "unbounded";
  return "undefined";
}

export async function solveFileWithGlpk(
  exe: string,
  path: string,
  format: "lp" | "mps",
  opts: SolveOptions,
  dir: string,
): Promise<FileSolution> {
  const t0 = performance.now();
  const raw = join(dir, "glpk.sol"),
    report = join(dir, "glpk.txt");
  const run = async (presolve: boolean) => {
    const args = [format === "lp" ? "--lp" : "--freemps", path, "-w", raw, "-o", report, "--mipgap", String(MIP_GAP)];
    if (!presolve) args.push("--nopresol");
    // --tmlim takes whole seconds.
    if (opts.timeLimit !== undefined) args.push("--tmlim", String(Math.max(1, Math.ceil(opts.timeLimit))));
    await rm(raw, { force: true });
    return runProcess(exe, args, dir, missing(exe), opts.timeLimit);
  };
  let out = await run(true);
  for (let attempt = 0; ; attempt++) {
    if (!out.ran) return fileSolution("glpk", t0, out.status, null, null, out.message);
    const text = await readFile(raw, "utf8").catch(() => null);
    if (text === null)
      return fileSolution(
        "glpk",
        t0,
        "error",
        null,
        null,
        `glpsol wrote no solution (exit ${out.exitCode})${tail(out.output)}`,
      );
    const sol = parseGlpkRaw(text);
    if (typeof sol === "string") return fileSolution("glpk", t0, "error", null, null, sol);
    const status = glpkStatus(sol, out.output);
    if (status === "undefined") {
      // The LP presolver leaves the status undefined when it proves nothing; without it the simplex says.
      if (attempt === 0 && sol.kind !== "mip") {
        out = await run(false);
        continue;
      }
      return fileSolution("glpk", t0, "error", null, null, `glpsol ended without a definite status${tail(out.output)}`);
    }
    if (status !== "optimal")
      return fileSolution(
        "glpk",
        t0,
        status,
        null,
        null,
        `glpsol: ${status}${attempt > 0 ? " (re-run without presolve)" : ""}`,
      );
    const names = glpkColumnNames(await readFile(report, "utf8").catch(() => ""));
    if (typeof names === "string") return fileSolution("glpk", t0, "error", null, null, names);
    if (names.length !== sol.cols.length)
      return fileSolution(
        "glpk",
        t0,
        "error",
        null,
        null,
        `glpsol's report names ${names.length} columns, its solution has ${sol.cols.length}`,
      );
    const values = new Map<string, number>();
    names.forEach((n, j) => values.set(n, sol.cols[j]));
    return fileSolution("glpk", t0, "optimal", sol.objective, values);
  }
}

export function glpkBackend(executable = "glpsol"): ExternalBackend {
  return {
    name: "glpk",
    executable,
    missing: missing(executable),
    defaultFormat: "mps",
    integers: true,
    version: () => executableVersion(executable, ["--version"], missing(executable), "GLPK"),
    solveFile: (path, format, opts, dir) => solveFileWithGlpk(executable, path, format, opts, dir),
  };
}

export const createGlpk = (opts: { executable?: string } = {}): Solver => externalSolver(glpkBackend(opts.executable));
