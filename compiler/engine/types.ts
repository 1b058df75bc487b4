// The engine: one interface with a batch dimension for the numbers the analyses compute from a network at
// many inputs at once (issue 23). A backend implements it: `reference` (today's float64 loops: the trace and
// the linear region's backward pass, the oracle in tests) and `onnxruntime` (the graphs forward-graph.ts and
// gradient-graph.ts emit from the IR, run by onnxruntime-node; runtime/engine/). The compiler owns the
// interface and the graph generators; the runtime owns the sessions. Forward passes, vector–Jacobian products
// and sound bounds of output combinations over B boxes (CROWN back-substitution with the ReLU lower slopes as

/*
 * Design notes:
 * inputs, the intermediate layer bounds batched too: bounds-graph.ts, runtime/engine/bounds.ts).
 *
 * Conventions (the restriction's, compiler/nonlinear/): the gradient at x is the gradient of x's own linear
 * region, where a ReLU whose pre-activation is exactly 0 is inactive and a max-pool window with tied maxima
 * passes its gradient to the first maximal element in row-major order (ONNX MaxPool's Indices). Values in
 * float32 may steer (attack steps, choices); nothing a float32 backend returns is a certified number.
 */

/** The backends behind the interface (runtime/engine/index.ts openEngine). */
export const ENGINE_BACKENDS = ["onnxruntime", "reference"] as const;
export type EngineBackend = (typeof ENGINE_BACKENDS)[number];

/** The graphs every onnxruntime engine runs (generated when it opens; any layer kind the emitter has). */
export const GRAPH_KINDS = ["forward", "gradient"] as const;
export type GraphKind = (typeof GRAPH_KINDS)[number];

/**
 * Every graph the compiler emits (`robustc compile MODEL --emit forward|gradient|bounds -o FILE.onnx`): the bounds
 * graph is generated apart (bounds-graph.ts; it needs the network's matrices).
 */
export const EMIT_GRAPH_KINDS = [...GRAPH_KINDS, "bounds"] as const;
export type EmitGraphKind = (typeof EMIT_GRAPH_KINDS)[number];

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

/**
 * Sound bounds over B boxes (Engine.bounds): per box b and row r, bound[b·R + r] ≤ min over the box of
 * Σ_k G[b,r,k]·y_k(x) in exact arithmetic, y the logits (float64, padded outward above its rounding).
 */
export interface EngineBoxBounds {
  /** B·R lower bounds (row b: box b's R rows). */
  readonly lower: Float64Array;
  /**
   * The intermediate bounds the relaxation used: per ReLU layer (Engine.slopeLayers' order) the bounds of its
   * pre-activation, B·n each (row b: box b's).
   */
  readonly preActivation: readonly { readonly lower: Float64Array; readonly upper: Float64Array }[];
  /**
   * With `coefficients` asked for (BoundsAsk): per ReLU layer, the rows' coefficients on the ReLU's output as the
   * back-substitution of the rows reaches it, B·R·n (box b, row r: [(b·R + r)·n, +n)) — branch and bound's split
   * scores read them.
   */
  readonly coefficients?: readonly Float64Array[];
  /**
   * With `relaxed` asked for (optimisable engines only): per ReLU layer the relaxed network's pre-activation ẑ at
   * the box corner each row's bound is attained at, B·R·n (bounds-graph.ts "Optimisable"): the bound's gradient
   * is coefficient⁺·ẑ in an unstable neuron's row slope and ẑ in its multiplier.
   */
  readonly relaxed?: readonly Float64Array[];
  /**
   * Per max-pool layer (Engine.poolLayers' order) the bounds of its input, B·n_in each (with BoundsAsk.poolClamps
   * applied): branch and bound's max-pool splits read them.
   */
  readonly poolInput?: readonly { readonly lower: Float64Array; readonly upper: Float64Array }[];
  /** With `coefficients` asked for: per max-pool layer the rows' coefficients on its output, B·R·m. */
  readonly poolCoefficients?: readonly Float64Array[];
  /**
   * With `relaxed` asked for: per max-pool layer the relaxed network's pool input x̂ at each row's corner, B·R·n_in
   * (the bound's gradient in a pool multiplier γ is x̂ − c, c the clamp end γ's sign pairs it with).
   */
  readonly poolRelaxed?: readonly Float64Array[];
}

