// The batched search's root bounds where the engine's bounds graph leaves some layers to intervals (the LeNets'
// conv and dense layers, whose back-substitution exceeds ENGINE_BACKSUB_WORK): the reference's back-substitution
// (compiler/analysis/bounds/backsub.ts refineBounds) of those layers' unstable pre-activations over the whole box,
// without the work limit (the memory limit still holds), given to the search as BatchedBabOptions.rootBounds.

import {
  backsubWork,
  ENGINE_BACKSUB_WORK,
  feedsReluOnly,
  intervalBounds,
  refineBounds,
  sizeOf,
  type BoundsClamp,
  type Engine,
  type Layer,
  type Network,
  type NetworkMatrices,
} from "../../compiler/index.js";

/*
 * Design notes:
 * Soundness: refineBounds's bounds are padded above float64 rounding (backsub.ts), so they hold for every input of
 * the box; every subdomain is a subset of it.
 * Which rows: a layer that only ReLUs read is back-substituted for its unstable values alone (by the intervals
 * of the layers before it, already refined): a stable pre-activation is relaxed exactly whatever its bounds. A
 * max-pool's input, every value. A layer whose rows times any lower layer's size exceed the memory limit keeps its
 * intervals.
 * Cost: estimated before it runs, as backsubWork of each such layer's rows by the intervals alone (at least the
 * refined count), at WORK_PER_SECOND; where it exceeds the seconds given, no root bounds (the search runs on the
 * engine's). bench/root-bounds.ts measures the estimate against the time taken.
 */

/** Multiply-adds of back-substitution per second in the reference's loops (measured: bench/root-bounds.ts). */
export const WORK_PER_SECOND = 8e8;

/** BatchedBabOptions.rootBounds: per ReLU layer its pre-activation's bounds, per max-pool layer its input's. */
export interface RootBounds {
  readonly relu: readonly BoundsClamp[];
  readonly pool: readonly BoundsClamp[];
}

const inputOf = (l: Layer): number => (l as { input: number }).input;

/**
 * The layers the engine's graph leaves to intervals: affine or add layers a ReLU or max-pool reads (not the input's
 * map) whose back-substitution exceeds `workLimit` (the engine's; a test passes 0 to take every such layer).
 */
export function intervalLayers(net: Network, m: NetworkMatrices, workLimit = ENGINE_BACKSUB_WORK): number[] {
  const read = new Set(net.layers.filter((l) => l.kind === "relu" || l.kind === "maxpool").map(inputOf));
  return net.layers
    .filter(
      (l) => read.has(l.id) && (l.kind === "add" || (l.kind === "affine" && net.layers[l.input].kind !== "input")),
    )
    .filter((l) => {
      const w = backsubWork(net, m, l.id, sizeOf(l.shape));
      return w === null || w > workLimit;
    })
    .map((l) => l.id);
}

/**
 * Root bounds of the box [lower, upper] (header), or null where the engine's graph back-substitutes every layer
 * already or where the estimated cost exceeds `seconds`. Returns the estimate with them.
 */
export function deepRootBounds(
  engine: Engine,
  net: Network,
  m: NetworkMatrices,
  lower: Float64Array,
  upper: Float64Array,
  seconds: number,
  workLimit = ENGINE_BACKSUB_WORK,
): { bounds: RootBounds; estimate: number } | null {
  const deep = intervalLayers(net, m, workLimit);
  if (deep.length === 0) return null;
  const ibp = intervalBounds(net, lower, upper);
  let work = 0;
  for (const id of deep) {
    // The rows refineBounds (unstableOnly) back-substitutes: a ReLU-only layer's unstable values, else every value.
    const reluOnly = feedsReluOnly(net, id);
    const b = ibp[id];
    let rows = 0;
    for (let i = 0; i < b.lower.length; i++) if (!reluOnly || (b.lower[i] < 0 && b.upper[i] > 0)) rows++;
    work += rows > 0 ? (backsubWork(net, m, id, rows) ?? 0) : 0;
  }
  const estimate = work / WORK_PER_SECOND;
  if (estimate > seconds) return null;
  const input = net.layers.findIndex((l) => l.kind === "input");
  const b = refineBounds(net, m, ibp, input, Infinity, false, true);
  const at = (id: number): BoundsClamp => b[inputOf(net.layers[id])];
  return { bounds: { relu: engine.slopeLayers.map(at), pool: engine.poolLayers.map(at) }, estimate };
}

/** The engine's lower bounds of R rows G over one box with its root bounds as clamps (float64, padded: sound). */
export async function rootRowBounds(
  engine: Engine,
  lower: Float64Array,
  upper: Float64Array,
  rows: Float64Array,
  R: number,
  root: RootBounds,
): Promise<Float64Array> {
  const r = await engine.bounds(lower, upper, rows, R, 1, undefined, root.relu, {
    ...(root.pool.length > 0 ? { poolClamps: root.pool } : {}),
  });
  return r.lower;
}
