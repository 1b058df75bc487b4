// LayerBounds: an interval per value of one layer that holds for every input of a box (soundness is the
// producer's promise: compiler/analysis/bounds/). The one shape every bound consumer reads.

export interface LayerBounds {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}
