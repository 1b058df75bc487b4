// What every nonlinear kind provides: the one table (index.ts) through which every consumer reaches a
// ReLU or a max-pool. Consumes a layer, its windows (max-pool) and values or bounds; produces values,
// pattern entries, rows of the constraint AST, or row specifications over layer values.

import type { LayerBounds } from "../ir/bounds.js";
import type { LinearBlock, Or } from "../ir/constraint.js";
import type { Windows } from "../ir/matrices.js";
import type { Layer } from "../ir/network.js";

export type NonlinearKind = "relu" | "maxpool";
export type NonlinearLayer = Extract<Layer, { kind: NonlinearKind }>;

/** Column offsets of a layer's input values (u) and output values (v) in a layered encoding. */
export interface Cols {
  readonly u: number;
  readonly v: number;
}

/** A row Σ ws·value_js(layer) ∈ [lower, upper] over one layer's values, and how far a point is outside it. */
export interface RowSpec {
  readonly layer: number;
  readonly js: number[];
  readonly ws: number[];
  readonly lower: number;
  readonly upper: number;
  readonly amount: number;
}

/** A pattern entry that a point sits (nearly) on the boundary of: `to` is the neighbouring entry, `gap` how near. */
export interface BindingFlip {
  readonly layer: number;
  readonly j: number;
  readonly to: number;
  readonly gap: number;
}

/** Counts a relaxation or a big-M encoding reports (a kind fills what applies to it). */
export interface RowStats {
  binaries: number;
  unstable: number;
  stableActive: number;
  stableInactive: number;
}

/**
 * The linear relaxation of each output v_j under bounds: lowerSlope_j·u_{lowerIndex_j} ≤ v_j ≤
 * upperSlope_j·u_{upperIndex_j} + upperIntercept_j, each line reading one input value (an index of -1: the
 * line is its intercept alone). Elementwise kinds (ReLU) read their own index.
 */
export interface LinearRelaxation {
  readonly lowerSlope: Float64Array;
  readonly upperSlope: Float64Array;
  readonly upperIntercept: Float64Array;
  readonly lowerIndex: Int32Array;
  readonly upperIndex: Int32Array;
}

export interface NonlinearSemantics<L extends NonlinearLayer> {
  /**
   * The layer's values at input values u and the pattern entry per output. With `fixed`, the entries are
   * given (the region's affine map: a ReLU passes u where active, a max-pool copies its chosen element).
   * Conventions (the restriction's): a pre-activation of exactly 0 is inactive; a max-pool tie keeps the
   * first maximal element in row-major order (numpy's argmax, ONNX MaxPool's Indices).
   */
  forward(l: L, w: Windows | null, u: Float64Array, fixed: Int32Array | null): { y: Float64Array; choice: Int32Array };
  /** Back-propagates g at output j through the fixed entry: add(i, coefficient) for input values i. */
  backward(l: L, choice: Int32Array, j: number, g: number, add: (i: number, g: number) => void): void;
  /** The disjunction of C_f (the paper's §3), item order = tie order (the first holding item is the convention's). */
  disjunction(l: L, w: Windows | null, cols: Cols, base: string): Or;
  /**
   * Per lane of the disjunction, the item a pattern entry selects (its rows are the region's: index.ts restrictLayer).
   */
  laneItems(l: L, w: Windows | null, choice: Int32Array): Int32Array;
  /** Mixed-integer rows exact on the bounds' box (MIPVerify); binary() allocates a binary column. */
  bigMRows(
    l: L,
    w: Windows | null,
    inBounds: LayerBounds,
    cols: Cols,
    base: string,
    binary: () => number,
    stats: RowStats,
  ): LinearBlock;
  /** The convex outer relaxation on the bounds (triangle for a ReLU), exact where the bounds decide the piece. */
  triangleRows(l: L, w: Windows | null, inBounds: LayerBounds, cols: Cols, base: string, stats: RowStats): LinearBlock;
  /** Interval bounds of the outputs from the inputs' (exact: monotone maps). */
  interval(l: L, w: Windows | null, inBounds: LayerBounds): LayerBounds;
  /** Rows of the pattern's region that input values u violate by more than tol (the lazy loop's candidates). */
  violated(l: L, w: Windows | null, u: Float64Array, choice: Int32Array, tol: number, out: RowSpec[]): void;
  /** Pattern entries whose region row is tight within tol at u, with the entry across it (region walking). */
  binding(l: L, w: Windows | null, u: Float64Array, choice: Int32Array, tol: number, out: BindingFlip[]): void;
  /** Whether linearRelaxation answers for this kind (back-substitution passes through it). */
  readonly linearRelaxable: boolean;
  /** Linear relaxation for back-substitution; null: the kind has none (bounds fall back to intervals). */
  linearRelaxation(l: L, w: Windows | null, inBounds: LayerBounds): LinearRelaxation | null;
}
