// The reference evaluator: Float64 over the Network IR. Besides the logits it returns the trace at a
// point — every layer's value, each ReLU's phase and each max-pool's argmax — which the passes read.
// Conventions (the restriction relies on them): a pre-activation of exactly 0 is inactive; a max-pool tie
// keeps the first maximal element in row-major order.

import { match } from "ts-pattern";
import { applyAffine, maxPoolArgmax } from "../../compiler/ir/affine.js";
import { inputSize, type Layer, type Network } from "../../compiler/ir/network.js";
import type { Evaluator } from "./types.js";

export interface Trace {
  /** Value of every layer (index = layer id), flattened row-major. */
  readonly values: readonly Float64Array[];
  /** For each ReLU layer id: 1 where the pre-activation is > 0 (active), 0 where it is ≤ 0 (inactive). */
  readonly phases: ReadonlyMap<number, Uint8Array>;
  /** For each max-pool layer id: per output, the flat index in the pool's input that attains the max. */
  readonly argmax: ReadonlyMap<number, Int32Array>;
  readonly logits: Float64Array;
}

function evalLayer(l: Layer, vals: readonly Float64Array[], x: Float64Array, phases: Map<number, Uint8Array>,
  argmax: Map<number, Int32Array>): Float64Array {
  return match(l)
    .with({ kind: "input" }, () => x)
    .with({ kind: "affine" }, (a) => applyAffine(a.op, vals[a.input]))
    .with({ kind: "relu" }, (r) => {
      const u = vals[r.input];
      const y = new Float64Array(u.length);
      const ph = new Uint8Array(u.length);
      for (let i = 0; i < u.length; i++) if (u[i] > 0) { y[i] = u[i]; ph[i] = 1; }
      phases.set(r.id, ph);
      return y;
    })
    .with({ kind: "maxpool" }, (m) => {
      const u = vals[m.input];
      const g = m.geometry;
      const y = new Float64Array(g.outC * g.outH * g.outW);
      const am = new Int32Array(y.length);
      let o = 0;
      for (let c = 0; c < g.outC; c++)
        for (let oy = 0; oy < g.outH; oy++)
          for (let ox = 0; ox < g.outW; ox++, o++) {
            const i = maxPoolArgmax(g, u, c, oy, ox);
            am[o] = i;
            y[o] = u[i];
          }
      argmax.set(m.id, am);
      return y;
    })
    .with({ kind: "add" }, (a) => {
      const p = vals[a.inputs[0]], q = vals[a.inputs[1]];
      return p.map((v, i) => v + q[i]);
    })
    .with({ kind: "reshape" }, (r) => {
      const u = vals[r.input];
      if (!r.source) return u;
      const s = r.source;
      return Float64Array.from(s, (k) => (k < 0 ? 0 : u[k]));
    })
    .exhaustive();
}

/** Evaluates the network at x (the flattened ONNX input) and records the trace. */
export function trace(net: Network, x: Float64Array): Trace {
  if (x.length !== inputSize(net)) throw new Error(`internal: input of length ${x.length}, network expects ${inputSize(net)}`);
  const values: Float64Array[] = [];
  const phases = new Map<number, Uint8Array>();
  const argmax = new Map<number, Int32Array>();
  for (const l of net.layers) values.push(evalLayer(l, values, x, phases, argmax));
  return { values, phases, argmax, logits: values[net.output] };
}

export function referenceLogits(net: Network, x: Float64Array): Float64Array {
  return trace(net, x).logits;
}

export class ReferenceEvaluator implements Evaluator {
  readonly name = "reference" as const;
  constructor(private readonly net: Network) {}
  async logits(inputs: readonly Float64Array[]): Promise<Float64Array[]> {
    return inputs.map((x) => referenceLogits(this.net, x));
  }
  async dispose(): Promise<void> {}
}
