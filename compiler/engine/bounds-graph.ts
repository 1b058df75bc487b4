// The bounds graph: sound lower bounds of output combinations G·y over B input boxes by CROWN back-substitution,
// in float64, as an ONNX model (opset GRAPH_OPSET) that onnxruntime runs. Consumes the Network IR and its
// matrices; produces the model's bytes, or a diagnostic for a network it does not cover. Covered: every layer kind
// of the IR (affine matrix, conv, average pool and scale-shift; ReLU; max-pool; residual add; reshapes, gathers
// included) but a dense matrix too large to make dense (MAX_DENSE); such a network gets the reference backend's
// bounds instead (runtime/engine/bounds.ts says which backend ran: Engine.boundsBackend).

import { diag, fail, ok, type Result } from "../diagnostics.js";
import { backsubWork } from "../analysis/bounds/backsub.js";
import { OnnxBuilder, type AttrValue } from "../frontend/onnx/write.js";
import { avgPoolDivisor } from "../ir/affine.js";
import { layerWindows, networkMatrices, type NetworkMatrices } from "../ir/matrices.js";
import { outputSize, sizeOf, type AffineOp, type Layer, type Network } from "../ir/network.js";
import { floorMismatch, GRAPH_OPSET, MAX_DENSE, neededLayers, widenedPads, windowAttrs } from "./emit.js";
import { ENGINE_BACKSUB_WORK, GRAPH_IO } from "./types.js";

/*
 * Design notes:
 * Inputs: `lower`, `upper` [B, n] (the boxes, row-major in the input shape), `rows` [B, R, K] (box b's R rows
 * over the K logits), and per ReLU layer `slopes_<id>` [B, n_id] (the lower-relaxation slopes; outside [0, 1]:
 * DeepPoly's choice) and `clamp_lower_<id>`, `clamp_upper_<id>` [B, n_id] (bounds the caller knows for the
 * pre-activation on the box, e.g. branch and bound's splits; ∓∞ for none). Outputs: `bound` [B, R] and per ReLU layer `pre_lower_<id>`, `pre_upper_<id>` [B, n]
 * (its pre-activation bounds). B and R are symbolic. Every layer's bounds are [B, n] tensors (n its size).
 * Max-pool layers take clamps too: `clamp_lower_<id>`, `clamp_upper_<id>` [B, n_in] on the pool's input
 * (branch and bound's max-pool splits), and output that input's bounds as `pre_lower_<id>`, `pre_upper_<id>` and,
 * in the optimisable variant, the rows' coefficients on the pool's output as `coef_<id>` [B, R, m]. The
 * optimisable variant also takes a multiplier per pool input, `beta_<id>` [B, R, n_in], for the clamps as
 * constraints (β-CROWN's for a split, with an offset): the rows' bound becomes one of G·y + Σ γ·(x − c), c the
 * clamp lower end where γ < 0 (x ≥ c) and the upper end where γ > 0 (x ≤ c), 0 where that end is infinite; each
 * term is ≤ 0 on the box, so any input is sound. γ is added to the rows' coefficient on x as the pass leaves the
 * pool (its rounding in mag as a ReLU's multiplier's, and |γ·c| for the constant); `zhat_<id>` [B, R, n_in] is x̂,
 * the relaxed network's pool input at the bound's corner: the bound's gradient in γ is x̂ − c.
 *
 * What it computes, matching the reference (backsub.ts tightBounds with outputs = false and the engine's work limit,
 * then backsub of the rows, lower side only):
 *   layer bounds   in layer order, each layer's interval (IBP) from its inputs' bounds; the input of a ReLU or a
 *                  max-pool that an affine layer (not an affine map of the input box alone: IBP is exact there)
 *                  or a residual add computes is also back-substituted — rows [I; −I] down to the input — where
 *                  backsub.ts backsubWork puts it within ENGINE_BACKSUB_WORK, and its bounds are the intersection
 *                  of both (the reference also intersects with the first IBP pass over the box, which the
 *                  refined interval lies inside up to rounding pads)
 *   relaxations    ReLU from its pre-activation bounds [l, h] (compiler/nonlinear/relu.ts): stable active (l ≥ 0)
 *                  exact, stable inactive (h ≤ 0) zero; unstable: upper line v ≤ s·u + t through (l, 0) with
 *                  s = h/(h − l) and t = −s·l, lower line v ≥ a·u with a the input slope where it lies in [0, 1],
 *                  else DeepPoly's choice (1 where h ≥ −l, else 0). Max-pool (nonlinear/maxpool.ts, DeepPoly's):
 *                  below v ≥ u_best (best: the window's first element of largest lower bound); above v ≤ u_best
 *                  where u_best's lower bound is ≥ every other element's upper bound, else v ≤ max of the uppers
 *   back-substitution  from the rows down, each layer sends its coefficients Λ to its input(s) (a residual add to
 *                  both, summed where they meet): affine Λ·W (constant += Λ·b; conv and average pool as the
 *                  transposed product below; scale-shift Λ∘scale, constant += Λ·shift); ReLU Λ⁺·a + Λ⁻·s
 *                  (constant += Λ⁻·t); max-pool Λ⁺ and, where dominated, Λ⁻ to u_best, else constant += Λ⁻·max;
 *                  reshape nothing, a gather the transposed gather; at the input min over the box:
 *                  Σ Λ⁺·lower + Λ⁻·upper.
 *
 * Windowed layers without dense matrices (conv, average pool, max-pool, gathers): a fixed table `source` of
 * input positions per (output, tap) — −1 in the padding — read by one Gather from the input padded with a zero
 * (im2col). A conv is then one batched MatMul per group over its patches ([G, M/G, K] × [B, G, K, P]); its
 * transposed product (back-substitution) the MatMul with the transposed kernel, then every input position sums
 * the taps that read it: a Gather by the inverse table (padded to the most taps any position has) and a ReduceSum.
 * An average pool is the depthwise conv of ones times 1/divisor per output.
 *
 * Soundness in float64 (issue 23's rule), the pad computed in the graph. Every sum the bound is made of is a
 * dot product of at most N terms (N below: all layer sizes on the chain plus the layer count plus 8, larger than
 * any sum's length plus the steps that add the constants up), so its rounding error is at most γ_N·Σ|terms|
 * (γ_N = N·u/(1 − N·u), u = 2^-53; any summation order, FMA or not). The coefficients Λ themselves need not be
 * exact: back-substitution is valid for whatever coefficients arrive at a layer, provided the value dropped by
 * rounding them is accounted for. Per row, a magnitude `mag` collects:
 *   affine step    |Λ|·(|W|·hmax + |b|) (scale-shift: |scale|, |shift|; conv and pool the same through their
 *                  tables; average pool times 1/divisor), hmax = max(|lower|, |upper|) of the layer's input:
 *                  bounds |E·h| where E = fl(Λ·W) − Λ·W (|E| ≤ γ_N·|Λ|·|W|, whatever order the MatMul and the
 *                  transposed gather sum in) and the rounding of Λ·b
 *   ReLU step      |Λ|·(2·zmax + t), zmax the pre-activation's max |value|: the rounding of each relaxed
 *                  coefficient (one product, relative u, slopes ≤ 1 + 2^-47) times |u| and of the sum Λ⁻·t
 *   max-pool step  |Λ|·(2·zmax + |d|), zmax the window's max |value| and d the constant of its upper line: the
 *                  coefficients move exactly (times 1 or 0) but overlapping windows sum at an input, and Λ⁻·d
 *   gather step    |Λ|·hmax of the layer (the transposed gather sums where a position is read twice)
 *   residual add   |Λ_a| + |Λ_b| times hmax of the layer where two branches' coefficients meet (one addition each)
 *   input          |Λ|·3·xmax: the final sum's rounding (Λ·lower + min(Λ, 0)·(upper − lower), the width rounded)
 * and the bound is fl(c + lin) − (2·γ_N·mag + TINY). The factor 2 covers the rounding of mag itself (a sum of
 * non-negative terms, computed ≥ (1 − γ_N) of its value), of the additions of the constants and of the final
 * subtraction; TINY = 1e-290 covers underflow (each product loses at most 2^-1074). The interval (IBP) bounds
 * are padded the same way: ± (2·γ_N·(|W|·hmax + |b|) + TINY) (an add: the sum of both inputs' hmax; ReLU, max-pool
 * and gathers compute no sum). The relaxation's own floats are rounded outward:
 * s and t are multiplied by 1 + 2^-48, which exceeds their rounding (three roundings of 2^-53), so the line
 * through (l, 0) with slope ≥ h/(h − l) stays above the ReLU on [l, h]; for h < 2^-900 (where h/(h − l) could
 * lose relative precision to underflow) s = 1, t = −l. Lower slopes in [0, 1] need no rounding (any is sound);
 * the max-pool's lines are exact (slopes 1, constants bounds already padded).
 * Hence the final lower bound never exceeds the exact-arithmetic minimum of G·y over the box of the network
 * with these float64 weights; the intermediate bounds likewise contain every exact value.
 *
 * Optimisable (the `optimisable` variant: α-CROWN's slopes and β-CROWN's multipliers, optimised by the runtime,
 * runtime/engine/optimise.ts). Inputs per ReLU layer: `alpha_<id>` [B, R, n], the rows' own lower slopes (where
 * in [0, 1] at an unstable neuron they replace the box's slopes in the rows' pass; intermediate layers keep the
 * box's), and `beta_<id>` [B, R, n], a multiplier γ of the pre-activation z added to the rows' coefficient on z as
 * the pass leaves the ReLU. The rows' bound is then a lower bound of G·y + Σ γ·z, which is ≤ G·y wherever every
 * γ·z ≤ 0: the graph uses γ only with that sign (min(γ, 0) where the box's bounds say z ≥ 0, e.g. an active split,
 * max(γ, 0) where z ≤ 0, 0 elsewhere), so any input is sound. The sum Λ' + γ rounds by at most min(|γ|, u·(|γ| +
 * |Λ'|)) (the nearer of Λ' alone and the rounded sum), which mag covers with min(|γ|·2/padCoef, |γ| + |Λ'|)·zmax:
 * nothing where γ = 0, so that the variant's bound with no slopes or multipliers given is the plain graph's.
 * Outputs per ReLU layer: `coef_<id>` [B, R, n], the rows' coefficients Λ on the ReLU's output, and `zhat_<id>`
 * [B, R, n], the pre-activation ẑ of the relaxed network (each ReLU and max-pool replaced by the line the rows'
 * pass took, by the sign of its coefficients) at the box corner x̂ the bound is attained at. The bound is that
 * relaxed network's rows at x̂, affine in each slope and multiplier where no sign changes, so its gradient is
 * Λ⁺·ẑ for an unstable neuron's slope and ẑ for its γ (float64 but unpadded: they steer, never certify).
 */

