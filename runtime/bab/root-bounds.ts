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
import { optimisedBounds } from "../engine/optimise.js";

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

/** What optimisedRootBounds may spend. */
export interface OptimisedRootOptions {
  /** Gradient steps per layer (optimise.ts, float32 steering, one float64 call certifying). */
  readonly iterations: number;
  /** performance.now() milliseconds after which no further layer starts (the bounds so far are returned). */
  readonly deadline: number;
  /** Sound bounds of the box to start from, intersected with the engine's own (e.g. deepRootBounds'). */
  readonly start?: RootBounds;
}

/**
 * Largest rows × (the ReLU values below them) a layer's optimisation may hold: each of the slopes, multipliers,
 * coefficients and ẑ is one such array (4e6 float64 values: 32 MB each). A larger layer keeps the engine's bounds.
 */
const OPTIMISED_ROOT_LIMIT = 4e6;

/**
 * Whether optimisedRootBounds applies: an optimisable engine, no max-pools, at least two ReLU layers, and a dense
 * network (its affine layers dense matrices or scale-shifts: no conv or average pool).
 */
export function optimisedRootApplies(engine: Engine, net: Network): boolean {
  return (
    engine.optimisable &&
    engine.poolLayers.length === 0 &&
    engine.slopeLayers.length >= 2 &&
    net.layers.every((l) => l.kind !== "affine" || l.op.kind === "matrix" || l.op.kind === "scale-shift")
  );
}

/**
 * α-CROWN's intermediate bounds over the box [lower, upper] (as auto_LiRPA's optimised bounds of every layer):
 * per ReLU layer in order, the lower and upper bounds of each unstable pre-activation z_j are the rows +e_j and
 * −e_j of the network truncated at that pre-activation (Engine.prefix), each row's own slopes of every earlier ReLU
 * optimised (optimise.ts), the earlier layers' bounds found so far as clamps; intersected with the engine's own
 * (and with `start`'s, where given). A layer whose rows exceed OPTIMISED_ROOT_LIMIT keeps those.
 * Each bound is one the engine returned (float64, padded outward: it holds for every input of the box; −(lower
 * bound of −z_j) is an upper bound of z_j exactly), so the result is sound as root bounds of any subdomain of the
 * box (BatchedBabOptions.rootBounds). Null where it does not apply (optimisedRootApplies; one ReLU layer has
 * nothing below it to optimise). Dense networks only, as measured: on mnistfc_2021's networks the unstable ReLUs
 * after the first layer fall by 20–60% against the reference's back-substitution (bench/optimised-root.ts); on
 * mnist_cnn_bn (conv, batch norm, a residual add, then dense), from the reference's, test digits 0 and 1 at 1–2 px
 * (a throwaway script), 2.9–6.3 s for the same unstable counts and a worst margin 0.003–0.007 higher.
 */
export async function optimisedRootBounds(
  engine: Engine,
  net: Network,
  lower: Float64Array,
  upper: Float64Array,
  o: OptimisedRootOptions,
): Promise<RootBounds | null> {
  const layers = engine.slopeLayers;
  if (!optimisedRootApplies(engine, net)) return null;
  const K = engine.outputSize;
  const first = await engine.bounds(lower, upper, new Float64Array(K), 1, 1);
  const pre = first.preActivation.map((p, i) => {
    const c = { lower: Float64Array.from(p.lower), upper: Float64Array.from(p.upper) },
      given = o.start?.relu[i];
    if (given)
      for (let j = 0; j < c.lower.length; j++) {
        c.lower[j] = Math.max(c.lower[j], given.lower[j]);
        c.upper[j] = Math.min(c.upper[j], given.upper[j]);
      }
    return c;
  });
  const widths = layers.map((id) => sizeOf(net.layers[id].shape));
  for (let k = 1; k < layers.length && performance.now() < o.deadline; k++) {
    const at = inputOf(net.layers[layers[k]]);
    const sub = engine.prefix(at);
    // A prefix of a network the graph covers is covered too; an engine that is not optimisable keeps the bounds.
    if (!sub.optimisable) continue;
    if (sub.slopeLayers.length !== k || sub.slopeLayers.some((id, i) => id !== layers[i]))
      throw new Error(
        `internal: the prefix at layer ${at} has ReLU layers ${sub.slopeLayers} (expected ${layers.slice(0, k)})`,
      );
    const p = pre[k],
      w = widths[k];
    const unstable: number[] = [];
    for (let j = 0; j < w; j++) if (p.lower[j] < 0 && p.upper[j] > 0) unstable.push(j);
    const R = 2 * unstable.length;
    if (R === 0 || R * widths.slice(0, k).reduce((a, v) => a + v, 0) > OPTIMISED_ROOT_LIMIT) continue;
    // Rows 2q and 2q + 1: +z_j and −z_j for the q-th unstable j.
    const rows = new Float64Array(R * w);
    unstable.forEach((j, q) => {
      rows[2 * q * w + j] = 1;
      rows[(2 * q + 1) * w + j] = -1;
    });
    const res = await optimisedBounds(sub, net, lower, upper, rows, R, 1, {
      iterations: o.iterations,
      clamps: pre.slice(0, k),
      // No splits at the root: no multipliers (from the clamps alone, every stable-active neuron would get one).
      multiplierSigns: widths.slice(0, k).map((v) => new Int8Array(v)),
      deadline: o.deadline,
    });
    unstable.forEach((j, q) => {
      p.lower[j] = Math.max(p.lower[j], res.lower[2 * q]);
      p.upper[j] = Math.min(p.upper[j], -res.lower[2 * q + 1]);
    });
  }
  return { relu: pre, pool: [] };
}
