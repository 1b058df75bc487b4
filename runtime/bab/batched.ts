// Branch and bound over batches of subdomains on the engine's bounds (issue 23 item 4, issue 24 item 2): proves
// that every row G_r·y is positive over an input box by splitting ReLUs, bounding all the children of up to K
// subdomains in one batched call (the splits as clamps of the pre-activation bounds; on an optimisable engine with
// optimised slopes and β multipliers, runtime/engine/optimise.ts). Answers unsat (every subdomain refuted), or
// timeout / unknown with the lowest bound still open. It never looks for examples: the callers hold those (the
// attack's, the LP branch and bound's).

import { Heap } from "heap-js";
import { sizeOf, type BoundsClamp, type Engine, type EngineBoxBounds, type Network } from "../../compiler/index.js";
import { optimisedBounds } from "../engine/optimise.js";

/*
 * Design notes:
 * Soundness: a subdomain's verdict is the engine's (float64, padded outward; every row's lower bound > 0 refutes
 * it; the optimisation only chooses slopes and multipliers, each bound it keeps is one the engine returned). The
 * two children of a split cover the parent (pre-activation ≥ 0 or ≤ 0), so when every leaf of the tree is
 * refuted no input of the box has a row ≤ 0. A row proved on a subdomain stays proved on its children (they are
 * subsets). A child whose clamped bounds cross (lower > upper on some pre-activation) holds no input: the
 * engine's bounds contain every value of an input of the subdomain, so none exists. The β multipliers make the
 * bound one over the subdomain (the splits enforced, not just the relaxation fixed); a subdomain with no unstable
 * ReLU left that is still not refuted ends the search as unknown (its exact answer is an LP: the LP branch and
 * bound's).
 *
 * Branching (BaBSR-like, as node.ts pickNeuron): in the subdomain's worst open row, the unstable ReLU with the
 * largest |coefficient| × triangle height −l·u/(u − l) (a negative coefficient, on the upper line, counted in full;
 * a positive one half); the widest unstable ReLU where every score is 0.
 *
 * Input splitting (as α,β-CROWN on low-dimensional inputs, e.g. ACAS Xu): where the input has at most
 * INPUT_SPLIT_DIMENSIONS values (or BatchedBabOptions.inputSplit says so), a subdomain is a sub-box instead, and
 * it is halved at the midpoint of its widest coordinate relative to the root box's width (the first such where
 * several tie). The halves cover the box, so the same soundness argument holds with no clamps or multipliers: each
 * child is a box of its own, bounded from scratch (warm-started slopes only). A sub-box where every ReLU is stable
 * and a row is still open ends the search as unknown: there the bound is the exact minimum of an affine function
 * over the box (up to the pad), so an input of the box is unsafe or all but.
 *
 * Batches: the K subdomains of lowest bound are popped at once; K starts at 4 and doubles while a call takes less
 * than CALL_SECONDS, up to maxBatch, and shrinks to what the deadline leaves room for.
 *
 * Warm starts (as β-CROWN): a subdomain keeps its intermediate bounds and the slopes and multipliers its
 * optimisation ended with (slopes and multipliers in float32: they only steer), within WARM_LIMIT floats over all
 * open subdomains. Its children start from those slopes and multipliers; a child split in the last ReLU layer
 * also takes its intermediate bounds with the split as clamps, without back-substituting intermediate layers again
 * (BoundsAsk.refine = false: the rows' pass alone; no later layer's bounds depend on that neuron). Children split
 * further down recompute theirs, in a batch of their own. Only split neurons get a multiplier. Measured on
 * mnist_mlp (bench/bab.ts, 8 decisions, 6 proved): inheriting on every split ran ~1,150 subdomains/s against
 * ~580 but needed more of them (5.3 s to the 6 proofs against 4.2 s).
 */

