// The decision over a Spec (is some input of the box unsafe?) with both branch and bounds: the LP one
// (search.ts: a subdomain LP each; it finds examples, sat) for a share of the time, then, on a network without
// max-pool where the engine's bounds graph is there (Engine.optimisable) and every disjunct is one atom over the
// outputs, the batched one with optimised slopes and β multipliers (batched.ts: proofs only, unsat) for the rest. `rho --mode exact` and
// `certify` (rho/exact.ts decideRho) and `verify`/`vnncomp` (verify/engine.ts) decide through it.

import type { Engine } from "../../compiler/index.js";
import { DEFAULT_BATCHED_BAB, proveRows, type BatchedBabResult } from "./batched.js";
import { deepRootBounds, optimisedRootBounds, rootRowBounds } from "./root-bounds.js";
import type { BabNet } from "./node.js";
import { decide, type BabOptions, type BabResult } from "./search.js";
import type { Spec } from "./spec.js";

/*
 * Design notes:
 * A disjunct of one atom Σ yw·y + c ≤ 0 (no input terms) is refuted on the whole box when yw·y > −c there: the
 * batched search's row yw with threshold −c (exact negation, and the comparison bound > −c involves no rounding).
 * Measured on mnist_mlp (bench/bab.ts, 10 s a decision, eps 1.2× CROWN's radius): the batched search proved 6 of
 * the 8 decisions, the LP search 4 (and found the 2 examples, at its root).
 *
 * Not on max-pool networks: there the LP search has no subdomain LPs but recomputes each subdomain's intermediate
 * bounds by back-substitution (refineBounds, within its work limit), which the batched search's bounds graph
 * leaves to intervals on the LeNets' conv layers, and a LeNet subdomain costs the batched search ~80 ms (5 steps of
 * the rows' pass over 15,220 ReLUs). `certify examples/models/mnist_lenet.onnx --eps 2 --time-limit 10` on the
 * first 37 test digits: 31 verified by the LP search alone, 29 with the batched search after a quarter; again with
 * the batched search's max-pool splits (commit d26909b, the same run conditions for both): 31 alone, 30 with it;
 * again with the batched search's root bounds (proveSpec, root-bounds.ts; the same sitting, one job): 31 alone, 30
 * with it (digit 4: the LP search alone proves it after 4.4 s, 333 subdomains; a quarter of the time is too little).
 *
 * On max-pool networks the decision first asks whether the root bounds alone refute the spec (rootRefutes: one
 * engine call of its rows with them as clamps), then runs the LP search. `certify examples/models/mnist_lenet.onnx
 * --eps 2 --time-limit 10 --limit 37 --jobs 1` (the same sitting as above): 34 verified and 2 unknown in 67 s,
 * against 31 and 5 in 105 s for the LP search alone (median 1.34 s a point against 1.74).
 *
 * Root bounds (proveSpec, as `verify` calls it on max-pool networks too): where the engine leaves layers to
 * intervals, the batched search starts from the reference's back-substitution of their unstable values over the
 * box (root-bounds.ts), where its estimate fits ROOT_SHARE of the time. bench/root-bounds.ts: on mnist_lenet's test
 * digit 0 at 4 px the search with them is unsat at the root, without them open at −12.6 after 10 s.
 * On dense networks (root-bounds.ts optimisedRootApplies) α-CROWN's bounds follow, from those where there are
 * any: every layer's unstable values bounded as rows of the network truncated there, with their own optimised
 * slopes (optimisedRootBounds). On mnistfc_2021 256x2 prop_3_0.03 the batched search proves it in 12 s from them
 * and times out after 60 s at −0.014 from the reference's (a throwaway script, proveRows alone, 60 s each; `robustc
 * vnncomp`: unsat in 47 s, a timeout at 120 s before).
 */

/** The LP branch and bound's share of a decision's time where the batched one follows it. */
export const LP_SHARE = 0.25;
/** The most of the batched search's time its root bounds (root-bounds.ts) may take, by their estimate. */
export const ROOT_SHARE = 0.5;
/**
 * Optimisation steps of each ReLU layer's bounds in optimisedRootBounds. On mnistfc_2021's 256x2 prop_1_0.03 and
 * 256x4 prop_0_0.03 (a throwaway script over optimisedRootBounds; docs/results/vnncomp.md): after the first hidden
 * layer, 5 steps leave 117 and 58/11/144 ReLUs unstable, 20 steps 102 and 57/10/64 (0.5 s and 2.1 s), 50 steps
 * the same as 20 in twice the time; the reference's back-substitution (deepRootBounds) 132 and 58/15/112.
 */
const ROOT_ITERATIONS = 20;

/** G (one row per disjunct over the K outputs) and thresholds, or null where some disjunct is not one output atom. */
export function specRows(s: Spec, K: number): { rows: Float64Array; thresholds: Float64Array } | null {
  const R = s.disjuncts.length;
  if (R === 0 || s.disjuncts.some((d) => d.length !== 1 || d[0].xs.length !== 0)) return null;
  const rows = new Float64Array(R * K),
    thresholds = new Float64Array(R);
  s.disjuncts.forEach((d, r) => {
    const a = d[0];
    a.ys.forEach((k, i) => (rows[r * K + k] += a.yw[i]));
    thresholds[r] = -a.c;
  });
  return { rows, thresholds };
}

