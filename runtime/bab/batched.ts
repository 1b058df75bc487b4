// Branch and bound over batches of subdomains on the engine's bounds (issue 23 item 4, issue 24 item 2): proves
// that every row G_r·y is positive over an input box by splitting ReLUs, bounding all the children of up to K
// subdomains in one Engine.bounds call (the splits as clamps of the pre-activation bounds). Answers unsat (every
// subdomain refuted), or timeout / unknown with the lowest bound still open. It never looks for examples: the
// callers hold those (the attack's, the LP branch and bound's).

import { Heap } from "heap-js";
import { sizeOf, type BoundsClamp, type Engine, type Network } from "../../compiler/index.js";

/*
 * Design notes:
 * Soundness: a subdomain's verdict is the engine's (float64, padded outward; every row's lower bound > 0 refutes
 * it). The two children of a split cover the parent (pre-activation ≥ 0 or ≤ 0), so when every leaf of the tree is
 * refuted no input of the box has a row ≤ 0. A child whose clamped bounds cross (lower > upper on some
 * pre-activation) holds no input: the engine's bounds contain every value of an input of the subdomain, so none
 * exists. A subdomain with no unstable ReLU left that is not refuted ends the search as unknown: the clamps fix
 * the relaxation but do not constrain the input (the leaf is bounded over the whole box; β-CROWN's multipliers or
 * the LP branch and bound's leaf LPs would enforce the splits).
 *
 * Measured (bench/bab.ts): ~1,100 subdomains a second on mnist_mlp, one thread, but weaker per subdomain than the
 * LP branch and bound (runtime/bab/search.ts), which proves more in the same time: not yet used by a mode; it is
 * the batched half of issue 24's branch and bound, waiting for optimised slopes and split multipliers.
 *
 * Branching (BaBSR-like, as node.ts pickNeuron): in the subdomain's worst row, the unstable ReLU with the largest
 * |coefficient| × triangle height −l·u/(u − l) (a negative coefficient, on the upper line, counted in full; a
 * positive one half); the widest unstable ReLU where every score is 0.
 *
 * Batches: the K subdomains of lowest bound are popped at once; K starts at 4 and doubles while a call takes less
 * than CALL_SECONDS, up to maxBatch, and shrinks to what the deadline leaves room for.
 */

export interface BatchedBabOptions {
  /** performance.now() milliseconds at which the search stops. */
  readonly deadline: number;
  readonly nodeLimit: number;
  /** Subdomains split per engine call at most (their children are bounded together: 2× as many boxes). */
  readonly maxBatch: number;
}

export const DEFAULT_BATCHED_BAB = { nodeLimit: 2_000_000, maxBatch: 2048 } as const;

/** A call's target duration: batches grow while calls are shorter (the session.run overhead amortised). */
const CALL_SECONDS = 0.25;

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

interface Split {
  /** Index into Engine.slopeLayers. */
  readonly li: number;
  readonly j: number;
  readonly active: boolean;
}

interface Domain {
  readonly splits: readonly Split[];
  /** min over rows of the row's lower bound (≤ 0: open). */
  readonly value: number;
  /** The ReLU to split next (null: none unstable). */
  readonly branch: { readonly li: number; readonly j: number } | null;
}

/**
 * Whether G_r·y > 0 for every row r and every input of the box [lower, upper] (model units, the network's input
 * size), G = `rows` (R rows over the K logits, row-major).
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
  let nodes = 0,
    calls = 0,
    depth = 0,
    perBox = 0;
  const done = (status: BatchedBabResult["status"], open: number, reason?: string): BatchedBabResult => ({
    status,
    nodes,
    calls,
    depth,
    openValue: open,
    seconds: (performance.now() - t0) / 1000,
    ...(reason ? { reason } : {}),
  });

  /** Bounds every subdomain in one call; null entries are refuted (or empty). */
  const evaluate = async (subs: readonly (readonly Split[])[]): Promise<(Domain | null)[]> => {
    const B = subs.length;
    const lo = new Float64Array(B * n),
      hi = new Float64Array(B * n),
      G = new Float64Array(B * R * K);
    const clamps: BoundsClamp[] = widths.map((w) => ({
      lower: new Float64Array(B * w).fill(-Infinity),
      upper: new Float64Array(B * w).fill(Infinity),
    }));
    subs.forEach((splits, b) => {
      lo.set(lower, b * n);
      hi.set(upper, b * n);
      G.set(rows, b * R * K);
      for (const s of splits) {
        const w = widths[s.li];
        if (s.active) (clamps[s.li].lower as Float64Array)[b * w + s.j] = 0;
        else (clamps[s.li].upper as Float64Array)[b * w + s.j] = 0;
      }
    });
    const t = performance.now();
    const res = await engine.bounds(lo, hi, G, R, B, undefined, clamps, { coefficients: true });
    perBox = (performance.now() - t) / 1000 / B;
    calls++;
    nodes += B;
    return subs.map((splits, b) => {
      let worst = 0;
      for (let r = 1; r < R; r++) if (res.lower[b * R + r] < res.lower[b * R + worst]) worst = r;
      const value = res.lower[b * R + worst];
      if (value > 0) return null;
      let best: { li: number; j: number } | null = null,
        bestScore = 0,
        wide: { li: number; j: number } | null = null,
        wideW = -1;
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
          if (u - l > wideW) {
            wideW = u - l;
            wide = { li, j };
          }
          const lam = coef[(b * R + worst) * w + j],
            h = (-l * u) / (u - l);
          const score = lam < 0 ? -lam * h : 0.5 * lam * h;
          if (score > bestScore) {
            bestScore = score;
            best = { li, j };
          }
        }
      }
      return { splits, value, branch: best ?? wide };
    });
  };

  const [root] = await evaluate([[]]);
  if (!root) return done("unsat", Infinity);
  const heap = new Heap<Domain>((p, q) => p.value - q.value);
  heap.push(root);
  let batch = 4;
  while (heap.size() > 0) {
    const now = performance.now();
    if (now >= o.deadline) return done("timeout", heap.peek()!.value, `time limit after ${nodes} subdomains`);
    if (nodes >= o.nodeLimit) return done("unknown", heap.peek()!.value, `node limit ${o.nodeLimit} reached`);
    // As many as the deadline leaves room for (2 boxes per subdomain at the last call's pace).
    const room = perBox > 0 ? Math.floor((o.deadline - now) / 1000 / (2 * perBox)) : batch;
    const k = Math.max(1, Math.min(batch, room, heap.size()));
    const popped: Domain[] = [];
    for (let i = 0; i < k; i++) popped.push(heap.pop()!);
    const leaf = popped.find((d) => d.branch === null);
    if (leaf)
      return done(
        "unknown",
        Math.min(leaf.value, ...popped.map((d) => d.value)),
        "a subdomain with no unstable ReLU left is not refuted",
      );
    const children = popped.flatMap((d) =>
      [true, false].map((active) => [...d.splits, { li: d.branch!.li, j: d.branch!.j, active }]),
    );
    depth = Math.max(depth, ...children.map((c) => c.length));
    const t = performance.now();
    for (const c of await evaluate(children)) if (c) heap.push(c);
    if ((performance.now() - t) / 1000 < CALL_SECONDS) batch = Math.min(o.maxBatch, batch * 2);
  }
  return done("unsat", Infinity);
}