/** What Engine.bounds takes and returns beyond the bounds. */
export interface BoundsAsk {
  readonly coefficients?: boolean;
  /** ẑ per ReLU layer (EngineBoxBounds.relaxed); optimisable engines only. */
  readonly relaxed?: boolean;
  /**
   * Per ReLU layer, B·R·n lower slopes of each row's own back-substitution (α-CROWN), in place of `slopes` there
   * where in [0, 1] at an unstable neuron (the intermediate layers keep `slopes`); optimisable engines only.
   */
  readonly rowSlopes?: readonly BatchData[];
  /**
   * Per ReLU layer, B·R·n multipliers γ of the pre-activation z (β-CROWN): each row's bound becomes one of
   * G·y + Σ γ·z, γ used only with the sign that makes γ·z ≤ 0 on the box (≤ 0 where its bounds say z ≥ 0, e.g. an
   * active split; ≥ 0 where z ≤ 0; 0 elsewhere), so the bound stays sound whatever is given. Optimisable only.
   */
  readonly multipliers?: readonly BatchData[];
  /**
   * false: intermediate bounds by intervals only (no back-substitution), for a call whose clamps carry the
   * intermediate bounds of an earlier call on the same boxes; default true.
   */
  readonly refine?: boolean;
  /**
   * false (implies refine false): the clamps and pool clamps are the boxes' intermediate bounds, finite and sound on
   * each box (an earlier call's, with any splits applied), taken as they are: the graph computes no interval of the
   * layers they cover (bounds-graph.ts BoundsGraphOptions.intervals), only the rows' pass. Default true. The
   * reference backend intersects its intervals with them whatever this says.
   */
  readonly intervals?: boolean;
  /**
   * Per max-pool layer (Engine.poolLayers' order) bounds B·n_in that hold on box b for the pool's input (branch and
   * bound's max-pool splits), intersected with that input's bounds before the pool's relaxation and everything
   * after it (as clamps do for a ReLU's pre-activation).
   */
  readonly poolClamps?: readonly BoundsClamp[];
  /**
   * Per max-pool layer, B·R·n_in multipliers γ of its input's clamps as constraints (bounds-graph.ts header): each
   * row's bound becomes one of G·y + Σ γ·(x − c), γ < 0 paired with the clamp's lower end c (x ≥ c), γ > 0 with the
   * upper end, 0 where that end is infinite: sound whatever is given. Optimisable engines only.
   */
  readonly poolMultipliers?: readonly BatchData[];
  /**
   * true: the bounds graph's float32 steering variant (bounds-graph.ts BoundsGraphOptions.precision), ~1.5–2× faster
   * and NOT sound: its answers steer an optimisation and are never returned as bounds (optimise.ts certifies what
   * they chose with a float64 call). The reference backend computes in float64 whatever this says.
   */
  readonly steer?: boolean;
}

/** Bounds that hold for one ReLU layer's pre-activation on each of B boxes (B·n values each; ∓∞: none). */
export interface BoundsClamp {
  readonly lower: BatchData;
  readonly upper: BatchData;
}

/** Engine's members other than bounds: what each backend class implements (runtime/engine/). */
export interface EngineCore {
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

export interface Engine extends EngineCore {
  /**
   * Which backend computes bounds: the onnxruntime engine runs the bounds graph where the network is one it
   * covers (every layer kind but an affine matrix too large to make dense: bounds-graph.ts) and the reference
   * otherwise (boundsFallback says why).
   */
  readonly boundsBackend: EngineBackend;
  readonly boundsFallback?: string;
  /** Whether `bounds` takes row slopes and multipliers and returns ẑ (BoundsAsk): the bounds graph does. */
  readonly optimisable: boolean;
  /** The ReLU layers (ids, layer order) whose lower-relaxation slopes `bounds` takes. */
  readonly slopeLayers: readonly number[];
  /** The max-pool layers (ids, layer order) whose inputs `bounds` clamps (BoundsAsk.poolClamps). */
  readonly poolLayers: readonly number[];
  /**
   * Lower bounds of G·y over B boxes by CROWN back-substitution (compiler/analysis/bounds/backsub.ts's rules):
   * the intermediate bounds of every ReLU's pre-activation layer by layer (back-substitution intersected with
   * intervals), then the rows G. lower and upper hold B·n values (the boxes, row-major in the input shape),
   * rows B·R·K (box b's R rows over the K logits; R = rowCount). slopes: per ReLU layer (slopeLayers' order)
   * B·n lower-relaxation slopes v ≥ a·u, used for the layer's unstable neurons wherever that ReLU is relaxed
   * (intermediate and final bounds); a value outside [0, 1] (e.g. −1, NaN) or no slopes at all: DeepPoly's
   * choice (a = 1 where u ≥ −l, else 0), the reference backsub's. Any slope in [0, 1] is sound.
   * clamps: per ReLU layer (slopeLayers' order) bounds B·n that hold on box b for the layer's pre-activation (branch
   * and bound's splits: lower 0 for an active neuron, upper 0 for an inactive one, ∓∞ elsewhere), intersected with
   * the pre-activation's bounds before the relaxation and everything after it. A box whose clamped bounds cross
   * (lower > upper somewhere in preActivation) holds no input: its bounds say nothing (callers treat it as empty).
   */
  bounds(
    lower: BatchData,
    upper: BatchData,
    rows: BatchData,
    rowCount: number,
    batch: number,
    slopes?: readonly BatchData[],
    clamps?: readonly BoundsClamp[],
    request?: BoundsAsk,
  ): Promise<EngineBoxBounds>;
  /**
   * The engine of this network truncated after layer `layer` (compiler/ir/network.ts prefixNetwork: that layer's
   * values are its outputs), on the same backend and options: bounds of an intermediate layer's values as rows
   * (runtime/bab/root-bounds.ts optimisedRootBounds). Its slopeLayers are this engine's below `layer`, in the same
   * order. Opened on first use, kept, and disposed with this engine.
   */
  prefix(layer: number): Engine;
}

/**
 * Multiply-adds one intermediate layer's back-substitution may cost (backsub.ts backsubWork, rows = the layer's
 * size) in the engine's bounds, on both backends; a layer above it keeps its interval bounds. Every hidden layer of
 * mnist_mlp (100 rows × 80k weights) and mnist_cnn_bn's dense layers pass, none of the LeNets' conv layers; the
 * rows G themselves are always back-substituted. The bracket's sequential lower bound (runtime/rho/lower.ts) uses
 * the same limit, so that both give the same bounds.
 */
export const ENGINE_BACKSUB_WORK = 3e7;

export interface EngineOptions {
  /** onnxruntime's intra-op threads (default 1: per-point work leaves the other cores to the solvers). */
  readonly threads?: number;
}
