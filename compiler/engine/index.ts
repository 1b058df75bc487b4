// The engine's compiler side (issue 23): the interface with a batch dimension that every backend implements,
// and the ONNX graphs the onnxruntime backend runs (inspectable: `robustc compile MODEL --emit forward|gradient
// -o FILE.onnx`). The backends and their sessions live in runtime/engine/.

import type { Result } from "../diagnostics.js";
import type { Network } from "../ir/network.js";
import { forwardGraph } from "./forward-graph.js";
import { gradientGraph } from "./gradient-graph.js";
import type { GraphKind } from "./types.js";

export * from "./types.js";
export { engineExampleShape, GRAPH_OPSET, MAX_DENSE } from "./emit.js";
export { forwardGraph } from "./forward-graph.js";
export { gradientGraph } from "./gradient-graph.js";

/** The graph of one kind, as ONNX bytes (or why the graphs cannot express a layer of the network). */
export function engineGraph(net: Network, kind: GraphKind): Result<Uint8Array> {
  return kind === "forward" ? forwardGraph(net) : gradientGraph(net);
}