/** The bounds graph's input and output names. */
export const BOUNDS_IO = {
  lower: "lower",
  upper: "upper",
  rows: "rows",
  rowCount: "R",
  bound: "bound",
  slopes: (id: number) => `slopes_${id}`,
  clampLower: (id: number) => `clamp_lower_${id}`,
  clampUpper: (id: number) => `clamp_upper_${id}`,
  preLower: (id: number) => `pre_lower_${id}`,
  preUpper: (id: number) => `pre_upper_${id}`,
  coefficients: (id: number) => `coef_${id}`,
  rowSlopes: (id: number) => `alpha_${id}`,
  multipliers: (id: number) => `beta_${id}`,
  relaxed: (id: number) => `zhat_${id}`,
} as const;

/** Options of the generated graph beyond the network. */
export interface BoundsGraphOptions {
  /** Multiply-adds an intermediate layer's back-substitution may cost (backsub.ts backsubWork). */
  readonly workLimit?: number;
  /**
   * The optimisable variant (α- and β-CROWN; header "Optimisable"): per ReLU layer the inputs `alpha_<id>` and
   * `beta_<id>` [B, R, n] and the outputs `coef_<id>` and `zhat_<id>` [B, R, n].
   */
  readonly optimisable?: boolean;
  /**
   * Back-substitute intermediate layers where the work limit allows (default true); false: intervals only, for a
   * call whose clamps carry the intermediate bounds of an earlier call on the same boxes (the optimisation's
   * iterations: the rows' pass alone is recomputed).
   */
  readonly refine?: boolean;
  /**
   * false (with refine false): the clamps are the boxes' intermediate bounds, every ReLU's pre-activation and every
   * max-pool's input, finite and sound on the box (an earlier call's bounds on the same boxes, with any splits
   * applied): an affine layer read only by ReLUs and max-pools computes no interval, its consumer takes the clamps as
   * they are. Only the rows' magnitude (float64) is still computed there. Default true (intervals intersected with
   * the clamps). The rows' pass is then all the graph computes: on mnist_mlp the first layer's interval costs about
   * twice a row's back-substitution.
   */
  readonly intervals?: boolean;
  /**
   * "float32": the steering variant. The same graph in float32 (weights, boxes and every temporary): its bounds and
   * gradients steer an optimisation (runtime/engine/optimise.ts), never certify. The rows' bound has no pad (the
   * magnitude pass is left out: a third less work on mnist_mlp's rows); the intervals keep the float64 graph's pads
   * (γ_N with u = 2^-53, TINY and OUTWARD rounded to float32), which do not cover float32's rounding; the boxes,
   * rows and clamps round to float32 to nearest, not outward. Default "float64".
   */
  readonly precision?: "float64" | "float32";
}

const U = 2 ** -53;
const gamma = (n: number) => (n * U) / (1 - n * U);
/** The absolute part of every pad: covers underflow (see the header). */
export const BOUNDS_TINY = 1e-290;
/** s and t of an unstable ReLU's upper line are multiplied by this (outward, above their rounding). */
const OUTWARD = 1 + 2 ** -48;
/** Below this upper bound an unstable ReLU's upper line is v ≤ u − l (slope 1), never rounding-fragile. */
const SMALL_UPPER = 2 ** -900;

/** The ReLU layers of a network (layer order): the slopes the bounds take, one input per layer. */
export const reluLayers = (net: Network): number[] =>
  net.layers.filter((l, i) => l.kind === "relu" && neededLayers(net)[i]).map((l) => l.id);

/** The max-pool layers of a network (layer order): the clamps of their inputs the bounds take (BoundsAsk.poolClamps). */
export const poolLayers = (net: Network): number[] =>
  net.layers.filter((l, i) => l.kind === "maxpool" && neededLayers(net)[i]).map((l) => l.id);

/** Why the bounds graph does not cover a network (a matrix too large to make dense), or null. */
export function boundsGraphRefusal(net: Network): string | null {
  const need = neededLayers(net);
  for (const l of net.layers) {
    if (!need[l.id] || l.kind !== "affine" || l.op.kind !== "matrix") continue;
    if (l.op.rows * l.op.cols > MAX_DENSE)
      return `layer '${l.name}' (${l.onnxOp}): its ${l.op.rows}×${l.op.cols} matrix is too large to make dense (more than ${MAX_DENSE} elements)`;
  }
  return null;
}

/**
 * A fixed gather: `count` positions, position f reading input index source[f] (−1: a zero), and its inverse:
 * per input index the positions that read it (padded with `count`, the zero slot of a padded coefficient row).
 */
interface GatherTable {
  /** int64 [count]: source with −1 mapped to the input size (the zero appended to the input). */
  readonly forward: string;
  /** int64 [n, uses]. */
  readonly inverse: string;
  readonly count: number;
}

/** A coefficient tensor Λ: [R, n] (the [I; −I] stack before it meets a box-dependent step) or [B, R, n]. */
interface Coef {
  readonly name: string;
  readonly rank: 2 | 3;
}

/**
 * onnxruntime's own Conv and ConvTranspose for a conv plan (the steering variant only: their summation order is the
 * kernel's, which float32 steering need not bound): the 4-d kernels [M, C/G, kh, kw] and the ops' attributes.
 */
interface NativeConv {
  readonly attrs: Record<string, AttrValue>;
  readonly outputPadding: number[];
  /** Input [C, H, W] and output [M, OH, OW]. */
  readonly inDims: readonly [number, number, number];
  readonly outDims: readonly [number, number, number];
  /** The kernels by the plan's name of their [G, Mg, K] form. */
  readonly kernels: ReadonlyMap<string, string>;
}

