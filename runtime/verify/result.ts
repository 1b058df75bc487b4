// Verification answers and the float32 counterexample check: a candidate x becomes `sat` only after it is
// placed inside the box in float32 and onnxruntime's float32 outputs satisfy an unsafe disjunct exactly.
// Produces the VNN-COMP result text (`sat\n((X_0 v)\n (X_1 v) ... (Y_0 v))`).

import type { Evaluator } from "../evaluator/types.js";
import { toBoxFloat32, unsafeValue, type Spec } from "../bab/spec.js";

export type VerifyStatus = "sat" | "unsat" | "timeout" | "unknown";

/**
 * Which step decided: the cheap searches, interval and back-substituted bounds, LP relaxation, restriction LP, branch
 * and bound, or the MILP.
 */
export type Stage = "centre" | "attack" | "restrict" | "milp" | "bab" | "bounds" | "lp" | "none";

export interface Counterexample {
  /** float32 values inside the box, the flattened model input. */
  readonly x: Float64Array;
  /** onnxruntime's float32 outputs at x, flattened. */
  readonly y: Float64Array;
  readonly disjunct: number;
  /** max over the disjunct's atoms of g(x, y) in float64 over the float32 values (≤ 0). */
  readonly value: number;
}

export interface VerifyResult {
  readonly status: VerifyStatus;
  readonly stage: Stage;
  readonly counterexample?: Counterexample;
  /** Why, for unknown / timeout; notes otherwise. */
  readonly reason?: string;
  readonly seconds: number;
  readonly milps: number;
  readonly binaries: number;
  /** Branch-and-bound subdomains bounded (ReLU networks). */
  readonly nodes: number;
}

/** The float32 check: null when the candidate is not a counterexample of the model as onnxruntime runs it. */
export async function checkCandidate(ev: Evaluator, s: Spec, x: ArrayLike<number>): Promise<Counterexample | null> {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return null;
  const x32 = toBoxFloat32(x, s.lower, s.upper);
  if (!x32) return null;
  const [y] = await ev.logits([x32]);
  if (!y.every(Number.isFinite)) return null;
  const u = unsafeValue(s, x32, y);
  return u.value <= 0 ? { x: x32, y, disjunct: u.disjunct, value: u.value } : null;
}

/** Numbers as VNN-COMP counterexample files write them: plain decimals that read back to the same float32. */
const num = (v: number): string => (Object.is(v, -0) ? "0" : String(v));

/** The result file's text: `unsat`, `timeout`, `unknown`, or `sat` with the counterexample. */
export function formatResult(r: VerifyResult): string {
  if (r.status !== "sat" || !r.counterexample) return `${r.status}\n`;
  const { x, y } = r.counterexample;
  const entries = [...Array.from(x, (v, i) => `(X_${i} ${num(v)})`), ...Array.from(y, (v, j) => `(Y_${j} ${num(v)})`)];
  return `sat\n(${entries.join("\n ")})\n`;
}
