// Cheap sat search: projected sign-gradient descent (PGD) on the unsafe margin min_d max_k g_dk(x, f(x))
// from the box centre and seeded random box points. Gradients come from the Network IR (x's own linear
// region); every point whose float64 margin reaches ≤ 0 goes through the float32 check before it counts.

import { trace, type Network, type NetworkMatrices } from "../../compiler/index.js";
import { logitCombinationGradient } from "../attacks/gradient.js";
import type { Evaluator } from "../evaluator/types.js";
import { checkCandidate, type Counterexample } from "./result.js";
import { centre, unsafeValue, type Spec } from "../bab/spec.js";
import { prng } from "../attacks/prng.js";

export interface AttackOptions {
  /** Wall-clock end (performance.now() milliseconds). */
  readonly deadline: number;
  readonly restarts: number;
  readonly steps: number;
  readonly seed: number;
  /** First starting points (then the centre, then random points). */
  readonly starts?: readonly Float64Array[];
  /** Largest step as a fraction of each box width (default 0.25; small to polish a MILP point). */
  readonly stepScale?: number;
}

export interface AttackResult {
  readonly counterexample: Counterexample | null;
  /** The point of smallest margin seen (for the restriction LP) and its margin and disjunct. */
  readonly best: Float64Array;
  readonly bestValue: number;
  readonly bestDisjunct: number;
  /** Smallest margin reached per disjunct (orders the MILPs: the most promising first). */
  readonly perDisjunct: Float64Array;
}

export async function attack(
  net: Network,
  m: NetworkMatrices,
  ev: Evaluator,
  s: Spec,
  o: AttackOptions,
): Promise<AttackResult> {
  const n = s.lower.length,
    rand = prng(o.seed);
  const width = s.upper.map((u, i) => u - s.lower[i]);
  const perDisjunct = new Float64Array(s.disjuncts.length).fill(Infinity);
  let best = centre(s),
    bestValue = Infinity,
    bestDisjunct = 0;
  const checked = new Set<string>();

  const evaluate = (x: Float64Array) => {
    const t = trace(net, x, { matrices: m });
    s.disjuncts.forEach((d, i) => {
      let v = -Infinity;
      for (const a of d) {
        let g = a.c;
        for (let k = 0; k < a.ys.length; k++) g += a.yw[k] * t.logits[a.ys[k]];
        for (let k = 0; k < a.xs.length; k++) g += a.xw[k] * x[a.xs[k]];
        v = Math.max(v, g);
      }
      perDisjunct[i] = Math.min(perDisjunct[i], v);
    });
    const u = unsafeValue(s, x, t.logits);
    if (u.value < bestValue) {
      bestValue = u.value;
      best = x.slice();
      bestDisjunct = u.disjunct;
    }
    return { t, u };
  };
  const tryCheck = async (x: Float64Array): Promise<Counterexample | null> => {
    const key = Array.from(x, (v) => Math.fround(v)).join(",");
    if (checked.has(key)) return null;
    checked.add(key);
    return checkCandidate(ev, s, x);
  };

  for (let r = 0; r < o.restarts && performance.now() < o.deadline; r++) {
    const starts = o.starts ?? [];
    let x =
      r < starts.length
        ? starts[r].slice()
        : r === starts.length
          ? centre(s)
          : s.lower.map((l, i) => l + rand() * width[i]);
    for (let step = 0; step <= o.steps; step++) {
      const { t, u } = evaluate(x);
      if (u.value <= 0) {
        const ce = await tryCheck(x);
        if (ce) return { counterexample: ce, best, bestValue, bestDisjunct, perDisjunct };
      }
      if (step === o.steps || performance.now() >= o.deadline || u.disjunct < 0) break;
      const a = s.disjuncts[u.disjunct][u.atom];
      const ws = new Float64Array(t.logits.length);
      a.ys.forEach((j, k) => {
        ws[j] += a.yw[k];
      });
      const g = logitCombinationGradient(net, m, t, ws);
      a.xs.forEach((i, k) => {
        g[i] += a.xw[k];
      });
      // A step of a fraction of each coordinate's box width, shrinking from 1/4 to 1/100 (cosine).
      const top = o.stepScale ?? 0.25;
      const frac = top * (0.04 + 0.48 * (1 + Math.cos((Math.PI * step) / o.steps)));
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = x[i] - frac * width[i] * Math.sign(g[i]);
        next[i] = Math.min(s.upper[i], Math.max(s.lower[i], v));
      }
      x = next;
    }
  }
  return { counterexample: null, best, bestValue, bestDisjunct, perDisjunct };
}

/** The float32 check on a list of points (centre, corners, a MILP's optimiser, ...): the first that passes. */
export async function checkPoints(ev: Evaluator, s: Spec, xs: readonly Float64Array[]): Promise<Counterexample | null> {
  for (const x of xs) {
    const ce = await checkCandidate(ev, s, x);
    if (ce) return ce;
  }
  return null;
}