/** A conv or average pool as im2col: G groups of M/G outputs over K = (C/G)·kh·kw taps at P positions. */
interface ConvPlan {
  /** The im2col table (null where `native` computes the products). */
  readonly table: GatherTable | null;
  /** The steering variant's Conv and ConvTranspose, where the geometry allows them (else null: im2col). */
  readonly native: NativeConv | null;
  readonly G: number;
  readonly Mg: number;
  readonly K: number;
  readonly P: number;
  /** [G, Mg, K] and its parts, and [G, K, Mg] (the transposed product). */
  readonly W: string;
  readonly WPos: string;
  readonly WNeg: string;
  readonly absW: string;
  /** [G, K, Mg] (null where `native`). */
  readonly WT: string | null;
  /** [M·P]: the bias per output and its magnitude (null: none). */
  readonly bias: string | null;
  readonly absBias: string | null;
  /** [M·P]: 1/divisor per output (average pool), or null. */
  readonly post: string | null;
}

type Weights =
  | {
      kind: "matrix";
      W: string;
      bias: string;
      WtPos: string;
      WtNeg: string;
      absWt: string;
      absB: string;
      /** Wᵀ [n, m] (the optimisable variant's relaxed pass), else null. */
      Wt: string | null;
    }
  | { kind: "diagonal"; scale: string; shift: string }
  | { kind: "conv"; plan: ConvPlan };

interface ReluRelaxation {
  readonly kind: "relu";
  /** [B, n] bool: l < 0 < h. */
  readonly unstable: string;
  /** [B, n] bool: l ≥ 0 (a multiplier may be ≤ 0) and h ≤ 0 (≥ 0). */
  readonly nonNegative: string;
  readonly nonPositive: string;
  readonly alpha: string;
  readonly s: string;
  readonly t: string;
  /** 2·zmax + t: the ReLU step's magnitude per neuron. */
  readonly mag: string;
}

interface PoolRelaxation {
  readonly kind: "maxpool";
  readonly table: GatherTable;
  readonly slots: number;
  /** [B, m, slots] 0/1: the best element's slot. */
  readonly sel: string;
  /** [B, m] 0/1: the best element dominates its window (the upper line is v ≤ u_best). */
  readonly dom: string;
  /** [B, m]: the upper line's constant where not dominated (0 where dominated). */
  readonly d: string;
  /** [B, m]: 2·zmax + |d|. */
  readonly mag: string;
}

/** A max-pool's input clamps as the optimisable variant's multipliers read them: ends (0 where infinite) and masks. */
interface PoolClampEnds {
  /** [B, n_in] bool: the lower (upper) end is finite. */
  readonly hasLower: string;
  readonly hasUpper: string;
  /** [B, n_in]: the ends, 0 where infinite. */
  readonly lower: string;
  readonly upper: string;
}

/** What the rows' back-substitution records (BoundsEmitter.backward): the optimisable variant's outputs read it. */
interface RowsPass {
  /** Per ReLU and max-pool layer: the rows' coefficients Λ [B, R, n] on its output. */
  readonly coefs: Map<number, string>;
  /** Per ReLU layer: the lower slopes the rows' pass used ([B, R, n] or [B, 1, n]). */
  readonly alpha: Map<number, string>;
  /** The coefficients at the input [B, R, n_0]. */
  input: string | null;
}

class BoundsEmitter {
  readonly b = new OnnxBuilder(GRAPH_OPSET, "robustc_bounds");
  readonly lo: (string | undefined)[];
  readonly hi: (string | undefined)[];
  private readonly absMax = new Map<number, string>();
  /** Affine layer id → |W|·hmax + |b| per box ([B, m]). */
  private readonly affineMag = new Map<number, string>();
  private readonly weights = new Map<number, Weights>();
  private readonly relax = new Map<number, ReluRelaxation | PoolRelaxation>();
  private readonly poolEnds = new Map<number, PoolClampEnds>();
  private readonly gathers = new Map<number, GatherTable>();
  private readonly consts = new Map<string, string>();
  readonly padCoef: number;
  private readonly need: boolean[];
  /** Cast's `to` for this.dtype (TensorProto DOUBLE 11, FLOAT 1). */
  get castTo(): number {
    return this.dtype === "float64" ? 11 : 1;
  }

