// The engine's compiler side (issue 23): the interface with a batch dimension that every backend implements,
// and the ONNX graphs the onnxruntime backend runs (inspectable: `robustc compile MODEL --emit
// forward|gradient|bounds -o FILE.onnx`). The backends and their sessions live in runtime/engine/.

import type { Result } from "../diagnostics.js";
import type { Network } from "../ir/network.js";
import { forwardGraph } from "./forward-graph.js";
import { gradientGraph } from "./gradient-graph.js";
import { boundsGraph } from "./bounds-graph.js";
import type { EmitGraphKind } from "./types.js";

export * from "./types.js";
export { engineExampleShape, GRAPH_OPSET, MAX_DENSE } from "./emit.js";
export { forwardGraph } from "./forward-graph.js";
export { gradientGraph } from "./gradient-graph.js";
export { BOUNDS_IO, BOUNDS_TINY, boundsGraph, boundsGraphRefusal, poolLayers, reluLayers } from "./bounds-graph.js";

/** The graph of one kind, as ONNX bytes (or why the graphs cannot express a layer of the network). */
export function engineGraph(net: Network, kind: EmitGraphKind): Result<Uint8Array> {
  return kind === "forward" ? forwardGraph(net) : kind === "gradient" ? gradientGraph(net) : boundsGraph(net);
}
