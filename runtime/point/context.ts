// The context every per-point algorithm runs in: the network as the compiler lowered it (float64 IR and its
// CSR matrices), the evaluator of the model as written (onnxruntime, float32), the engine the attacks take
// their gradients from (runtime/engine/: one per thread, opened and disposed with the evaluator), and the
// data's input box.

import type { Engine, Network, NetworkMatrices } from "../../compiler/index.js";
import type { Evaluator } from "../evaluator/types.js";
import type { LazyOptions } from "../lazy/lazy-loop.js";

/** The network three ways: its IR, the IR's matrices, and the evaluator that decides every example (float32). */
export interface NetContext {
  readonly net: Network;
  readonly matrices: NetworkMatrices;
  /** The model as written (onnxruntime-node, float32; the reference evaluator only where asked for). */
  readonly evaluator: Evaluator;
}

/** A NetContext with the data's input box (pixels = model units × pixelScale) and the lazy loop's options. */
export interface PointContext extends NetContext {
  /**
   * The batched engine over the same network (--backend: onnxruntime's float32 graphs or the float64 reference):
   * the attacks' logits and gradients (they take it as an EngineCore: forward and vjp), and the sound batched
   * bounds the bracket's lower bound bisects with (rho/lower.ts). The attacks' answers steer only; every example
   * still passes point/check.ts.
   */
  readonly engine: Engine;
  readonly pixelScale: number;
  readonly pixelMin: number;
  readonly pixelMax: number;
  readonly lazy?: LazyOptions;
  /**
   * Confidence margin alpha (model units) every example must have: y_target ≥ y_l' + alpha (fine-tuning, §5); 0 by
   * default, L-BFGS-B: 0.15.
   */
  readonly margin?: number;
  /**
   * The bracket's closure (status exact, and where --mode exact's branch and bound stops): upper − lower ≤
   * tolerance × upper (relative), or with 0 the absolute 1e-3 px (rho/result.ts EXACT_TOLERANCE). Absent: the
   * library default rho/result.ts DEFAULT_TOLERANCE (0, the absolute rule); the CLI's --tolerance sets 0.01 unless given.
   */
  readonly tolerance?: number;
}

/** The input box in model units. */
export const boxOf = (ctx: PointContext): { lo: number; hi: number } => ({
  lo: ctx.pixelMin / ctx.pixelScale,
  hi: ctx.pixelMax / ctx.pixelScale,
});
