// Runs an external solver executable (through execa) on a model file in a temporary directory and turns
// what it wrote back into an LpSolution: column values matched BY NAME to the LpModel's columns.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { diag, fail, ok, writeCplexLp, writeMps, type LpModel, type Result } from "../../compiler/index.js";
import type { FileSolution, LpSolution, SolveOptions, SolveStatus, Solver, SolverName } from "./types.js";

/** What an external solver module provides; `externalSolver` turns it into a Solver. */
export interface ExternalBackend {
  readonly name: SolverName;
  readonly executable: string;
  /** One line: what is missing and how to install it. */
  readonly missing: string;
  readonly defaultFormat: "lp" | "mps";
  /** False for pure LP solvers (Clp): a model with integer columns is refused, not relaxed. */
  readonly integers: boolean;
  version(): Promise<Result<string>>;
  /** Solves a model file; `dir` is a private scratch directory for solution files. */
  solveFile(path: string, format: "lp" | "mps", opts: SolveOptions, dir: string): Promise<FileSolution>;
}

export type ProcessOutcome =
  | { readonly ran: true; readonly output: string; readonly exitCode: number }
  | { readonly ran: false; readonly status: SolveStatus; readonly message: string };

/**
 * Runs an executable. With a time limit the process is also killed at 2×limit + 10 s, in case its own
 * limit does not stop it (reading a big file is not counted by every solver's clock).
 */
export async function runProcess(
  exe: string,
  args: string[],
  cwd: string,
  missing: string,
  timeLimit?: number,
): Promise<ProcessOutcome> {
  const timeout = timeLimit === undefined ? undefined : Math.ceil((2 * timeLimit + 10) * 1000);
  const r = await execa(exe, args, {
    cwd,
    reject: false,
    all: true,
    stdin: "ignore",
    killSignal: "SIGKILL",
    ...(timeout ? { timeout } : {}),
  });
  const output = r.all ?? "";
  if (r.code === "ENOENT") return { ran: false, status: "error", message: missing };
  if (r.timedOut)
    return {
      ran: false,
      status: "timeout",
      message: `${exe} was killed after ${(timeout ?? 0) / 1000} s (its own time limit did not stop it)`,
    };
  if (r.signal) return { ran: false, status: "error", message: `${exe} was killed by ${r.signal}${tail(output)}` };
  if (r.exitCode === undefined)
    return { ran: false, status: "error", message: `${exe} could not run: ${(r.shortMessage ?? "").split("\n")[0]}` };
  return { ran: true, output, exitCode: r.exitCode };
}

/** The solver's last complaint (else its last line), as a one-line suffix for messages. */
export function tail(output: string): string {
  const lines = output
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "");
  const complaints = lines.filter((l) => /error|invalid|not valid|bad image|not found|unable|cannot/i.test(l));
  const last = complaints.at(-1) ?? lines.at(-1);
  return last ? ` (last output: ${last.trim().slice(0, 200)})` : "";
}

/** `<exe> <args>` → the first version-like number in its output. */
export async function executableVersion(
  exe: string,
  args: string[],
  missing: string,
  label: string,
): Promise<Result<string>> {
  const r = await execa(exe, args, { reject: false, all: true, stdin: "ignore", timeout: 20_000 });
  if (r.code === "ENOENT") return fail(diag("solver/missing", missing));
  const v = /\b(\d+\.\d+(?:\.\d+)?)\b/.exec(r.all ?? "");
  if (!v) return fail(diag("solver/broken", `${exe} ${args.join(" ")}: no version in its output${tail(r.all ?? "")}`));
  return ok(`${label} ${v[1]}`);
}

export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `robustc-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** FileSolution constructor with the clock started at t0 (performance.now()). */
export function fileSolution(
  solver: SolverName,
  t0: number,
  status: SolveStatus,
  objective: number | null,
  values: ReadonlyMap<string, number> | null,
  message?: string,
): FileSolution {
  return {
    status,
    objective,
    values,
    seconds: (performance.now() - t0) / 1000,
    solver,
    ...(message ? { message } : {}),
  };
}

/** Reported values → LpModel column order; every model column must be reported, and nothing else. */
function byName(m: LpModel, values: ReadonlyMap<string, number>): Float64Array | string {
  const x = new Float64Array(m.colNames.length);
  for (let j = 0; j < x.length; j++) {
    const v = values.get(m.colNames[j]);
    if (v === undefined) return `no value for column '${m.colNames[j]}' in the solver's solution`;
    x[j] = v;
  }
  if (values.size !== x.length) return `the solver's solution has ${values.size} columns, the model ${x.length}`;
  return x;
}

