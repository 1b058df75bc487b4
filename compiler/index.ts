// The compiler's public API: everything the runtime (and users of robustc as a library) may import. The
// runtime imports the compiler through this module only (the lint step checks it), so the compiler's inner
// layout can change without touching the runtime.

export * from "./diagnostics.js";
// Network IR, its CSR cache, activation patterns, the constraint AST and bounds' shape
export * from "./ir/network.js";
export * from "./ir/affine.js";
export * from "./ir/matrices.js";
export * from "./ir/pattern.js";
export * from "./ir/constraint.js";
export * from "./ir/bounds.js";
// The table of nonlinear kinds
export * from "./nonlinear/index.js";
// Analysis: the float64 trace and sound bounds
export * from "./analysis/trace.js";
export * from "./analysis/bounds/index.js";
// Bounds with an LP oracle (above the passes) and the one entry point over every method
export * from "./lp-bounds/index.js";
// The engine: the batched interface (forward, vector–Jacobian products) and the ONNX graphs it runs
export * from "./engine/index.js";
// Front-end
export { loadNetwork, loadPartial, type NodeOutcome, type PartialLowering } from "./frontend/onnx/lower.js";
export { logitsModelBytes, SOFTMAX_NOTE } from "./frontend/onnx/final-softmax.js";
// Passes and the pipeline
export * from "./passes/options.js";
export * from "./passes/encode.js";
export * from "./passes/target-label.js";
export * from "./passes/linearize-linf.js";
export * from "./passes/to-lp-model.js";
export * from "./passes/big-m.js";
export * from "./passes/relax.js";
export * from "./passes/select-disjuncts.js";
export * from "./passes/pipeline.js";
// Back-end
export * from "./backend/lp-model.js";
export * from "./backend/cplex-lp.js";
export * from "./backend/mps.js";
export * from "./backend/numbers.js";
export * from "./backend/write-file.js";
