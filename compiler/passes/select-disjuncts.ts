// select-disjuncts: the convex restriction D(x*) of the paper's §4. Every `or` of C_f (one per nonlinear
// layer) is replaced by its kind's rows restricted to the activation pattern (compiler/nonlinear/:
// restrictRows); the result is a conjunction of linear blocks (an LP). With the pattern at x* (patternAt of
// the float64 trace) the conventions are the trace's: a ReLU whose pre-activation at x* is exactly 0 is
// inactive (u ≤ 0, v = 0); a max-pool window with tied maxima keeps its first maximal element in row-major
// order. Any other pattern gives the restricted LP of that region (walking, branch and bound).

import { match } from "ts-pattern";
import { and, type Formula, type Problem } from "../ir/constraint.js";
import type { Network } from "../ir/network.js";
import { choicesOf, type ActivationPattern } from "../ir/pattern.js";
import { isNonlinear, semanticsOf, windowsOf } from "../nonlinear/index.js";
import { sanitizeName } from "../backend/names.js";
import type { Encoding } from "./encode.js";

export function selectDisjuncts(p: Problem, net: Network, enc: Encoding, pattern: ActivationPattern): Problem {
  const at = (id: number) => enc.problem.vars[enc.layerVar[id]].offset;
  const walk = (f: Formula): Formula => match(f)
    .with({ kind: "linear" }, (b) => b)
    .with({ kind: "and" }, (a) => and(...a.items.map(walk)))
    .with({ kind: "or" }, (o) => {
      const l = o.layer === undefined ? undefined : net.layers[o.layer];
      if (!l || !isNonlinear(l)) throw new Error(`internal: disjunction ${o.name} names no nonlinear layer`);
      return and(...semanticsOf(l).restrictRows(l, windowsOf(l), choicesOf(pattern, l.id), { u: at(l.input), v: at(l.id) }, sanitizeName(l.name)));
    })
    .exhaustive();
  return { ...p, constraint: walk(p.constraint) };
}
