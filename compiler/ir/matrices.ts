// The network's CSR cache: every affine layer as a sparse matrix with its bias (built once per network and
// shared by every point), and every max-pool layer's windows as CSR (output j's input indices in row-major
// order, cached per layer). Consumes the Network IR, never changes it.

import { affineBias, affineToCsr, poolWindows, type Csr } from "./affine.js";
import type { Layer, Network } from "./network.js";

/** A window list as CSR: output j's input indices are indices[indptr[j] .. indptr[j+1]), row-major. */
export interface Windows {
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
}

/** Per-network data shared by every point: each affine layer as CSR and its bias (null for other layers). */
export interface NetworkMatrices {
  readonly csr: readonly (Csr | null)[];
  readonly bias: readonly (Float64Array | null)[];
}

const windowCache = new WeakMap<Layer, Windows>();

/** The windows of a max-pool layer (cached per layer object). */
export function layerWindows(l: Extract<Layer, { kind: "maxpool" }>): Windows {
  let w = windowCache.get(l);
  if (!w) {
    const indptr: number[] = [0],
      indices: number[] = [];
    for (const win of poolWindows(l.geometry)) {
      indices.push(...win);
      indptr.push(indices.length);
    }
    w = { indptr: Int32Array.from(indptr), indices: Int32Array.from(indices) };
    windowCache.set(l, w);
  }
  return w;
}

export function networkMatrices(net: Network): NetworkMatrices {
  return {
    csr: net.layers.map((l) => (l.kind === "affine" ? affineToCsr(l.op) : null)),
    bias: net.layers.map((l) => (l.kind === "affine" ? affineBias(l.op) : null)),
  };
}
