// Sound bounds without an LP: interval propagation and back-substitution (CROWN/DeepPoly style), each on a box
// of inputs, padded above float64 rounding (see each file's header). The LP-based bounds and the one entry
// point over all methods (soundBounds) sit a layer above the passes, in compiler/lp-bounds/.

import type { LayerBounds } from "../../ir/bounds.js";

export type { LayerBounds };
export { intervalBounds } from "./interval.js";
export {
  backsub,
  backsubApplies,
  backsubWork,
  feedsReluOnly,
  refineBounds,
  tightBounds,
  type BacksubProbe,
  type ReluSlopes,
} from "./backsub.js";
export interface Box {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

/** The input box of radius r around x* (model units) within [lo, hi]; the whole box when r = ∞. */
export function radiusBox(xStar: Float64Array, r: number, lo: number, hi: number): Box {
  return { lower: xStar.map((v) => Math.max(lo, v - r)), upper: xStar.map((v) => Math.min(hi, v + r)) };
}
