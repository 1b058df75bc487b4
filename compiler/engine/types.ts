// The engine: one interface with a batch dimension for the numbers the analyses compute from a network at
// many inputs at once (issue 23). A backend implements it: `reference` (today's float64 loops: the trace and
// the linear region's backward pass, the oracle in tests) and `onnxruntime` (the graphs forward-graph.ts and
// gradient-graph.ts emit from the IR, run by onnxruntime-node; runtime/engine/). The compiler owns the
// interface and the graph generators; the runtime owns the sessions. This first slice has forward passes and
// vector–Jacobian products; sound bounds over B boxes (interval and back-substitution with the relaxation
// slopes as inputs) are the next slice and will be added to this interface beside them.
//
// Conventions (the restriction's, compiler/nonlinear/): the gradient at x is the gradient of x's own linear
// region, where a ReLU whose pre-activation is exactly 0 is inactive and a max-pool window with tied maxima
// passes its gradient to the first maximal element in row-major order (ONNX MaxPool's Indices). Values in
// float32 may steer (attack steps, choices); nothing a float32 backend returns is a certified number.

/** The backends behind the interface (runtime/engine/index.ts openEngine). */
export const ENGINE_BACKENDS = ["onnxruntime", "reference"] as const;
export type EngineBackend = (typeof ENGINE_BACKENDS)[number];

/** The graphs the compiler emits (`robustc compile MODEL --emit forward|gradient -o FILE.onnx`). */
export const GRAPH_KINDS = ["forward", "gradient"] as const;
export type GraphKind = (typeof GRAPH_KINDS)[number];

/**
 * The names of the generated graphs' inputs and outputs. Input `x` is [B, ...example shape] (engineExampleShape),
 * `weights` [B, K]; output `logits` is [B, K] and `gradient` has x's shape. B is symbolic (one session serves
 * every batch size).
 */
export const GRAPH_IO = {
  x: "x",
  weights: "weights",
  logits: "logits",
  gradient: "gradient",
  batch: "B",
} as const;

/** B values per row, row-major: row b is data[b·width, (b+1)·width). */
export type BatchData = Float32Array | Float64Array;

/** A vector–Jacobian product's answer: the logits of the same pass and the gradient per input. */
export interface EngineGradient {
  /** B·K logits (row b: input b's). */
  readonly logits: Float64Array;
  /** B·n values: row b is ∇_x Σ_k W[b,k]·y_k(x) at x_b. */
  readonly gradient: Float64Array;
}

export interface Engine {
  readonly backend: EngineBackend;
  /** The arithmetic of the answers (float32 answers may steer, never certify). */
  readonly dtype: "float32" | "float64";
  /** n: the values of one input (row-major in the network's input shape). */
  readonly inputSize: number;
  /** K: the logits of one input. */
  readonly outputSize: number;
  /** The logits of B inputs: x holds B·n values; the answer B·K. */
  forward(x: BatchData, batch: number): Promise<Float64Array>;
  /**
   * Per input b, the gradient at x_b of Σ_k W[b,k]·y_k (a vector–Jacobian product with row b of W), and the
   * logits of the same pass: x holds B·n values, weights B·K.
   */
  vjp(x: BatchData, weights: BatchData, batch: number): Promise<EngineGradient>;
  /** Releases what the backend holds (onnxruntime's sessions); the engine is not used after. */
  dispose(): Promise<void>;
}

export interface EngineOptions {
  /** onnxruntime's intra-op threads (default 1: per-point work leaves the other cores to the solvers). */
  readonly threads?: number;
}