/** Whether decideSpec runs the batched search after the LP one (header). */
const batchedApplies = (engine: Engine, b: BabNet, s: Spec): boolean =>
  engine.optimisable && !b.net.layers.some((l) => l.kind === "maxpool") && specRows(s, engine.outputSize) !== null;

/**
 * The batched proof of a spec (null where it does not apply: not optimisable, or a disjunct not one output atom),
 * from root bounds (header), within ROOT_SHARE of the time: where the engine leaves layers to intervals, the
 * reference's back-substitution of them where its estimate fits; on dense networks, α-CROWN's optimised bounds of
 * every ReLU layer from those (root-bounds.ts optimisedRootBounds).
 */
export async function proveSpec(
  engine: Engine,
  b: BabNet,
  s: Spec,
  deadline: number,
): Promise<BatchedBabResult | null> {
  const spec = engine.optimisable ? specRows(s, engine.outputSize) : null;
  if (!spec) return null;
  const t0 = performance.now(),
    share = (ROOT_SHARE * (deadline - t0)) / 1000;
  // Both within the share: the reference's back-substitution of the layers the engine leaves to intervals where its
  // estimate fits, then α-CROWN's bounds from them where they apply (a layer too large to optimise keeps the
  // reference's: mnist_cnn_bn's conv layers).
  const deep = deepRootBounds(engine, b.net, b.matrices, s.lower, s.upper, share)?.bounds;
  const root =
    (await optimisedRootBounds(engine, b.net, s.lower, s.upper, {
      iterations: ROOT_ITERATIONS,
      deadline: t0 + share * 1000,
      ...(deep ? { start: deep } : {}),
    })) ?? deep;
  return proveRows(engine, b.net, s.lower, s.upper, spec.rows, s.disjuncts.length, {
    ...DEFAULT_BATCHED_BAB,
    deadline,
    thresholds: spec.thresholds,
    ...(root ? { rootBounds: root } : {}),
  });
}

/**
 * Whether the root bounds (root-bounds.ts) alone refute every disjunct of the spec: one engine call of its rows with
 * them as clamps (float64, padded). False where there are none (the engine back-substitutes every layer itself, a
 * disjunct is not one output atom) or their estimate exceeds ROOT_SHARE of the time to the deadline.
 */
async function rootRefutes(engine: Engine, b: BabNet, s: Spec, deadline: number): Promise<boolean> {
  const spec = specRows(s, engine.outputSize);
  if (!spec) return false;
  const seconds = (deadline - performance.now()) / 1000;
  const root = deepRootBounds(engine, b.net, b.matrices, s.lower, s.upper, ROOT_SHARE * seconds);
  if (!root) return false;
  const lower = await rootRowBounds(engine, s.lower, s.upper, spec.rows, s.disjuncts.length, root.bounds);
  // Compared, not subtracted (as batched.ts): the bound exceeds the threshold on every row.
  return spec.thresholds.every((t, k) => lower[k] > t);
}

/** The decision: the LP branch and bound, then the batched proof where it applies (header). */
export async function decideSpec<T>(
  engine: Engine,
  b: BabNet,
  s: Spec,
  check: (x: Float64Array) => Promise<T | null>,
  o: BabOptions,
): Promise<BabResult<T>> {
  if (!batchedApplies(engine, b, s)) {
    const t0 = performance.now();
    if (b.net.layers.some((l) => l.kind === "maxpool") && (await rootRefutes(engine, b, s, o.deadline)))
      return {
        status: "unsat",
        example: null,
        nodes: 1,
        lps: 0,
        depth: 0,
        openValue: Infinity,
        seconds: (performance.now() - t0) / 1000,
      };
    return decide(b, s, check, o);
  }
  const t0 = performance.now();
  const lp = await decide(b, s, check, { ...o, deadline: t0 + (o.deadline - t0) * LP_SHARE });
  if (lp.status === "sat" || lp.status === "unsat" || performance.now() >= o.deadline) return lp;
  const proof = (await proveSpec(engine, b, s, o.deadline))!;
  const { reason: _lpReason, ...rest } = lp;
  const proved = proof.status === "unsat";
  return {
    ...rest,
    status: proved ? "unsat" : lp.status === "unknown" && proof.status === "unknown" ? "unknown" : "timeout",
    nodes: lp.nodes + proof.nodes,
    depth: Math.max(lp.depth, proof.depth),
    openValue: proved ? Infinity : Math.max(lp.openValue, proof.openValue),
    seconds: (performance.now() - t0) / 1000,
    ...(proved ? {} : { reason: `LP: ${lp.reason ?? lp.status}; batched: ${proof.reason ?? proof.status}` }),
  };
}
