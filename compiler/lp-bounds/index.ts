// Sound bounds behind one entry point (soundBounds): interval propagation, back-substitution or LP tightening
// (MIPVerify's, values from dual certificates), and the one "g > 0 on this box" test (exclude.ts). This layer
// sits above the passes: its LPs are built by them (encode, relax, to-lp-model). Every method only ever
// returns bounds that hold for every input of the box in exact arithmetic, padded above float64 rounding.

import type { LayerBounds } from "../ir/bounds.js";
import type { NetworkMatrices } from "../ir/matrices.js";
import type { Network } from "../ir/network.js";
import { tightBounds, intervalBounds, type Box } from "../analysis/bounds/index.js";
import { tightenBounds, type OpenLp } from "./tighten.js";

export {
  dualBound,
  tightenBounds,
  type LpSession,
  type OpenLp,
  type TightenOptions,
  type TightenStats,
} from "./tighten.js";
export { allPositive, boundsProve, inputPart, marginOf, type ExcludeOptions, type OutputLinear } from "./exclude.js";

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
