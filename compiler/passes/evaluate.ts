// evaluate: the trace of the network at x* (float64, compiler/analysis/trace.ts) laid out as an assignment
// of the layered encoding's variables. Float32 could flip the phase of pre-activations within 1e-7 of zero.

import type { Network } from "../ir/network.js";
import { trace, type Trace } from "../analysis/trace.js";
import type { Encoding } from "./encode.js";
import { varCount } from "../ir/constraint.js";

export interface Evaluated {
  readonly trace: Trace;
  /** Value of every variable of the layered encoding at x*. */
  readonly assignment: Float64Array;
}

export function evaluate(net: Network, enc: Encoding, xStar: Float64Array): Evaluated {
  const t = trace(net, xStar);
  const assignment = new Float64Array(varCount(enc.problem));
  net.layers.forEach((l) => assignment.set(t.values[l.id], enc.problem.vars[enc.layerVar[l.id]].offset));
  return { trace: t, assignment };
}
