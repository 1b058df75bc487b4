// Cheap sat search: projected sign-gradient descent (attacks/sign-descent.ts, the attacks' one loop) on the
// unsafe margin min_d max_k g_dk(x, f(x)) from the box centre and seeded random box points. Gradients come from the
// Network IR (x's own linear
// region); every point whose float64 margin reaches ≤ 0 goes through the float32 check before it counts.

import { trace, type Network, type NetworkMatrices } from "../../compiler/index.js";
import { logitCombinationGradient } from "../lazy/region.js";
import type { Evaluator } from "../evaluator/types.js";
import { checkCandidate, type Counterexample } from "./result.js";
import { centre, unsafeValue, type Spec } from "../bab/spec.js";
import { prng } from "../attacks/prng.js";
import { signDescent, type Look } from "../attacks/sign-descent.js";

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

  const values = new Float64Array(s.disjuncts.length);
  const evaluate = (x: Float64Array) => {
    const t = trace(net, x, { matrices: m });
    // Every disjunct's value once: the smallest margin per disjunct and the unsafe margin come from one pass.
    const u = unsafeValue(s, x, t.logits, values);
    for (let i = 0; i < values.length; i++) perDisjunct[i] = Math.min(perDisjunct[i], values[i]);
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
  // A step of a fraction of each coordinate's box width, shrinking from 1/4 to 1/100 (cosine).
  const top = o.stepScale ?? 0.25;
  let fracStep = -1,
    frac = 0;
  const stepLength = (k: number, i: number) => {
    if (k !== fracStep) {
      fracStep = k;
      frac = top * (0.04 + 0.48 * (1 + Math.cos((Math.PI * k) / o.steps)));
    }
    return frac * width[i];
  };

  /** One start's step (the sign-descent loop's look): a checked counterexample, its descent direction, or stop. */
  const lookAt = async (x: Float64Array, step: number): Promise<Look<Counterexample>> => {
    const { t, u } = evaluate(x);
    if (u.value <= 0) {
      const ce = await tryCheck(x);
      if (ce) return { stop: ce };
    }
    if (step === o.steps || performance.now() >= o.deadline || u.disjunct < 0) return null;
    const a = s.disjuncts[u.disjunct][u.atom];
    const ws = new Float64Array(t.logits.length);
    a.ys.forEach((j, k) => {
      ws[j] += a.yw[k];
    });
    const g = logitCombinationGradient(net, m, t, ws);
    a.xs.forEach((i, k) => {
      g[i] += a.xw[k];
    });
    // Descent: along −g.
    for (let i = 0; i < g.length; i++) g[i] = -g[i];
    return { dir: g };
  };

  for (let r = 0; r < o.restarts && performance.now() < o.deadline; r++) {
    const starts = o.starts ?? [];
    const x0 =
      r < starts.length ? starts[r] : r === starts.length ? centre(s) : s.lower.map((l, i) => l + rand() * width[i]);
    // Projected sign-gradient descent on the unsafe margin (attacks/sign-descent.ts), over the property's box.
    const [ce] = await signDescent<Counterexample>([x0], {
      steps: o.steps,
      look: async ([x], step) => [await lookAt(x, step)],
      stepLength,
      projectStart: false,
      project: (x) => {
        for (let i = 0; i < n; i++) x[i] = Math.min(s.upper[i], Math.max(s.lower[i], x[i]));
      },
    });
    if (ce) return { counterexample: ce, best, bestValue, bestDisjunct, perDisjunct };
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
