// One point's answer as reports read it (points.jsonl, points.csv, report.json): its status, distances and
// the bracket's fields. The per-point vocabulary the algorithms share is runtime/point/.

import { secondsSince, type Refusal } from "../point/seed.js";

/**
 * `not-found`: a baseline attack (or every search of the bracket) found no checked example (the LP's answer
 * is `no-adversarial-in-region`). The bracket's (every --mode but restrict): `exact` (closedWithin: upper − lower
 * ≤ tolerance × upper, or ≤ exactTolerance(scale) with tolerance 0; or lower = ∞: no input of the box has another
 * label), `bracketed` (a checked
 * example and a certified lower bound further apart). --mode certify's (the question "is rho > eps?"):
 * `verified` (no input within eps of x* has another label, proved), `falsified` (a checked example within
 * eps), `unknown` (neither within the time limit).
 */
export type PointStatus =
  | "adversarial"
  | "no-adversarial-in-region"
  | "not-found"
  | "misclassified"
  | "timeout"
  | "error"
  | "exact"
  | "bracketed"
  | "verified"
  | "falsified"
  | "unknown";

/** The rho modes (rho/modes.ts). bracket is the default; restrict is the paper's rho_hat alone. */
export type RhoMode = "bracket" | "restrict" | "exact" | "milp" | "bounds" | "walk" | "certify";

/** The modes that answer the bracket (every one but restrict). */
export type BracketMode = Exclude<RhoMode, "restrict">;

/** upper − lower at or below this many pixels of the 0–255 scale: the bracket is closed (status exact). */
export const EXACT_TOLERANCE = 1e-3;

/** EXACT_TOLERANCE in the units of data on the 0–`scale` scale (the same fraction of the input range). */
export const exactTolerance = (scale: number): number => (EXACT_TOLERANCE * scale) / 255;

/**
 * The tolerance of the bracket's closure (status exact; exact mode's branch and bound stops there) where a
 * PointContext has none (API callers, contexts built by hand, tests): 0, the absolute EXACT_TOLERANCE (1e-3 px)
 * of before `--tolerance` existed, so that such callers keep its meaning. `robustc rho` and `measure` default to
 * CLI_TOLERANCE instead.
 */
export const DEFAULT_TOLERANCE = 0;

/** A context's tolerance: its own, else the library default (DEFAULT_TOLERANCE, the absolute 1e-3 px). */
export const toleranceOf = (ctx: { readonly tolerance?: number }): number => ctx.tolerance ?? DEFAULT_TOLERANCE;

/** `--tolerance` of rho and measure when not given: 1% of upper. */
export const CLI_TOLERANCE = 0.01;

/**
 * The widest upper − lower that counts as closed under `tolerance`, in upper's units: relative (tolerance × upper)
 * when tolerance > 0; with tolerance 0 `absolute`, EXACT_TOLERANCE in those units (exactTolerance(scale) for data
 * units, exactTolerance(scale) / scale for model units).
 */
export const allowedGap = (upper: number, tolerance: number, absolute: number): number =>
  tolerance > 0 ? tolerance * upper : absolute;

/** Is the bracket [lower, upper] (data units on the 0–`scale` scale) closed under `tolerance`? lower = ∞ always is. */
export const closedWithin = (lower: number, upper: number | null, tolerance: number, scale: number): boolean =>
  lower === Infinity || (upper !== null && upper - lower <= allowedGap(upper, tolerance, exactTolerance(scale)));

/** What every point's answer has, whichever family of modes produced it. */
interface PointCommon {
  readonly index: number;
  readonly label: number | null;
  readonly predicted: number;
  readonly target: number | null;
  /** The L∞ distance (pixels) of the checked example (rho_hat with restrict; upper with the bracket). */
  readonly rho: number | null;
  readonly status: PointStatus;
  /** y_target − max_{l ≠ target} y_l of the example in onnxruntime's float32 forward pass. */
  readonly checkMargin: number | null;
  /**
   * The C_out margin alpha of the reported example's LP (0 unless the float32 rule raised it, or a margin was asked).
   */
  readonly alpha: number;
  readonly seconds: number;
  readonly message?: string;
  /** The checked example in model units (float32 values, in the form it is saved). */
  readonly example?: Float32Array;
}

