// A verification instance's inputs: the model (lowered network, its matrices, a one-thread onnxruntime session,
// the engine whose bounds graph the batched branch and bound runs on) and a VNN-LIB property checked against the
// model's sizes. Shared by `verify` and the vnncomp workers.

import {
  diag,
  fail,
  loadNetwork,
  networkMatrices,
  ok,
  type Engine,
  type Network,
  type Result,
} from "../../compiler/index.js";
import { openEngine } from "../engine/index.js";
import { readVnnlibFile, type VnnlibProperty } from "../../grammar/vnnlib/parse.js";
import { OnnxRuntimeEvaluator } from "../evaluator/onnxruntime.js";
import { checkShapes, type VerifyContext } from "./engine.js";

export interface OpenModel {
  readonly context: VerifyContext;
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

/** The lowered network, its matrices, a one-thread onnxruntime session and engine (per-instance work). */
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
  const matrices = networkMatrices(net);
  // The engine serves only the batched branch and bound's bounds: a network whose graphs the onnxruntime backend
  // cannot emit gets the reference one (not optimisable: the LP search and the MILPs alone, as before issue 24).
  let engine: Engine;
  try {
    engine = openEngine(net, matrices, "onnxruntime", { threads: 1 });
  } catch {
    engine = openEngine(net, matrices, "reference");
  }
  return ok({
    context: { net, matrices, evaluator, engine },
    warnings: r.value.warnings,
    close: async () => {
      await engine.dispose();
      await evaluator.dispose();
    },
  });
}

export function openProperty(path: string, net: Network, model: string): Result<VnnlibProperty> {
  const p = readVnnlibFile(path);
  if (!p.ok) return p;
  const s = checkShapes(net, p.value, model, path);
  return s.ok ? p : s;
}
