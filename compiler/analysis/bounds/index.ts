// Sound bounds behind one entry point: interval propagation, back-substitution (CROWN/DeepPoly style, chain
// networks) or LP tightening (MIPVerify's, values from dual certificates), each on a box of inputs, and the
// one "g > 0 on this box" test (exclude.ts). Every method only ever returns bounds that hold for every
// input of the box in exact arithmetic, padded above float64 rounding (see each file's header).

import type { LayerBounds } from "../../ir/bounds.js";
import type { NetworkMatrices } from "../../ir/matrices.js";
import type { Network } from "../../ir/network.js";
import { tightBounds } from "./backsub.js";
import { intervalBounds } from "./interval.js";
import { tightenBounds, type OpenLp } from "./lp-tighten.js";

export type { LayerBounds };
export { intervalBounds } from "./interval.js";
export { backsub, backsubApplies, refineBounds, tightBounds, type BacksubProbe } from "./backsub.js";
export {
  dualBound,
  tightenBounds,
  type LpSession,
  type OpenLp,
  type TightenOptions,
  type TightenStats,
} from "./lp-tighten.js";
export { allPositive, boundsProve, inputPart, marginOf, type ExcludeOptions, type OutputLinear } from "./exclude.js";

export interface Box {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

/** The input box of radius r around x* (model units) within [lo, hi]; the whole box when r = ∞. */
export function radiusBox(xStar: Float64Array, r: number, lo: number, hi: number): Box {
  return { lower: xStar.map((v) => Math.max(lo, v - r)), upper: xStar.map((v) => Math.min(hi, v + r)) };
}

export type BoundsRequest =
  | { readonly method: "interval" }
  /**
   * workLimit: multiply-adds a layer's back-substitution may cost before that layer keeps IBP; outputs: false
   * leaves the output layer at IBP (for callers that back-substitute their functions of the output anyway).
   */
  | {
      readonly method: "backsub";
      readonly matrices: NetworkMatrices;
      readonly workLimit?: number;
      readonly outputs?: boolean;
    }
  /** LP tightening needs an LP oracle (HiGHS, from the runtime); when its time is spent, layers keep IBP. */
  | { readonly method: "lp"; readonly open: OpenLp; readonly timeLimit?: number };

/** Bounds on every layer's values over the box, by the requested method. */
export async function soundBounds(net: Network, box: Box, req: BoundsRequest): Promise<LayerBounds[]> {
  switch (req.method) {
    case "interval":
      return intervalBounds(net, box.lower, box.upper);
    case "backsub":
      return tightBounds(net, req.matrices, box.lower, box.upper, req.workLimit, req.outputs ?? true);
    case "lp":
      return (
        await tightenBounds(net, box, {
          open: req.open,
          ...(req.timeLimit !== undefined ? { timeLimit: req.timeLimit } : {}),
        })
      ).bounds;
  }
}
