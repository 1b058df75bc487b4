// The evaluators by name; both implement the Evaluator interface. A session opens one with run/session.ts's
// openEvaluator (which puts a --mean/--std normalisation in front of onnxruntime).

export type EvaluatorName = "reference" | "onnxruntime";
export const EVALUATORS: readonly EvaluatorName[] = ["onnxruntime", "reference"];
