// The solver-neutral interface: an LpModel in, an LpSolution out (column values in LpModel column order).
// Solvers never throw for solver outcomes or missing executables: those are statuses with a message.

import type { LpModel, Result } from "../../compiler/index.js";

export const SOLVER_NAMES = ["highs", "glpk", "clp", "cbc", "highs-cli"] as const;
export type SolverName = (typeof SOLVER_NAMES)[number];

export type SolveStatus = "optimal" | "infeasible" | "unbounded" | "timeout" | "error";

export interface LpSolution {
  readonly status: SolveStatus;
  /** Objective including the model's constant; null unless optimal. */
  readonly objective: number | null;
  /** Column values in LpModel column order; null unless optimal. */
  readonly x: Float64Array | null;
  /** Wall-clock seconds, including writing files and starting the process. */
  readonly seconds: number;
  /** Why, for anything but "optimal" (and notes such as a re-run without presolve). */
  readonly message?: string;
  /** The solver's name (a built-in's is one of SOLVER_NAMES; a user's solver names itself). */
  readonly solver: string;
}

export interface SolveOptions {
  /** Seconds; the solver's own limit (external ones are also killed a little after it). */
  readonly timeLimit?: number;
  /** File format handed to an external solver; ignored by the in-process HiGHS. */
  readonly format?: "lp" | "mps";
}

/**
 * An LP/MILP solver: robustc's built-ins (registry.ts getSolver) and any a user implements (the public API,
 * api/index.ts, solves compiled points with one).
 */
export interface Solver {
  /** One of SOLVER_NAMES for the built-ins; a user's solver may name itself anything. */
  readonly name: string;
  /** The solver's version, or why it cannot run (e.g. the missing executable and its Debian package). */
  available(): Promise<Result<string>>;
  solve(m: LpModel, opts?: SolveOptions): Promise<LpSolution>;
}

/** A solution of a model file, keyed by the column names the solver reports. */
export interface FileSolution {
  readonly status: SolveStatus;
  /** As the solver reports it (constant included per that solver's reading of the file). */
  readonly objective: number | null;
  readonly values: ReadonlyMap<string, number> | null;
  readonly seconds: number;
  readonly message?: string;
  readonly solver: SolverName;
}

/**
 * Tolerances every solver is given where it takes them. 1e-9 (HiGHS' and Clp's defaults are 1e-7) so
 * that solvers agree on the optimum to ~1e-8 relative and x passes maxViolation ≤ 1e-6 on scaled rows.
 */
export const FEASIBILITY_TOLERANCE = 1e-9;
/** Relative MIP gap: near-exact, so MIP answers compare across solvers (our MIPs are small). */
export const MIP_GAP = 1e-9;