export interface BatchedBabOptions {
  /** performance.now() milliseconds at which the search stops. */
  readonly deadline: number;
  readonly nodeLimit: number;
  /** Subdomains split per engine call at most (their children are bounded together: 2× as many boxes). */
  readonly maxBatch: number;
  /** Optimisation steps per batch (root: rootIterations); 0 or a non-optimisable engine: DeepPoly's slopes, clamps only. */
  readonly iterations: number;
  readonly rootIterations: number;
  /** R values: row r is proved where its bound exceeds thresholds[r] (default 0): G_r·y > t_r. */
  readonly thresholds?: Float64Array;
  /** Split the input box instead of ReLUs (default: where the input has at most INPUT_SPLIT_DIMENSIONS values). */
  readonly inputSplit?: boolean;
  /**
   * The same search whatever the machine's load (a budget in subdomains: nodeLimit): batches double every round
   * (4, 8, … maxBatch) instead of by the calls' durations, and the deadline only stops the search (a safety), never
   * shortens an optimisation or a batch. Default false: the batches follow the clock (header).
   */
  readonly deterministic?: boolean;
}

export const DEFAULT_BATCHED_BAB = {
  nodeLimit: 2_000_000,
  maxBatch: 2048,
  iterations: 5,
  rootIterations: 50,
} as const;

/** Inputs of at most this many values are split (the input box halved) rather than their ReLUs (header). */
export const INPUT_SPLIT_DIMENSIONS = 10;

/** A call's target duration: batches grow while calls are shorter (the session.run overhead amortised). */
const CALL_SECONDS = 0.25;
/** Floats of warm starts kept over all open subdomains at most (~400 MB in float32). */
const WARM_LIMIT = 1e8;

export interface BatchedBabResult {
  readonly status: "unsat" | "timeout" | "unknown";
  /** Subdomains bounded (the root included) and engine calls. */
  readonly nodes: number;
  readonly calls: number;
  readonly depth: number;
  /** The lowest bound among subdomains still open at the end (+∞ when none). */
  readonly openValue: number;
  readonly seconds: number;
  readonly reason?: string;
}

/** A ReLU split (its pre-activation ≥ 0 where active, else ≤ 0); an input split lives in Domain.box instead. */
interface Split {
  /** Index into Engine.slopeLayers. */
  readonly li: number;
  readonly j: number;
  readonly active: boolean;
}

