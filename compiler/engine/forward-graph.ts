// The forward graph: the network's logits over a batch, as an ONNX model (opset GRAPH_OPSET) that onnxruntime
// runs and that the project's own front-end lowers back to the same network (batch 1). Consumes the Network
// IR; produces the model's bytes, or a diagnostic for a layer the graphs cannot express. Input `x`
// [B, ...engineExampleShape(net)], output `logits` [B, K], float32; B symbolic.

import type { Result } from "../diagnostics.js";
import { outputSize, type Network } from "../ir/network.js";
import { engineExampleShape, GraphEmitter } from "./emit.js";
import { GRAPH_IO } from "./types.js";

export function forwardGraph(net: Network): Result<Uint8Array> {
  const e = new GraphEmitter(net, false, "robustc_forward");
  const r = e.forward();
  if (!r.ok) return r;
  const B = GRAPH_IO.batch;
  e.b.input(GRAPH_IO.x, [B, ...engineExampleShape(net)]);
  e.b.node("Identity", [e.value[net.output]!], [GRAPH_IO.logits], {}, "logits");
  e.b.output(GRAPH_IO.logits, [B, outputSize(net)]);
  return { ok: true, value: e.b.toBytes() };
}
