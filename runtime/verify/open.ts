// A verification instance's inputs: the model (lowered network, its matrices, a one-thread onnxruntime session)
// and a VNN-LIB property checked against the model's sizes. Shared by `verify` and the vnncomp workers.

import { diag, fail, loadNetwork, networkMatrices, ok, type Network, type Result } from "../../compiler/index.js";
import { readVnnlibFile, type VnnlibProperty } from "../../grammar/vnnlib/parse.js";
import { OnnxRuntimeEvaluator } from "../evaluator/onnxruntime.js";
import type { NetContext } from "../point/context.js";
import { checkShapes } from "./engine.js";

export interface OpenModel {
  readonly context: NetContext;
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

/** The lowered network, its matrices and a one-thread onnxruntime session (per-instance work). */
export async function openVerifyModel(path: string): Promise<Result<OpenModel>> {
  const r = loadNetwork(path);
  if (!r.ok) return r;
  const net: Network = r.value.network;
  let evaluator: OnnxRuntimeEvaluator;
  try {
    evaluator = await OnnxRuntimeEvaluator.create(path, net, { threads: 1 });
  } catch (e) {
    return fail(
      diag(
        "onnx/runtime",
        `${path}: onnxruntime cannot open the model (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`,
      ),
    );
  }
  return ok({
    context: { net, matrices: networkMatrices(net), evaluator },
    warnings: r.value.warnings,
    close: () => evaluator.dispose(),
  });
}

export function openProperty(path: string, net: Network, model: string): Result<VnnlibProperty> {
  const p = readVnnlibFile(path);
  if (!p.ok) return p;
  const s = checkShapes(net, p.value, model, path);
  return s.ok ? p : s;
}
