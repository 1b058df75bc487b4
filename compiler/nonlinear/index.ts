// The table of nonlinear kinds: every consumer reaches a ReLU or a max-pool through NONLINEAR, so a new kind
// is one file plus one entry here, and a missing entry is a compile error (the Record is total over the kinds).

import { restrictOr, type Formula, type Or } from "../ir/constraint.js";
import { layerWindows, type Windows } from "../ir/matrices.js";
import { choicesOf, type ActivationPattern } from "../ir/pattern.js";
import type { Layer } from "../ir/network.js";
import { maxpool } from "./maxpool.js";
import { relu } from "./relu.js";
import type { Cols, NonlinearKind, NonlinearLayer, NonlinearSemantics, RowStats } from "./types.js";

export type * from "./types.js";

type Table = { readonly [K in NonlinearKind]: NonlinearSemantics<Extract<Layer, { kind: K }>> };

export const NONLINEAR: Table = { relu, maxpool };

/** The semantics of a nonlinear layer, typed for the union (the table is indexed by the layer's own kind). */
export const semanticsOf = (l: NonlinearLayer): NonlinearSemantics<NonlinearLayer> =>
  NONLINEAR[l.kind] as unknown as NonlinearSemantics<NonlinearLayer>;

export const isNonlinear = (l: Layer): l is NonlinearLayer => l.kind in NONLINEAR;

/** The windows a kind's methods take: a max-pool's (cached per layer), null for an elementwise kind. */
export const windowsOf = (l: NonlinearLayer): Windows | null => (l.kind === "maxpool" ? layerWindows(l) : null);

/** The items a pattern selects in the lanes of a disjunction that encode names (the `or`'s layer). */
export function patternItems(layers: readonly Layer[], pattern: ActivationPattern, o: Or): Int32Array {
  const l = o.layer === undefined ? undefined : layers[o.layer];
  if (!l || !isNonlinear(l)) throw new Error(`internal: disjunction ${o.name} names no nonlinear layer`);
  return semanticsOf(l).laneItems(l, windowsOf(l), choicesOf(pattern, l.id));
}

/** A nonlinear layer's rows restricted to a pattern: its disjunction with one item per lane (restrictOr). */
export function restrictLayer(l: NonlinearLayer, pattern: ActivationPattern, cols: Cols, base: string): Formula {
  const sem = semanticsOf(l),
    w = windowsOf(l);
  return restrictOr(sem.disjunction(l, w, cols, base), sem.laneItems(l, w, choicesOf(pattern, l.id)));
}

/** Zero counts for a pass that sums its kinds' RowStats. */
export const emptyStats = (): RowStats => ({ binaries: 0, unstable: 0, stableActive: 0, stableInactive: 0 });
