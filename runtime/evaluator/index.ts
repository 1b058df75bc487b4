// Chooses an evaluator by name; both implement the Evaluator interface.

import type { Network } from "../../compiler/index.js";
import { OnnxRuntimeEvaluator } from "./onnxruntime.js";
import { ReferenceEvaluator } from "./reference.js";
import type { Evaluator } from "./types.js";

export type EvaluatorName = "reference" | "onnxruntime";
export const EVALUATORS: readonly EvaluatorName[] = ["onnxruntime", "reference"];

export async function createEvaluator(name: EvaluatorName, modelPath: string, net: Network): Promise<Evaluator> {
  return name === "reference" ? new ReferenceEvaluator(net) : OnnxRuntimeEvaluator.create(modelPath, net);
}
