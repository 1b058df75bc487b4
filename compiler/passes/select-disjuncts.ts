// select-disjuncts: the convex restriction D(x*) of the paper's §4. In every lane of every `or`, keep the item
// `itemsOf` chooses; the result is a conjunction of linear blocks (an LP). The pipeline chooses by the
// activation pattern at x* (compiler/nonlinear/: patternItems), so the conventions are the trace's: a ReLU
// whose pre-activation at x* is exactly 0 is inactive (u ≤ 0, v = 0); a max-pool window with tied maxima keeps
// its first maximal element in row-major order. Any other pattern gives the restricted LP of its region.

import { match } from "ts-pattern";
import { and, restrictOr, type Formula, type Or, type Problem } from "../ir/constraint.js";

export function selectDisjuncts(p: Problem, itemsOf: (o: Or) => Int32Array): Problem {
  const walk = (f: Formula): Formula =>
    match(f)
      .with({ kind: "linear" }, (b) => b)
      .with({ kind: "and" }, (a) => and(...a.items.map(walk)))
      .with({ kind: "or" }, (o) => restrictOr(o, itemsOf(o)))
      .exhaustive();
  return { ...p, constraint: walk(p.constraint) };
}