/**
 * --mode restrict (the paper's rho_hat alone: rho = ∞ when x*'s region holds no example) and the baseline
 * attacks (iterations: their gradient or function evaluations): the LP's work.
 */
export interface LpPoint extends PointCommon {
  readonly mode?: undefined;
  /** The LP optimum in pixels (an upper bound on rho; equals rho up to float32 rounding of the example). */
  readonly lpObjective: number | null;
  readonly iterations: number;
  readonly rows: number;
  readonly rowsAdded: number;
  /** Largest violation of a ReLU-sign / max-pool row by the LP's optimiser (model units). */
  readonly primalInfeasibility: number | null;
  readonly solverSeconds: number;
}

/**
 * Every mode but restrict (rho/modes.ts; the bracket by default): lower ≤ rho ≤ upper in pixels (lower:
 * certified, 0 where the mode seeks no certificate (walk); upper: the distance of the checked example, which
 * `rho`, `example` and `target` then describe, null without one; both null on a misclassified or error point),
 * gap = upper − lower, optimal: whether the exact (or milp) mode closed the bracket.
 */
export interface BracketPoint extends PointCommon {
  readonly mode: BracketMode;
  readonly lower: number | null;
  readonly upper: number | null;
  readonly gap: number | null;
  readonly optimal: boolean | null;
  /**
   * The paper's rho_hat in pixels beside the bracket: ∞ when x*'s region holds no example; null when not computed or
   * failed.
   */
  readonly rhoHat: number | null;
  /** rho_hat was sought inside the ball of this radius (pixels) and lies beyond it (rho_hat > R); null otherwise. */
  readonly rhoHatAbove: number | null;
  /** Seconds per stage (attack, walk, restrict, forward, lower, bab, milp) that ran. */
  readonly stages?: Readonly<Record<string, number>>;
  /** Branch-and-bound subdomains bounded (modes exact, certify). */
  readonly nodes?: number;
  /**
   * The tolerance the status was decided with (every bracket mode but certify): exact when upper − lower ≤
   * tolerance × upper; 0: the absolute EXACT_TOLERANCE. Absent in records written before --tolerance (their rule was 0).
   */
  readonly tolerance?: number;
}

/** One point's answer: the family of its mode decides its fields (points.jsonl writes both alike: points-file.ts). */
export type PointResult = LpPoint | BracketPoint;

export const isBracket = (p: PointResult): p is BracketPoint => p.mode !== undefined;

/** The LP's fields of a record that solved no LP yet (an attack's start, a refused point). */
export const LP_FIELDS = {
  lpObjective: null,
  checkMargin: null,
  alpha: 0,
  iterations: 0,
  rows: 0,
  rowsAdded: 0,
  primalInfeasibility: null,
  solverSeconds: 0,
} as const;

/** The bracket's fields of a point it never reached (misclassified, a near-tie). */
const NO_BRACKET = { lower: null, upper: null, gap: null, optimal: null, rhoHat: null, rhoHatAbove: null } as const;

/** The record of a refused point: as the bracket's modes write it (with `mode`), or as restrict and the attacks do. */
export function refusedPoint(r: Refusal): LpPoint;
export function refusedPoint(r: Refusal, mode: BracketMode): BracketPoint;
export function refusedPoint(r: Refusal, mode?: BracketMode): PointResult;
export function refusedPoint(r: Refusal, mode?: BracketMode): PointResult {
  const common = {
    index: r.index,
    label: r.label,
    predicted: r.predicted,
    target: null,
    rho: null,
    status: r.status,
    checkMargin: null,
    alpha: 0,
    seconds: secondsSince(r.t0),
    ...(r.message !== undefined ? { message: r.message } : {}),
  };
  return mode !== undefined ? { ...common, mode, ...NO_BRACKET } : { ...LP_FIELDS, ...common };
}