/** A subdomain's input box (the root's, shared, where only ReLUs are split). */
interface Box {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

interface Domain {
  readonly splits: readonly Split[];
  readonly box: Box;
  /** Splits from the root (ReLU and input). */
  readonly level: number;
  /** min over open rows of the row's lower bound minus its threshold (≤ 0: open; ordering and reports only). */
  readonly value: number;
  /** R flags: rows proved on this subdomain. */
  readonly settled: Uint8Array;
  /** The ReLU to split next (li ≥ 0), or the input coordinate to halve (li = −1); null: none. */
  readonly branch: { readonly li: number; readonly j: number } | null;
  /**
   * Per ReLU layer: its pre-activation bounds (n) and R·n slopes and multipliers its optimisation ended with (null:
   * none kept; its children then recompute their intermediate bounds).
   */
  readonly warm: {
    readonly pre: readonly BoundsClamp[];
    readonly alpha: Float32Array[];
    readonly gamma: Float32Array[];
  } | null;
}

/**
 * Whether G_r·y > t_r (t = o.thresholds, default 0) for every row r and every input of the box [lower, upper]
 * (model units, the network's input size), G = `rows` (R rows over the K logits, row-major).
 */
export async function proveRows(
  engine: Engine,
  net: Network,
  lower: Float64Array,
  upper: Float64Array,
  rows: Float64Array,
  R: number,
  o: BatchedBabOptions,
): Promise<BatchedBabResult> {
  const t0 = performance.now();
  const n = engine.inputSize,
    K = engine.outputSize;
  const layers = engine.slopeLayers;
  const widths = layers.map((id) => sizeOf(net.layers[id].shape));
  const optimise = engine.optimisable && o.iterations > 0;
  const inputSplit = o.inputSplit ?? n <= INPUT_SPLIT_DIMENSIONS;
  const root: Box = { lower: Float64Array.from(lower), upper: Float64Array.from(upper) };
  const t = o.thresholds ?? new Float64Array(R);
  const warmSize = (R + 2) * widths.reduce((a, w) => a + w, 0) * 2;
  let nodes = 0,
    calls = 0,
    depth = 0,
    perBox = 0,
    warmHeld = 0;
  const done = (status: BatchedBabResult["status"], open: number, reason?: string): BatchedBabResult => ({
    status,
    nodes,
    calls,
    depth,
    openValue: open,
    seconds: (performance.now() - t0) / 1000,
    ...(reason ? { reason } : {}),
  });

  interface Child {
    readonly splits: readonly Split[];
    readonly box: Box;
    readonly level: number;
    readonly parent: Domain | null;
  }

  /**
   * Whether a child takes its parent's intermediate bounds with its split (no back-substitution of layers): where
   * the parent kept them and the new split is in the last ReLU layer, whose neurons no later intermediate bound
   * depends on (a split further down tightens the layers after it, which back-substitution recomputes).
   */
  const inherits = (c: Child): boolean =>
    optimise &&
    c.parent?.warm !== null &&
    c.parent !== null &&
    c.box === c.parent.box &&
    c.splits.length > 0 &&
    c.splits[c.splits.length - 1].li === layers.length - 1;

  /** Bounds every subdomain in one batch; null entries are refuted (or empty). */
  const evaluate = async (subs: readonly Child[], iterations: number): Promise<(Domain | null)[]> => {
    const B = subs.length;
    // Only the rows some subdomain of the batch still has open are bounded (Ro of the R; a row proved on every
    // parent costs nothing): row k of the batch is rows' open[k].
    const open = Array.from({ length: R }, (_, r) => r).filter((r) => subs.some((c) => !c.parent?.settled[r]));
    const Ro = open.length;
    const lo = new Float64Array(B * n),
      hi = new Float64Array(B * n),
      G = new Float64Array(B * Ro * K),
      settled = new Uint8Array(B * Ro),
      target = Float64Array.from(open, (r) => t[r]);
    const signs = widths.map((w) => new Int8Array(B * w));
    const clamps: BoundsClamp[] = widths.map((w) => ({
      lower: new Float64Array(B * w).fill(-Infinity),
      upper: new Float64Array(B * w).fill(Infinity),
    }));
    const warm = optimise && subs.some((c) => c.parent?.warm);
    const inherit = warm && subs.every(inherits);
    const alpha = warm ? widths.map((w) => new Float64Array(B * Ro * w).fill(-1)) : undefined;
    const gamma = warm ? widths.map((w) => new Float64Array(B * Ro * w)) : undefined;
    subs.forEach(({ splits, box, parent }, b) => {
      lo.set(box.lower, b * n);
      hi.set(box.upper, b * n);
      open.forEach((r, k) => {
        G.set(rows.subarray(r * K, (r + 1) * K), (b * Ro + k) * K);
        if (parent) settled[b * Ro + k] = parent.settled[r];
      });
      if (inherit)
        widths.forEach((w, i) => {
          (clamps[i].lower as Float64Array).set(parent!.warm!.pre[i].lower, b * w);
          (clamps[i].upper as Float64Array).set(parent!.warm!.pre[i].upper, b * w);
        });
      for (const s of splits) {
        const w = widths[s.li];
        const lo = clamps[s.li].lower as Float64Array,
          hi = clamps[s.li].upper as Float64Array;
        if (s.active) lo[b * w + s.j] = Math.max(lo[b * w + s.j], 0);
        else hi[b * w + s.j] = Math.min(hi[b * w + s.j], 0);
        signs[s.li][b * w + s.j] = s.active ? -1 : 1;
      }
      if (parent?.warm)
        widths.forEach((w, i) =>
          open.forEach((r, k) => {
            alpha![i].set(parent.warm!.alpha[i].subarray(r * w, (r + 1) * w), (b * Ro + k) * w);
            gamma![i].set(parent.warm!.gamma[i].subarray(r * w, (r + 1) * w), (b * Ro + k) * w);
          }),
        );
    });
    const started = performance.now();
    let res: Pick<EngineBoxBounds, "lower" | "preActivation" | "coefficients">,
      ended: { alpha: Float64Array[]; gamma: Float64Array[] } | null = null;
    if (optimise) {
      const r = await optimisedBounds(engine, net, lo, hi, G, Ro, B, {
        iterations,
        target,
        settled,
        clamps,
        coefficients: true,
        refine: !inherit,
        multiplierSigns: signs,
        ...(o.deterministic ? {} : { deadline: o.deadline }),
        ...(alpha ? { rowSlopes: alpha, multipliers: gamma } : {}),
      });
      calls += r.calls;
      res = r;
      ended = { alpha: r.rowSlopes, gamma: r.multipliers };
    } else {
      res = await engine.bounds(lo, hi, G, Ro, B, undefined, clamps, { coefficients: true });
      calls++;
    }
    perBox = (performance.now() - started) / 1000 / B;
    nodes += B;
    return subs.map(({ splits, box, level, parent }, b) => {
      const mine = parent ? parent.settled.slice() : new Uint8Array(R);
      // worst: the batch row (k) of the open row with the lowest bound above its threshold.
      let worst = -1;
      const gap = (k: number) => res.lower[b * Ro + k] - target[k];
      for (let k = 0; k < Ro; k++) {
        if (mine[open[k]]) continue;
        // Proved where the bound exceeds the threshold (compared, not subtracted: no rounding).
        if (res.lower[b * Ro + k] > target[k]) mine[open[k]] = 1;
        else if (worst < 0 || gap(k) < gap(worst)) worst = k;
      }
      if (worst < 0) return null;
      const value = gap(worst);
      let best: { li: number; j: number } | null = null,
        bestScore = 0,
        wide: { li: number; j: number } | null = null,
        wideW = -1,
        unstable = false;
      for (let li = 0; li < layers.length; li++) {
        const w = widths[li],
          pl = res.preActivation[li].lower,
          pu = res.preActivation[li].upper,
          coef = res.coefficients![li];
        for (let j = 0; j < w; j++) {
          const l = pl[b * w + j],
            u = pu[b * w + j];
          if (l > u) return null; // the splits leave no input
          if (!(l < 0 && u > 0)) continue;
          unstable = true;
          if (u - l > wideW) {
            wideW = u - l;
            wide = { li, j };
          }
          const lam = coef[(b * Ro + worst) * w + j],
            h = (-l * u) / (u - l);
          const score = lam < 0 ? -lam * h : 0.5 * lam * h;
          if (score > bestScore) {
            bestScore = score;
            best = { li, j };
          }
        }
      }
      let keep: Domain["warm"] = null;
      if (ended && warmHeld + warmSize <= WARM_LIMIT) {
        warmHeld += warmSize;
        keep = {
          pre: widths.map((w, i) => ({
            lower: res.preActivation[i].lower.slice(b * w, (b + 1) * w),
            upper: res.preActivation[i].upper.slice(b * w, (b + 1) * w),
          })),
          // In the full rows' layout (R·n): rows bounded in no batch since keep DeepPoly's slopes, no multiplier.
          alpha: widths.map((w, i) => {
            const a = new Float32Array(R * w).fill(-1);
            open.forEach((r, k) => a.set(ended!.alpha[i].subarray((b * Ro + k) * w, (b * Ro + k + 1) * w), r * w));
            return a;
          }),
          gamma: widths.map((w, i) => {
            const g = new Float32Array(R * w);
            open.forEach((r, k) => g.set(ended!.gamma[i].subarray((b * Ro + k) * w, (b * Ro + k + 1) * w), r * w));
            return g;
          }),
        };
      }
      return {
        splits,
        box,
        level,
        value,
        settled: mine,
        branch: inputSplit ? (unstable ? widestInput(box, root) : null) : (best ?? wide),
        warm: keep,
      };
    });
  };

  const [top] = await evaluate([{ splits: [], box: root, level: 0, parent: null }], o.rootIterations);
  if (!top) return done("unsat", Infinity);
  const heap = new Heap<Domain>((p, q) => p.value - q.value);
  heap.push(top);
  let batch = 4;
  while (heap.size() > 0) {
    const now = performance.now();
    if (now >= o.deadline) return done("timeout", heap.peek()!.value, `time limit after ${nodes} subdomains`);
    if (nodes >= o.nodeLimit) return done("unknown", heap.peek()!.value, `node limit ${o.nodeLimit} reached`);
    // As many as the deadline leaves room for (2 boxes per subdomain at the last call's pace).
    const room = perBox > 0 && !o.deterministic ? Math.floor((o.deadline - now) / 1000 / (2 * perBox)) : batch;
    // Nor more than the node limit leaves (each popped subdomain makes two).
    const k = Math.max(1, Math.min(batch, room, heap.size(), Math.ceil((o.nodeLimit - nodes) / 2)));
    const popped: Domain[] = [];
    for (let i = 0; i < k; i++) popped.push(heap.pop()!);
    const leaf = popped.find((d) => d.branch === null);
    if (leaf)
      return done(
        "unknown",
        Math.min(leaf.value, ...popped.map((d) => d.value)),
        inputSplit
          ? "a sub-box with every ReLU stable is not refuted (its bound is the exact minimum, up to the pad)"
          : "a subdomain with no unstable ReLU left is not refuted",
      );
    for (const d of popped) if (d.warm) warmHeld -= warmSize;
    const children: Child[] = popped.flatMap((d) =>
      d.branch!.li < 0
        ? halves(d.box, d.branch!.j).map((box) => ({ splits: d.splits, box, level: d.level + 1, parent: d }))
        : [true, false].map((active) => ({
            splits: [...d.splits, { li: d.branch!.li, j: d.branch!.j, active }],
            box: d.box,
            level: d.level + 1,
            parent: d,
          })),
    );
    depth = Math.max(depth, ...children.map((c) => c.level));
    const t = performance.now();
    // The children that take their parent's intermediate bounds, and those that recompute them, in two batches.
    for (const group of [children.filter(inherits), children.filter((c) => !inherits(c))])
      if (group.length > 0) for (const c of await evaluate(group, o.iterations)) if (c) heap.push(c);
    if (o.deterministic || (performance.now() - t) / 1000 < CALL_SECONDS) batch = Math.min(o.maxBatch, batch * 2);
  }
  return done("unsat", Infinity);
}

/** The input coordinate to halve: the widest relative to the root box's width (the first of a tie); li = −1. */
function widestInput(box: Box, root: Box): { li: number; j: number } | null {
  let j = -1,
    w = 0;
  for (let i = 0; i < box.lower.length; i++) {
    const full = root.upper[i] - root.lower[i];
    const rel = full > 0 ? (box.upper[i] - box.lower[i]) / full : 0;
    if (rel > w) {
      w = rel;
      j = i;
    }
  }
  return j < 0 ? null : { li: -1, j };
}

/** The two halves of a box at the midpoint of coordinate j (they cover it: the midpoint is in both). */
function halves(box: Box, j: number): Box[] {
  const mid = box.lower[j] + (box.upper[j] - box.lower[j]) / 2;
  const low = { lower: box.lower, upper: Float64Array.from(box.upper) },
    high = { lower: Float64Array.from(box.lower), upper: box.upper };
  low.upper[j] = mid;
  high.lower[j] = mid;
  return [low, high];
}