  constructor(
    readonly net: Network,
    readonly m: NetworkMatrices,
    readonly workLimit: number,
    readonly optimisable: boolean,
    readonly refineLayers: boolean,
    readonly dtype: "float64" | "float32" = "float64",
    readonly intervals = true,
  ) {
    this.lo = net.layers.map(() => undefined);
    this.hi = net.layers.map(() => undefined);
    this.need = neededLayers(net);
    const chain = net.layers.filter((l) => this.need[l.id]);
    this.padCoef = 2 * gamma(chain.reduce((a, l) => a + sizeOf(l.shape), 0) + chain.length + 8);
  }

  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, prefix = op.toLowerCase()): string {
    const out = this.b.fresh(prefix);
    this.b.node(op, inputs, [out], attrs, this.b.fresh(op));
    return out;
  }

  f64(prefix: string, dims: readonly number[], data: ArrayLike<number>): string {
    return this.b.initializer({ name: this.b.fresh(prefix), dims, data, dtype: this.dtype });
  }

  i64(prefix: string, dims: readonly number[], data: ArrayLike<number>): string {
    return this.b.initializer({ name: this.b.fresh(prefix), dims, data, dtype: "int64" });
  }

  scalar(v: number): string {
    const key = `f${v}`;
    let n = this.consts.get(key);
    if (!n) this.consts.set(key, (n = this.f64(`c${v}`, [], [v])));
    return n;
  }

  ints(values: readonly number[]): string {
    const key = `i${values.join(",")}`;
    let n = this.consts.get(key);
    if (!n) {
      n = this.i64("axes", [values.length], values);
      this.consts.set(key, n);
    }
    return n;
  }

  /** Σ over the last axis ([.., R, n] → [.., R]). */
  sumLast(x: string): string {
    return this.op("ReduceSum", [x, this.ints([-1])], { keepdims: 0 });
  }

  maxLast(x: string): string {
    return this.op("ReduceMax", [x], { axes: [-1], keepdims: 0 });
  }

  /** [B, n] → [B, 1, n] (broadcast against Λ [B or 1, R, n]). */
  mid(x: string): string {
    return this.op("Unsqueeze", [x, this.ints([1])]);
  }

  reshape(x: string, dims: readonly number[]): string {
    return this.op("Reshape", [x, this.ints(dims)]);
  }

  add(a: string | null, x: string): string {
    return a === null ? x : this.op("Add", [a, x]);
  }

  /** The pad of a magnitude: 2·γ_N·mag + TINY. */
  pad(mag: string): string {
    return this.op("Add", [this.op("Mul", [mag, this.scalar(this.padCoef)]), this.scalar(BOUNDS_TINY)]);
  }

  maxAbs(id: number): string {
    let n = this.absMax.get(id);
    if (!n) {
      n = this.op("Max", [this.op("Abs", [this.lo[id]!]), this.op("Abs", [this.hi[id]!])]);
      this.absMax.set(id, n);
    }
    return n;
  }

  /** The table of a gather reading input positions `source` (−1: zero) from an input of n values. */
  table(prefix: string, source: ArrayLike<number>, n: number): GatherTable {
    const count = source.length;
    const readers: number[][] = Array.from({ length: n }, () => []);
    const fwd = new Array<number>(count);
    for (let f = 0; f < count; f++) {
      const s = source[f];
      fwd[f] = s < 0 ? n : s;
      if (s >= 0) readers[s].push(f);
    }
    const uses = Math.max(1, ...readers.map((r) => r.length));
    const inv = new Array<number>(n * uses).fill(count);
    readers.forEach((r, j) => r.forEach((f, k) => (inv[j * uses + k] = f)));
    return {
      forward: this.i64(`${prefix}_src`, [count], fwd),
      inverse: this.i64(`${prefix}_inv`, [n, uses], inv),
      count,
    };
  }

  /** x [B, n] (or [B, R, n]) → [B, count] ([B, R, count]): the table's positions (a zero appended to x for the padding). */
  gather(x: string, t: GatherTable, rank: 2 | 3 = 2): string {
    const padded = this.op("Pad", [x, this.ints(rank === 2 ? [0, 0, 0, 1] : [0, 0, 0, 0, 0, 1])]);
    return this.op("Gather", [padded, t.forward], { axis: rank - 1 });
  }

  /** The transposed gather: coefficients c [.., R, count] → [.., R, n], each input summing its positions. */
  scatter(c: Coef, t: GatherTable): Coef {
    const padded = this.op("Pad", [c.name, this.ints(c.rank === 2 ? [0, 0, 0, 1] : [0, 0, 0, 0, 0, 1])]);
    return { name: this.sumLast(this.op("Gather", [padded, t.inverse], { axis: c.rank - 1 })), rank: c.rank };
  }

  run(): Result<void> {
    const K = outputSize(this.net);
    const B = GRAPH_IO.batch,
      R = BOUNDS_IO.rowCount;
    for (const l of this.net.layers) {
      if (!this.need[l.id]) continue;
      switch (l.kind) {
        case "input": {
          const n = sizeOf(l.shape);
          this.b.input(BOUNDS_IO.lower, [B, n], this.dtype);
          this.b.input(BOUNDS_IO.upper, [B, n], this.dtype);
          this.lo[l.id] = BOUNDS_IO.lower;
          this.hi[l.id] = BOUNDS_IO.upper;
          break;
        }
        case "reshape":
          this.reshapeLayer(l);
          break;
        case "relu":
          this.relu(l);
          break;
        case "maxpool":
          this.maxpool(l);
          break;
        case "affine":
          this.affine(l);
          break;
        case "add":
          this.addLayer(l);
          break;
      }
    }
    this.b.input(BOUNDS_IO.rows, [B, R, K], this.dtype);
    // The rows' back-substitution records what the optimisable variant's outputs and relaxed pass read.
    const rec: RowsPass = { coefs: new Map(), alpha: new Map(), input: null };
    const bound = this.backward(this.net.output, { name: BOUNDS_IO.rows, rank: 3 }, rec);
    if (this.optimisable) {
      const zhat = this.relaxedForward(rec);
      for (const id of poolLayers(this.net)) {
        const c = rec.coefs.get(id);
        if (!c) throw new Error(`internal: the rows never reached max-pool layer ${id}`);
        this.b.node("Identity", [c], [BOUNDS_IO.coefficients(id)], {}, `coef_${id}`);
        this.b.output(BOUNDS_IO.coefficients(id), [B, R, sizeOf(this.net.layers[id].shape)], this.dtype);
        const inp = (this.net.layers[id] as Extract<Layer, { kind: "maxpool" }>).input;
        this.b.node("Identity", [zhat.get(id)!], [BOUNDS_IO.relaxed(id)], {}, `zhat_${id}`);
        this.b.output(BOUNDS_IO.relaxed(id), [B, R, sizeOf(this.net.layers[inp].shape)], this.dtype);
      }
      for (const id of reluLayers(this.net)) {
        const c = rec.coefs.get(id);
        if (!c) throw new Error(`internal: the rows never reached ReLU layer ${id}`);
        const w = sizeOf(this.net.layers[id].shape);
        this.b.node("Identity", [c], [BOUNDS_IO.coefficients(id)], {}, `coef_${id}`);
        this.b.output(BOUNDS_IO.coefficients(id), [B, R, w], this.dtype);
        this.b.node("Identity", [zhat.get(id)!], [BOUNDS_IO.relaxed(id)], {}, `zhat_${id}`);
        this.b.output(BOUNDS_IO.relaxed(id), [B, R, w], this.dtype);
      }
    }
    this.b.node("Identity", [bound], [BOUNDS_IO.bound], {}, "bound");
    this.b.output(BOUNDS_IO.bound, [B, R], this.dtype);
    for (const id of [...reluLayers(this.net), ...poolLayers(this.net)]) {
      const inp = (this.net.layers[id] as Extract<Layer, { kind: "relu" | "maxpool" }>).input;
      const n = sizeOf(this.net.layers[inp].shape);
      this.b.node("Identity", [this.lo[inp]!], [BOUNDS_IO.preLower(id)], {}, `pre_lower_${id}`);
      this.b.node("Identity", [this.hi[inp]!], [BOUNDS_IO.preUpper(id)], {}, `pre_upper_${id}`);
      this.b.output(BOUNDS_IO.preLower(id), [B, n], this.dtype);
      this.b.output(BOUNDS_IO.preUpper(id), [B, n], this.dtype);
    }
    return ok(undefined);
  }

  /** The rows' own lower slopes of an unstable ReLU: alpha_<id> where it lies in [0, 1], else the box's. */
  private rowSlopes(id: number, rx: ReluRelaxation): string {
    const given = BOUNDS_IO.rowSlopes(id);
    const valid = this.op("And", [
      this.op("GreaterOrEqual", [given, this.scalar(0)]),
      this.op("LessOrEqual", [given, this.scalar(1)]),
    ]);
    return this.op("Where", [this.op("And", [this.mid(rx.unstable), valid]), given, this.mid(rx.alpha)]);
  }

  /**
   * The relaxed network's pass (header "Optimisable"): per box and row, from the input box's corner x̂ that the
   * rows' bound takes (lower where Λ ≥ 0, else upper) through every layer with each ReLU and max-pool replaced by
   * the line the rows' pass used; returns each ReLU's pre-activation ẑ [B, R, n].
   */
  private relaxedForward(rec: RowsPass): Map<number, string> {
    const z = new Map<number, string>(),
      zhat = new Map<number, string>();
    const zero = this.scalar(0);
    const at = (id: number) => z.get(id)!;
    for (const l of this.net.layers) {
      if (!this.need[l.id]) continue;
      let v: string;
      switch (l.kind) {
        case "input":
          v = this.op("Where", [
            this.op("GreaterOrEqual", [rec.input!, zero]),
            this.mid(this.lo[l.id]!),
            this.mid(this.hi[l.id]!),
          ]);
          break;
        case "reshape":
          v = l.source ? this.gather(at(l.input), this.gathers.get(l.id)!, 3) : at(l.input);
          break;
        case "add":
          v = this.op("Add", [at(l.inputs[0]), at(l.inputs[1])]);
          break;
        case "affine": {
          const w = this.weights.get(l.id)!,
            x = at(l.input);
          if (w.kind === "matrix") v = this.op("Add", [this.op("MatMul", [x, w.Wt!]), w.bias]);
          else if (w.kind === "diagonal") v = this.op("Add", [this.op("Mul", [x, w.scale]), w.shift]);
          else {
            // Σ kernel·x (times 1/divisor), then the bias: the affine map itself (the pool's has none).
            const p = w.plan;
            v = this.convApply(p, p.W, x, 3);
            if (p.bias) v = this.op("Add", [v, p.bias]);
          }
          break;
        }
        case "relu": {
          const x = at(l.input),
            rx = this.relax.get(l.id) as ReluRelaxation;
          zhat.set(l.id, x);
          const lowerLine = this.op("Mul", [rec.alpha.get(l.id)!, x]);
          const upperLine = this.op("Add", [this.op("Mul", [x, this.mid(rx.s)]), this.mid(rx.t)]);
          v = this.op("Where", [this.op("GreaterOrEqual", [rec.coefs.get(l.id)!, zero]), lowerLine, upperLine]);
          break;
        }
        case "maxpool": {
          const rx = this.relax.get(l.id) as PoolRelaxation,
            m = sizeOf(l.shape);
          zhat.set(l.id, at(l.input));
          const slots = this.reshape(this.gather(at(l.input), rx.table, 3), [0, 0, m, rx.slots]);
          const best = this.sumLast(this.op("Mul", [slots, this.op("Unsqueeze", [rx.sel, this.ints([1])])]));
          const upperLine = this.op("Add", [this.op("Mul", [best, this.mid(rx.dom)]), this.mid(rx.d)]);
          v = this.op("Where", [this.op("GreaterOrEqual", [rec.coefs.get(l.id)!, zero]), best, upperLine]);
          break;
        }
      }
      z.set(l.id, v);
    }
    return zhat;
  }

  private reshapeLayer(l: Extract<Layer, { kind: "reshape" }>): void {
    if (!l.source) {
      this.lo[l.id] = this.lo[l.input];
      this.hi[l.id] = this.hi[l.input];
      return;
    }
    const t = this.table(`l${l.id}`, l.source, sizeOf(this.net.layers[l.input].shape));
    this.gathers.set(l.id, t);
    this.lo[l.id] = this.gather(this.lo[l.input]!, t);
    this.hi[l.id] = this.gather(this.hi[l.input]!, t);
  }

  private relu(l: Extract<Layer, { kind: "relu" }>): void {
    const n = sizeOf(l.shape);
    // The caller's clamps (branch and bound's splits) narrow the pre-activation's bounds first: everything after,
    // the relaxation and the later layers, sees the clamped bounds (so does the pre_lower/pre_upper output).
    this.b.input(BOUNDS_IO.clampLower(l.id), [GRAPH_IO.batch, n], this.dtype);
    this.b.input(BOUNDS_IO.clampUpper(l.id), [GRAPH_IO.batch, n], this.dtype);
    const lo = (this.lo[l.input] = this.clamped(l.input, "Max", BOUNDS_IO.clampLower(l.id)));
    const hi = (this.hi[l.input] = this.clamped(l.input, "Min", BOUNDS_IO.clampUpper(l.id)));
    this.absMax.delete(l.input);
    const zero = this.scalar(0);
    this.b.input(BOUNDS_IO.slopes(l.id), [GRAPH_IO.batch, n], this.dtype);
    const unstable = this.op("And", [this.op("Less", [lo, zero]), this.op("Greater", [hi, zero])]);
    // Stable inactive first where h ≤ 0 (relu.ts's order: [0, 0] is inactive, its coefficients 0).
    const active = this.op(
      "Cast",
      [this.op("And", [this.op("GreaterOrEqual", [lo, zero]), this.op("Greater", [hi, zero])])],
      {
        to: this.castTo,
      },
    );
    // s = h/(h − l)·(1 + 2^-48) and t = (−l·s)·(1 + 2^-48), rounded outward (header); slope 1 for a tiny h.
    const chord = this.op("Mul", [this.op("Div", [hi, this.op("Sub", [hi, lo])]), this.scalar(OUTWARD)]);
    const sU = this.op("Where", [this.op("Greater", [hi, this.scalar(SMALL_UPPER)]), chord, this.scalar(1)]);
    const tU = this.op("Mul", [this.op("Mul", [this.op("Neg", [lo]), sU]), this.scalar(OUTWARD)]);
    const s = this.op("Where", [unstable, sU, active]);
    const t = this.op("Where", [unstable, tU, zero]);
    const deepPoly = this.op("Cast", [this.op("GreaterOrEqual", [hi, this.op("Neg", [lo])])], { to: this.castTo });
    const given = BOUNDS_IO.slopes(l.id);
    const valid = this.op("And", [
      this.op("GreaterOrEqual", [given, zero]),
      this.op("LessOrEqual", [given, this.scalar(1)]),
    ]);
    const alpha = this.op("Where", [unstable, this.op("Where", [valid, given, deepPoly]), active]);
    const zmax = this.maxAbs(l.input);
    this.relax.set(l.id, {
      kind: "relu",
      unstable,
      nonNegative: this.op("GreaterOrEqual", [lo, zero]),
      nonPositive: this.op("LessOrEqual", [hi, zero]),
      alpha,
      s,
      t,
      mag: this.op("Add", [this.op("Add", [zmax, zmax]), t]),
    });
    if (this.optimisable) {
      this.b.input(BOUNDS_IO.rowSlopes(l.id), [GRAPH_IO.batch, BOUNDS_IO.rowCount, n], this.dtype);
      this.b.input(BOUNDS_IO.multipliers(l.id), [GRAPH_IO.batch, BOUNDS_IO.rowCount, n], this.dtype);
    }
    this.lo[l.id] = this.op("Relu", [lo]);
    this.hi[l.id] = this.op("Relu", [hi]);
    this.absMax.set(l.id, this.hi[l.id]!);
  }

  /** A nonlinear layer's input bounds narrowed by its clamp (Max or Min), or the clamp alone where no interval was computed. */
  private clamped(id: number, op: "Max" | "Min", clamp: string): string {
    const side = op === "Max" ? this.lo[id] : this.hi[id];
    return side === undefined ? clamp : this.op(op, [side, clamp]);
  }

  /** Whether layer l's bounds are the clamps alone (intervals = false and only ReLUs and max-pools read it). */
  private fromClamps(l: Layer): boolean {
    if (this.intervals) return false;
    const readers = this.net.layers.filter(
      (r) => this.need[r.id] && (r.kind === "add" ? r.inputs.includes(l.id) : "input" in r && r.input === l.id),
    );
    return readers.length > 0 && readers.every((r) => r.kind === "relu" || r.kind === "maxpool");
  }

  private maxpool(l: Extract<Layer, { kind: "maxpool" }>): void {
    const w = layerWindows(l),
      m = w.indptr.length - 1;
    // The caller's clamps on the pool's input (branch and bound's max-pool splits), as a ReLU's on its
    // pre-activation: the relaxation and every layer after see the clamped bounds.
    const nIn = sizeOf(this.net.layers[l.input].shape);
    this.b.input(BOUNDS_IO.clampLower(l.id), [GRAPH_IO.batch, nIn], this.dtype);
    this.b.input(BOUNDS_IO.clampUpper(l.id), [GRAPH_IO.batch, nIn], this.dtype);
    this.lo[l.input] = this.clamped(l.input, "Max", BOUNDS_IO.clampLower(l.id));
    this.hi[l.input] = this.clamped(l.input, "Min", BOUNDS_IO.clampUpper(l.id));
    this.absMax.delete(l.input);
    if (this.optimisable) {
      this.b.input(BOUNDS_IO.multipliers(l.id), [GRAPH_IO.batch, BOUNDS_IO.rowCount, nIn], this.dtype);
      const zero = this.scalar(0);
      const hasLower = this.op("Greater", [BOUNDS_IO.clampLower(l.id), this.scalar(-Infinity)]),
        hasUpper = this.op("Less", [BOUNDS_IO.clampUpper(l.id), this.scalar(Infinity)]);
      this.poolEnds.set(l.id, {
        hasLower,
        hasUpper,
        lower: this.op("Where", [hasLower, BOUNDS_IO.clampLower(l.id), zero]),
        upper: this.op("Where", [hasUpper, BOUNDS_IO.clampUpper(l.id), zero]),
      });
    }
    let slots = 1;
    for (let j = 0; j < m; j++) slots = Math.max(slots, w.indptr[j + 1] - w.indptr[j]);
    // Slot k of window j: its k-th element, or −1 past the window's end (a window in the padding only has none).
    const source = new Int32Array(m * slots).fill(-1);
    for (let j = 0; j < m; j++)
      for (let k = w.indptr[j]; k < w.indptr[j + 1]; k++) source[j * slots + k - w.indptr[j]] = w.indices[k];
    const t = this.table(`l${l.id}`, source, sizeOf(this.net.layers[l.input].shape));
    // [B, m, slots] views; slots past a window's end read −∞ (they never win a max) through `invalid`.
    const invalid = this.f64(
      `l${l.id}_invalid`,
      [m, slots],
      Array.from(source, (s) => (s < 0 ? -Infinity : 0)),
    );
    const view = (x: string) => this.op("Add", [this.reshape(this.gather(x, t), [0, m, slots]), invalid]);
    const glo = view(this.lo[l.input]!),
      ghi = view(this.hi[l.input]!);
    const lo = this.maxLast(glo),
      hi = this.maxLast(ghi);
    // best: the first slot of largest lower bound (ArgMax keeps the first); dominated: lower(best) ≥ the upper bound
    // of every other slot of the window.
    const best = this.op("ArgMax", [glo], { axis: -1, keepdims: 1, select_last_index: 0 });
    const selB = this.op("Equal", [
      this.i64(
        `l${l.id}_slots`,
        [slots],
        Array.from({ length: slots }, (_, k) => k),
      ),
      best,
    ]);
    const sel = this.op("Cast", [selB], { to: this.castTo });
    const others = this.maxLast(this.op("Where", [selB, this.scalar(-Infinity), ghi]));
    const domB = this.op("GreaterOrEqual", [lo, others]);
    const dom = this.op("Cast", [domB], { to: this.castTo });
    const d = this.op("Where", [domB, this.scalar(0), hi]);
    // The input's largest |value| over each window (slots past the end read 0 after the zero pad: harmless).
    const zmax = this.maxLast(this.reshape(this.gather(this.maxAbs(l.input), t), [0, m, slots]));
    const mag = this.op("Add", [this.op("Add", [zmax, zmax]), this.op("Abs", [d])]);
    this.relax.set(l.id, { kind: "maxpool", table: t, slots, sel, dom, d, mag });
    this.lo[l.id] = lo;
    this.hi[l.id] = hi;
  }

  private addLayer(l: Extract<Layer, { kind: "add" }>): void {
    const [a, c] = l.inputs;
    const pad = this.pad(this.op("Add", [this.maxAbs(a), this.maxAbs(c)]));
    const ibpLo = this.op("Sub", [this.op("Add", [this.lo[a]!, this.lo[c]!]), pad]);
    const ibpHi = this.op("Add", [this.op("Add", [this.hi[a]!, this.hi[c]!]), pad]);
    this.refine(l, ibpLo, ibpHi);
  }

  /** A conv (grouped, dilated, padded) or an average pool as im2col tables and per-group kernels. */
  private convPlan(id: number, op: Extract<AffineOp, { kind: "conv" | "avgpool" }>): ConvPlan {
    const g = op.geometry;
    const [kh, kw] = g.kernel;
    const G = op.kind === "conv" ? op.group : g.inC;
    const cpg = g.inC / G,
      Mg = g.outC / G,
      K = cpg * kh * kw,
      P = g.outH * g.outW;
    const source = new Int32Array(G * K * P).fill(-1);
    for (let grp = 0; grp < G; grp++)
      for (let ci = 0; ci < cpg; ci++)
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const k = (ci * kh + ky) * kw + kx;
            for (let oy = 0; oy < g.outH; oy++) {
              const y = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
              if (y < 0 || y >= g.inH) continue;
              for (let ox = 0; ox < g.outW; ox++) {
                const x = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
                if (x >= 0 && x < g.inW)
                  source[(grp * K + k) * P + oy * g.outW + ox] = ((grp * cpg + ci) * g.inH + y) * g.inW + x;
              }
            }
          }
    // The kernel [G, Mg, K] is the IR's weight [M, C/G, kh, kw] as it lies (output channel oc = grp·Mg + m).
    const w = op.kind === "conv" ? Float64Array.from(op.weight) : new Float64Array(G * Mg * K).fill(1);
    const wt = new Float64Array(w.length);
    for (let grp = 0; grp < G; grp++)
      for (let mm = 0; mm < Mg; mm++)
        for (let k = 0; k < K; k++) wt[(grp * K + k) * Mg + mm] = w[(grp * Mg + mm) * K + k];
    const perOutput = (f: (oc: number, p: number) => number) => {
      const v = new Float64Array(g.outC * P);
      for (let oc = 0; oc < g.outC; oc++) for (let p = 0; p < P; p++) v[oc * P + p] = f(oc, p);
      return v;
    };
    const bias = op.kind === "conv" && op.bias.some((v) => v !== 0) ? perOutput((oc) => op.bias[oc]) : null;
    const post =
      op.kind === "avgpool"
        ? perOutput((_, p) => 1 / avgPoolDivisor(g, Math.floor(p / g.outW), p % g.outW, op.countIncludePad))
        : null;
    const W = this.f64(`l${id}_W`, [G, Mg, K], w),
      WPos = this.f64(
        `l${id}_Wpos`,
        [G, Mg, K],
        w.map((v) => Math.max(v, 0)),
      ),
      WNeg = this.f64(
        `l${id}_Wneg`,
        [G, Mg, K],
        w.map((v) => Math.min(v, 0)),
      ),
      absW = this.f64(`l${id}_absW`, [G, Mg, K], w.map(Math.abs));
    const native = this.nativeConv(id, op, G, [W, WPos, WNeg, absW]);
    return {
      table: native ? null : this.table(`l${id}`, source, g.inC * g.inH * g.inW),
      native,
      G,
      Mg,
      K,
      P,
      W,
      WPos,
      WNeg,
      absW,
      WT: native ? null : this.f64(`l${id}_WT`, [G, K, Mg], wt),
      bias: bias ? this.f64(`l${id}_b`, [bias.length], bias) : null,
      absBias: bias ? this.f64(`l${id}_absb`, [bias.length], bias.map(Math.abs)) : null,
      post: post ? this.f64(`l${id}_post`, [post.length], post) : null,
    };
  }

  /**
   * The steering variant's Conv/ConvTranspose for a conv or average pool (null in float64, or where no explicit pads
   * give the IR's output size, or no output padding restores its input: im2col then, as in float64).
   */
  private nativeConv(
    id: number,
    op: Extract<AffineOp, { kind: "conv" | "avgpool" }>,
    G: number,
    kernels: readonly string[],
  ): NativeConv | null {
    if (this.dtype !== "float32") return null;
    const g = op.geometry;
    const pads = op.kind === "conv" ? [...g.pads] : widenedPads(g);
    if (floorMismatch({ ...g, pads: pads as [number, number, number, number] })) return null;
    const outputPadding = [0, 1].map(
      (i) =>
        [g.inH, g.inW][i] -
        (([g.outH, g.outW][i] - 1) * g.strides[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - pads[i] - pads[i + 2]),
    );
    if (outputPadding.some((p, i) => p < 0 || p >= Math.max(g.strides[i], g.dilations[i]))) return null;
    const dims = [g.outC, g.inC / G, g.kernel[0], g.kernel[1]];
    return {
      attrs: { ...windowAttrs(g, pads), group: G },
      outputPadding,
      inDims: [g.inC, g.inH, g.inW],
      outDims: [g.outC, g.outH, g.outW],
      kernels: new Map(kernels.map((k) => [k, this.reshape(k, dims)])),
    };
  }

  /** x [.., C·H·W] → [.., M·OH·OW] by onnxruntime's Conv (`transpose`: its ConvTranspose, the other way). */
  private nativeApply(nc: NativeConv, kernel: string, x: string, transpose = false): string {
    const [from, to] = transpose ? [nc.outDims, nc.inDims] : [nc.inDims, nc.outDims];
    const x4 = this.reshape(x, [-1, ...from]);
    const y = transpose
      ? this.op("ConvTranspose", [x4, nc.kernels.get(kernel)!], { ...nc.attrs, output_padding: nc.outputPadding })
      : this.op("Conv", [x4, nc.kernels.get(kernel)!], nc.attrs);
    const lead = this.op("Shape", [x], { end: -1 });
    return this.op("Reshape", [y, this.op("Concat", [lead, this.ints([to[0] * to[1] * to[2]])], { axis: 0 })]);
  }

  /** Σ_taps kernel·x over the plan's patches: x [B, n] (or [B, R, n]) → [B, M·P] (times 1/divisor for a pool). */
  private convApply(plan: ConvPlan, kernel: string, x: string, rank: 2 | 3 = 2): string {
    let y: string;
    if (plan.native) y = this.nativeApply(plan.native, kernel, x);
    else {
      const lead = rank === 2 ? [0] : [0, 0];
      const patches = this.reshape(this.gather(x, plan.table!, rank), [...lead, plan.G, plan.K, plan.P]);
      y = this.reshape(this.op("MatMul", [kernel, patches]), [...lead, plan.G * plan.Mg * plan.P]);
    }
    return plan.post ? this.op("Mul", [y, plan.post]) : y;
  }

  private affine(l: Extract<Layer, { kind: "affine" }>): void {
    const op = l.op;
    const lo = this.lo[l.input]!,
      hi = this.hi[l.input]!;
    // The clamps are this layer's bounds (BoundsGraphOptions.intervals): no interval, the magnitude in float64 only.
    const given = this.fromClamps(l),
      magOnly = given && this.dtype === "float64";
    let ibpLo: string, ibpHi: string;
    if (op.kind === "scale-shift") {
      // y = scale ∘ h + shift (one product and one sum per value): the interval of each product is [min, max]
      // of its two ends; the magnitude |scale|·hmax + |shift|.
      const m = op.scale.length;
      const scale = this.f64(`l${l.id}_scale`, [m], op.scale),
        shift = this.f64(`l${l.id}_shift`, [m], op.shift);
      this.weights.set(l.id, { kind: "diagonal", scale, shift });
      if (given && !magOnly) return;
      const mag = this.op("Add", [
        this.op("Mul", [this.maxAbs(l.input), this.f64(`l${l.id}_absScale`, [m], op.scale.map(Math.abs))]),
        this.f64(`l${l.id}_absShift`, [m], op.shift.map(Math.abs)),
      ]);
      this.affineMag.set(l.id, mag);
      if (given) return;
      const pad = this.pad(mag);
      const [p, q] = [this.op("Mul", [lo, scale]), this.op("Mul", [hi, scale])];
      ibpLo = this.op("Sub", [this.op("Add", [this.op("Min", [p, q]), shift]), pad]);
      ibpHi = this.op("Add", [this.op("Add", [this.op("Max", [p, q]), shift]), pad]);
    } else if (op.kind === "conv" || op.kind === "avgpool") {
      // IBP: W⁺ patches of lower + W⁻ patches of upper (+ bias), padded by 2·γ_N·(|W|·hmax + |b|) + TINY.
      const plan = this.convPlan(l.id, op);
      this.weights.set(l.id, { kind: "conv", plan });
      if (given && !magOnly) return;
      const withBias = (y: string, b: string | null) => (b ? this.op("Add", [y, b]) : y);
      const mag = withBias(this.convApply(plan, plan.absW, this.maxAbs(l.input)), plan.absBias);
      this.affineMag.set(l.id, mag);
      if (given) return;
      const pad = this.pad(mag);
      const sum = (a: string, b: string) =>
        withBias(this.op("Add", [this.convApply(plan, plan.WPos, a), this.convApply(plan, plan.WNeg, b)]), plan.bias);
      ibpLo = this.op("Sub", [sum(lo, hi), pad]);
      ibpHi = this.op("Add", [sum(hi, lo), pad]);
    } else {
      const n = op.cols,
        m = op.rows;
      const W = new Float64Array(m * n);
      for (let r = 0; r < m; r++)
        for (let k = op.indptr[r]; k < op.indptr[r + 1]; k++) W[r * n + op.indices[k]] += op.values[k];
      const Wt = (f: (v: number) => number) => {
        const t = new Float64Array(n * m);
        for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) t[c * m + r] = f(W[r * n + c]);
        return t;
      };
      const bias = Float64Array.from(op.bias);
      const w = {
        kind: "matrix" as const,
        W: this.f64(`l${l.id}_W`, [m, n], W),
        bias: this.f64(`l${l.id}_b`, [m], bias),
        WtPos: this.f64(
          `l${l.id}_WtPos`,
          [n, m],
          Wt((v) => Math.max(v, 0)),
        ),
        WtNeg: this.f64(
          `l${l.id}_WtNeg`,
          [n, m],
          Wt((v) => Math.min(v, 0)),
        ),
        absWt: this.f64(`l${l.id}_absWt`, [n, m], Wt(Math.abs)),
        absB: this.f64(`l${l.id}_absb`, [m], bias.map(Math.abs)),
        Wt: this.optimisable
          ? this.f64(
              `l${l.id}_Wt`,
              [n, m],
              Wt((v) => v),
            )
          : null,
      };
      this.weights.set(l.id, w);
      if (given && !magOnly) return;
      // IBP: W⁺·lower + W⁻·upper + b, padded by 2·γ_N·(|W|·hmax + |b|) + TINY (header).
      const mag = this.op("Add", [this.op("MatMul", [this.maxAbs(l.input), w.absWt]), w.absB]);
      this.affineMag.set(l.id, mag);
      if (given) return;
      const pad = this.pad(mag);
      ibpLo = this.op("Sub", [
        this.op("Add", [this.op("Add", [this.op("MatMul", [lo, w.WtPos]), this.op("MatMul", [hi, w.WtNeg])]), w.bias]),
        pad,
      ]);
      ibpHi = this.op("Add", [
        this.op("Add", [this.op("Add", [this.op("MatMul", [hi, w.WtPos]), this.op("MatMul", [lo, w.WtNeg])]), w.bias]),
        pad,
      ]);
    }
    this.refine(l, ibpLo, ibpHi);
  }

  /** A layer's bounds: its interval, intersected with back-substitution where refineBounds's rule asks for it. */
  private refine(l: Extract<Layer, { kind: "affine" | "add" }>, ibpLo: string, ibpHi: string): void {
    if (!this.backsubstituted(l)) {
      this.lo[l.id] = ibpLo;
      this.hi[l.id] = ibpHi;
      return;
    }
    // Back-substitution of rows [I; −I] (lower bounds of u and of −u), intersected with IBP.
    const m = sizeOf(l.shape);
    const stack = new Float64Array(2 * m * m);
    for (let i = 0; i < m; i++) {
      stack[i * m + i] = 1;
      stack[(m + i) * m + i] = -1;
    }
    const r = this.backward(l.id, { name: this.f64(`l${l.id}_pm`, [2 * m, m], stack), rank: 2 });
    const lowC = this.op("Slice", [r, this.ints([0]), this.ints([m]), this.ints([1])]);
    const upC = this.op("Neg", [this.op("Slice", [r, this.ints([m]), this.ints([2 * m]), this.ints([1])])]);
    this.lo[l.id] = this.op("Max", [ibpLo, lowC]);
    this.hi[l.id] = this.op("Min", [ibpHi, upC]);
  }

  /**
   * Back-substituted (backsub.ts refineBounds's rule): the input of a ReLU or a max-pool, computed by an affine
   * layer that does not read the input box directly (IBP is exact there) or by a residual add, where
   * back-substituting its rows costs at most the work limit.
   */
  private backsubstituted(l: Extract<Layer, { kind: "affine" | "add" }>): boolean {
    const net = this.net;
    const readByNonlinear = net.layers.some(
      (r) => this.need[r.id] && (r.kind === "relu" || r.kind === "maxpool") && r.input === l.id,
    );
    if (!readByNonlinear) return false;
    if (!this.refineLayers || (l.kind === "affine" && net.layers[l.input].kind === "input")) return false;
    const n = sizeOf(l.shape);
    const work = backsubWork(net, this.m, l.id, n);
    return work !== null && work <= this.workLimit;
  }

  /**
   * Lower bounds [B, R] of Λ·(layer `start`'s value) over each box, Λ [B or none, R, n_start]. `rows`: this is the
   * rows' pass (not an intermediate layer's), which records into it and, in the optimisable variant, takes the
   * rows' own slopes and multipliers.
   */
  private backward(start: number, lambda: Coef, rows?: RowsPass): string {
    let c: string | null = null,
      mag: string | null = null;
    // The rounding magnitude's terms, built only where the graph certifies (the steering variant has no pad).
    const addTerm = (term: () => string) => {
      if (this.dtype === "float64") mag = this.add(mag, term());
    };
    const addMag = (L: Coef, perValue: string) =>
      addTerm(() => this.sumLast(this.op("Mul", [this.op("Abs", [L.name]), this.mid(perValue)])));
    // Coefficients waiting at each layer; layers are in topological order, so going down the ids every layer's
    // coefficients are complete before it sends them on.
    const pending = new Map<number, Coef>();
    const send = (to: number, L: Coef) => {
      const e = pending.get(to);
      if (!e) {
        pending.set(to, L);
        return;
      }
      // Two branches meet (a residual add's): the sum's rounding is ≤ γ·(|Λ_a| + |Λ_b|) per coefficient.
      addTerm(() => {
        const both = this.op("Add", [this.op("Abs", [e.name]), this.op("Abs", [L.name])]);
        return this.sumLast(this.op("Mul", [both, this.mid(this.maxAbs(to))]));
      });
      pending.set(to, { name: this.op("Add", [e.name, L.name]), rank: Math.max(e.rank, L.rank) as 2 | 3 });
    };
    send(start, lambda);
    for (let id = start; id >= 0; id--) {
      const L = pending.get(id);
      if (!L) continue;
      pending.delete(id);
      const l = this.net.layers[id];
      if (l.kind === "input") {
        if (pending.size !== 0) throw new Error("internal: back-substitution did not end at the input");
        // min over the box of Λ·x = Λ·lower + min(Λ, 0)·(upper − lower), as batched matrix–vector products (no
        // [B, R, n] temporaries beyond min(Λ, 0) and |Λ|); its terms are at most |Λ|·3·xmax (mag, header).
        const col = (v: string) => this.op("Unsqueeze", [v, this.ints([-1])]);
        const mv = (A: string, v: string) => this.op("Squeeze", [this.op("MatMul", [A, col(v)]), this.ints([-1])]);
        const lo = this.lo[id]!,
          width = this.op("Sub", [this.hi[id]!, lo]);
        if (rows) rows.input = L.name;
        const lin = this.op("Add", [mv(L.name, lo), mv(this.op("Min", [L.name, this.scalar(0)]), width)]);
        addTerm(() => mv(this.op("Abs", [L.name]), this.op("Mul", [this.maxAbs(id), this.scalar(3)])));
        const total = c === null ? lin : this.op("Add", [c, lin]);
        return mag === null ? total : this.op("Sub", [total, this.pad(mag)]);
      }
      switch (l.kind) {
        case "reshape": {
          if (!l.source) {
            send(l.input, L);
            break;
          }
          addMag(L, this.maxAbs(l.id));
          send(l.input, this.scatter(L, this.gathers.get(l.id)!));
          break;
        }
        case "add":
          send(l.inputs[0], L);
          send(l.inputs[1], L);
          break;
        case "affine": {
          const w = this.weights.get(l.id)!;
          addMag(L, this.affineMag.get(l.id)!);
          if (w.kind === "conv") {
            const p = w.plan;
            if (p.bias) c = this.add(c, this.op("MatMul", [L.name, p.bias]));
            const scaled = p.post ? this.op("Mul", [L.name, p.post]) : L.name;
            if (p.native) {
              send(l.input, { name: this.nativeApply(p.native, p.W, scaled, true), rank: L.rank });
              break;
            }
            const lead = L.rank === 2 ? [0] : [0, 0];
            const perGroup = this.reshape(scaled, [...lead, p.G, p.Mg, p.P]);
            const taps = this.reshape(this.op("MatMul", [p.WT!, perGroup]), [...lead, p.G * p.K * p.P]);
            send(l.input, this.scatter({ name: taps, rank: L.rank }, p.table!));
          } else if (w.kind === "matrix") {
            c = this.add(c, this.op("MatMul", [L.name, w.bias]));
            send(l.input, { name: this.op("MatMul", [L.name, w.W]), rank: L.rank });
          } else {
            c = this.add(c, this.op("MatMul", [L.name, w.shift]));
            send(l.input, { name: this.op("Mul", [L.name, w.scale]), rank: L.rank });
          }
          break;
        }
        case "relu": {
          rows?.coefs.set(l.id, L.name);
          const rx = this.relax.get(l.id) as ReluRelaxation;
          const neg = this.op("Min", [L.name, this.scalar(0)]);
          addMag(L, rx.mag);
          c = this.add(c, this.sumLast(this.op("Mul", [neg, this.mid(rx.t)])));
          const opt = rows && this.optimisable;
          const alpha = opt ? this.rowSlopes(l.id, rx) : this.mid(rx.alpha);
          rows?.alpha.set(l.id, alpha);
          let next = this.op("Add", [
            this.op("Mul", [this.op("Relu", [L.name]), alpha]),
            this.op("Mul", [neg, this.mid(rx.s)]),
          ]);
          if (opt) {
            // β-CROWN's term γ·z, γ with the sign that keeps it ≤ 0 on the box (header "Optimisable"); the sum's
            // rounding, at most min(|γ|, u·(|γ| + |Λ'|)), is in mag as min(|γ|·2/padCoef, |γ| + |Λ'|)·zmax (0 for γ = 0).
            const zero = this.scalar(0),
              given = BOUNDS_IO.multipliers(l.id);
            const gamma = this.op("Where", [
              this.mid(rx.nonNegative),
              this.op("Min", [given, zero]),
              this.op("Where", [this.mid(rx.nonPositive), this.op("Max", [given, zero]), zero]),
            ]);
            const before = next;
            addTerm(() => {
              const absGamma = this.op("Abs", [gamma]);
              const both = this.op("Add", [absGamma, this.op("Abs", [before])]);
              const err = this.op("Min", [this.op("Mul", [absGamma, this.scalar(2 / this.padCoef)]), both]);
              return this.sumLast(this.op("Mul", [err, this.mid(this.maxAbs(l.input))]));
            });
            next = this.op("Add", [next, gamma]);
          }
          send(l.input, { name: next, rank: 3 });
          break;
        }
        case "maxpool": {
          rows?.coefs.set(l.id, L.name);
          const rx = this.relax.get(l.id) as PoolRelaxation;
          const m = sizeOf(l.shape);
          const neg = this.op("Min", [L.name, this.scalar(0)]);
          addMag(L, rx.mag);
          c = this.add(c, this.sumLast(this.op("Mul", [neg, this.mid(rx.d)])));
          // Λ⁺ (lower line) and the dominated windows' Λ⁻ (upper line) go to the best element's slot.
          const coef = this.op("Add", [this.op("Relu", [L.name]), this.op("Mul", [neg, this.mid(rx.dom)])]);
          const perSlot = this.op("Mul", [
            this.op("Unsqueeze", [coef, this.ints([-1])]),
            this.op("Unsqueeze", [rx.sel, this.ints([1])]),
          ]);
          const flat = this.reshape(perSlot, [0, 0, m * rx.slots]);
          let down = this.scatter({ name: flat, rank: 3 }, rx.table);
          const ends = rows && this.optimisable ? this.poolEnds.get(l.id) : undefined;
          if (ends) {
            // γ·(x − c) with γ ≤ 0 against a finite lower end, γ ≥ 0 against a finite upper end (header): γ joins
            // the coefficient on x, −γ·c the constant; the rounding of both sums in mag (as a ReLU's multiplier's,
            // plus |γ·c|, whose product and sum round by at most γ_N·|γ·c|).
            const zero = this.scalar(0),
              given = BOUNDS_IO.multipliers(l.id);
            const gL = this.op("Where", [this.mid(ends.hasLower), this.op("Min", [given, zero]), zero]);
            const gU = this.op("Where", [this.mid(ends.hasUpper), this.op("Max", [given, zero]), zero]);
            const offset = this.op("Add", [
              this.op("Mul", [gL, this.mid(ends.lower)]),
              this.op("Mul", [gU, this.mid(ends.upper)]),
            ]);
            c = this.add(c, this.op("Neg", [this.sumLast(offset)]));
            const gamma = this.op("Add", [gL, gU]);
            const before = down.name;
            addTerm(() => {
              const absGamma = this.op("Abs", [gamma]);
              const both = this.op("Add", [absGamma, this.op("Abs", [before])]);
              const err = this.op("Min", [this.op("Mul", [absGamma, this.scalar(2 / this.padCoef)]), both]);
              return this.sumLast(this.op("Mul", [err, this.mid(this.maxAbs(l.input))]));
            });
            addTerm(() => this.sumLast(this.op("Abs", [offset])));
            down = { name: this.op("Add", [down.name, gamma]), rank: 3 };
          }
          send(l.input, down);
          break;
        }
      }
    }
    throw new Error("internal: back-substitution did not reach the input");
  }
}

/**
 * The bounds graph of a network (or why it does not cover the network: the engine then uses the reference), with
 * intermediate layers back-substituted within the work limit (backsub.ts backsubWork).
 */
export function boundsGraph(
  net: Network,
  m: NetworkMatrices = networkMatrices(net),
  options: BoundsGraphOptions = {},
): Result<Uint8Array> {
  const why = boundsGraphRefusal(net);
  if (why) return fail(diag("engine/unsupported", why));
  const e = new BoundsEmitter(
    net,
    m,
    options.workLimit ?? ENGINE_BACKSUB_WORK,
    options.optimisable ?? false,
    options.refine ?? true,
    options.precision ?? "float64",
    options.intervals ?? true,
  );
  const r = e.run();
  if (!r.ok) return r;
  return ok(e.b.toBytes());
}
