// The table of nonlinear kinds: every consumer reaches a ReLU or a max-pool through NONLINEAR, so a new kind
// is one file plus one entry here, and a missing entry is a compile error (the Record is total over the kinds).

import { layerWindows, type Windows } from "../ir/matrices.js";
import type { Layer } from "../ir/network.js";
import { maxpool } from "./maxpool.js";
import { relu } from "./relu.js";
import type { NonlinearKind, NonlinearLayer, NonlinearSemantics } from "./types.js";

export type * from "./types.js";

type Table = { readonly [K in NonlinearKind]: NonlinearSemantics<Extract<Layer, { kind: K }>> };

export const NONLINEAR: Table = { relu, maxpool };

/** The semantics of a nonlinear layer, typed for the union (the table is indexed by the layer's own kind). */
export const semanticsOf = (l: NonlinearLayer): NonlinearSemantics<NonlinearLayer> =>
  NONLINEAR[l.kind] as unknown as NonlinearSemantics<NonlinearLayer>;

export const isNonlinear = (l: Layer): l is NonlinearLayer => l.kind in NONLINEAR;

/** The windows a kind's methods take: a max-pool's (cached per layer), null for an elementwise kind. */
export const windowsOf = (l: NonlinearLayer): Windows | null => (l.kind === "maxpool" ? layerWindows(l) : null);