/**
 * The model as every external reader takes it, with the same optimal x: written as a minimisation
 * (GLPK 5.0 rejects an OBJSENSE section, Clp 1.17 and CBC 2.10 ignore it and minimise), without the
 * objective constant (no two readers agree on it: see solveFile in registry.ts), and without free rows
 * (GLPK's LP reader rejects `>= -inf`).
 */
export function portableModel(m: LpModel): LpModel {
  const keep: number[] = [];
  for (let r = 0; r < m.rowNames.length; r++)
    if (m.rowLower[r] !== -Infinity || m.rowUpper[r] !== Infinity) keep.push(r);
  const indptr = new Int32Array(keep.length + 1);
  keep.forEach((r, i) => {
    indptr[i + 1] = indptr[i] + m.indptr[r + 1] - m.indptr[r];
  });
  const indices = new Int32Array(indptr[keep.length]),
    values = new Float64Array(indptr[keep.length]);
  keep.forEach((r, i) => {
    indices.set(m.indices.subarray(m.indptr[r], m.indptr[r + 1]), indptr[i]);
    values.set(m.values.subarray(m.indptr[r], m.indptr[r + 1]), indptr[i]);
  });
  return {
    ...m,
    sense: "min",
    objective: m.sense === "max" ? m.objective.map((v) => (v === 0 ? 0 : -v)) : m.objective,
    objectiveConstant: 0,
    rowNames: keep.map((r) => m.rowNames[r]),
    rowGroups: [],
    rowLower: Float64Array.from(keep, (r) => m.rowLower[r]),
    rowUpper: Float64Array.from(keep, (r) => m.rowUpper[r]),
    indptr,
    indices,
    values,
  };
}

/** Model file text for an external solver. */
export function portableText(m: LpModel, format: "lp" | "mps"): string {
  const p = portableModel(m);
  if (format === "lp") return writeCplexLp(p);
  // Coin, GLPK and HiGHS read a MARKER line only with the quoted 'MARKER' keyword (unquoted, Coin
  // rejects the line and GLPK and HiGHS take MARKER for a row); a no-op once the writer quotes it.
  return writeMps(p).replace(/^ MARKER MARKER (INTORG|INTEND)$/gm, " MARKER 'MARKER' '$1'");
}

export function externalSolver(b: ExternalBackend): Solver {
  return {
    name: b.name,
    available: () => b.version(),
    async solve(m: LpModel, opts: SolveOptions = {}): Promise<LpSolution> {
      const t0 = performance.now();
      const done = (
        status: SolveStatus,
        objective: number | null,
        x: Float64Array | null,
        message?: string,
      ): LpSolution => ({
        status,
        objective,
        x,
        seconds: (performance.now() - t0) / 1000,
        solver: b.name,
        ...(message ? { message } : {}),
      });
      if (!b.integers && m.colInteger.some((v) => v !== 0)) {
        return done(
          "error",
          null,
          null,
          `${b.name} solves LPs only and the model has integer columns (use cbc, glpk or highs)`,
        );
      }
      const format = opts.format ?? b.defaultFormat;
      return withTempDir(b.name, async (dir) => {
        const path = join(dir, `model.${format}`);
        await writeFile(path, portableText(m, format));
        const s = await b.solveFile(path, format, opts, dir);
        if (s.status !== "optimal") return done(s.status, null, null, s.message);
        if (s.values === null || s.objective === null)
          return done("error", null, null, `${b.name}: optimal without a solution`);
        const x = byName(m, s.values);
        if (typeof x === "string") return done("error", null, null, `${b.name}: ${x}`);
        // Undo portableModel: the file minimised −c for a max model and had no constant.
        return done("optimal", (m.sense === "max" ? -s.objective : s.objective) + m.objectiveConstant, x, s.message);
      });
    },
  };
}
