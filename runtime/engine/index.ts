// The engine's backends (the interface and the graphs are the compiler's: compiler/engine/): `openEngine`
// opens one for a network. Callers open one engine per network and reuse it across inputs (the onnxruntime
// backend's sessions live as long as the engine) and dispose of it at the end.

import type { Engine, EngineBackend, EngineOptions, Network, NetworkMatrices } from "../../compiler/index.js";
import { EngineWithBounds } from "./bounds.js";
import { OnnxRuntimeEngine } from "./onnxruntime.js";
import { ReferenceEngine } from "./reference.js";

export { engineProvider, OnnxRuntimeEngine } from "./onnxruntime.js";
export { ReferenceEngine } from "./reference.js";
export { EngineWithBounds, OnnxRuntimeBounds, referenceBounds } from "./bounds.js";

export function openEngine(
  net: Network,
  matrices: NetworkMatrices,
  backend: EngineBackend,
  options: EngineOptions = {},
): Engine {
  const core = backend === "reference" ? new ReferenceEngine(net, matrices) : OnnxRuntimeEngine.create(net, options);
  // Bounds per network: the onnxruntime engine's from the bounds graph where it covers the network, else the
  // reference's (runtime/engine/bounds.ts).
  return new EngineWithBounds(core, net, matrices, options, (sub, m) => openEngine(sub, m, backend, options));
}
