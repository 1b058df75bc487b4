// Branch and bound over ReLU splits (the decision problem): does some input of the box satisfy an unsafe
// disjunct? Consumes a Spec (box + unsafe DNF over the outputs), the network and a `check` that turns a
// candidate into a confirmed example (onnxruntime float32) or null; answers unsat (every subdomain refuted
// by sound bounds or its exact LP), sat (a checked example), or, at the deadline or node limit, timeout /
// unknown. Best-first on the subdomain's bound (the most violated first: examples come early); each child is
// bounded when created, and its box vertex tried as a candidate. Max-pool layers are never split: on a
// network with them a leaf's LP is a relaxation, and a leaf it cannot refute leaves the answer unknown.

import { Heap } from "heap-js";
import { tightBounds, trace, type LayerBounds } from "../../compiler/index.js";
import { unsafeValue, type Spec } from "./spec.js";
import { leafLp } from "./leaf.js";
import { openNodeLp } from "./node-lp.js";
import { evaluateNode, splitBounds, type BabNet, type NodeEval } from "./node.js";

export interface BabOptions {
  /** performance.now() milliseconds at which the search stops. */
  readonly deadline: number;
  readonly nodeLimit: number;
  /**
   * The subdomain LP (node-lp.ts) on every subdomain the bounds leave open (true), or only at leaves (false).
   * Applies to ReLU networks (node-lp.ts); on others leaves use leaf.ts.
   */
  readonly nodeLp: boolean;
}

export const DEFAULT_BAB = { nodeLimit: 200_000, nodeLp: true, refineWork: 3e7 } as const;

export type BabStatus = "unsat" | "sat" | "timeout" | "unknown";

export interface BabResult<T> {
  readonly status: BabStatus;
  readonly example: T | null;
  /** Subdomains bounded (the root included). */
  readonly nodes: number;
  /** Subdomain LPs solved. */
  readonly lps: number;
  readonly depth: number;
  /** The lowest bound among subdomains still open at the end (+∞ when none): how far from a proof. */
  readonly openValue: number;
  readonly seconds: number;
  readonly reason?: string;
}

interface Item {
  readonly e: NodeEval;
  readonly depth: number;
}

export async function decide<T>(
  b: BabNet,
  s: Spec,
  check: (x: Float64Array) => Promise<T | null>,
  o: BabOptions,
): Promise<BabResult<T>> {
  const t0 = performance.now();
  let nodes = 0,
    lps = 0,
    depth = 0,
    undecided = 0;
  const done = (status: BabStatus, example: T | null, open: number, reason?: string): BabResult<T> => ({
    status,
    example,
    nodes,
    lps,
    depth,
    openValue: open,
    seconds: (performance.now() - t0) / 1000,
    ...(reason ? { reason } : {}),
  });
  const tried = new Set<string>();
  // A candidate goes to the float32 check only when the float64 trace already says it is unsafe.
  const tryPoint = async (x: Float64Array | null): Promise<T | null> => {
    if (!x) return null;
    const y = trace(b.net, x, { matrices: b.matrices }).logits;
    if (unsafeValue(s, x, y).value > 0) return null;
    const key = Array.from(x, Math.fround).join(",");
    if (tried.has(key)) return null;
    tried.add(key);
    return check(x);
  };
  const all = s.disjuncts.map((_, i) => i);
  const rootBounds = tightBounds(b.net, b.matrices, s.lower, s.upper, undefined, false);
  const root0 = evaluateNode(b, s, rootBounds, all);
  nodes++;
  if (root0.open.length === 0) return done("unsat", null, Infinity);
  const ex0 = await tryPoint(root0.vertex);
  if (ex0) return done("sat", ex0, root0.value);
  const lp = await openNodeLp(b.net, s, rootBounds);

  /**
   * The LP per disjunct the bounds left open, the likeliest to be refuted first (highest bound), until one
   * is not: the subdomain is split anyway then, and its children try the rest. Keeps a candidate.
   */
  const withLp = async (e: NodeEval, leaf: boolean): Promise<{ e: NodeEval; example: T | null }> => {
    if (!lp || (!o.nodeLp && !leaf)) return { e, example: null };
    const left = () => Math.max(0.01, (o.deadline - performance.now()) / 1000);
    const order = [...e.open].sort((p, q) => e.values[q] - e.values[p]);
    for (let k = 0; k < order.length; k++) {
      const dj = order[k];
      lps++;
      const r = lp.bound(e.bounds, dj, left());
      if (r.lower > 1e-9) continue;
      const open = order.slice(k);
      const example = await tryPoint(r.point);
      return {
        e: {
          ...e,
          open,
          value: Math.min(...open.map((i) => (i === dj ? Math.max(r.lower, e.values[i]) : e.values[i]))),
        },
        example,
      };
    }
    return { e: { ...e, open: [], value: Infinity }, example: null };
  };

  try {
    const { e: root, example: exLp } = await withLp(root0, root0.branch === null);
    if (exLp) return done("sat", exLp, root.value);
    if (root.open.length === 0) return done("unsat", null, Infinity);
    const heap = new Heap<Item>((p, q) => p.e.value - q.e.value || q.depth - p.depth);
    heap.push({ e: root, depth: 0 });
    while (heap.size() > 0) {
      if (performance.now() >= o.deadline)
        return done("timeout", null, heap.peek()!.e.value, `time limit after ${nodes} subdomains`);
      if (nodes >= o.nodeLimit) return done("unknown", null, heap.peek()!.e.value, `node limit ${o.nodeLimit} reached`);
      const { e, depth: d } = heap.pop()!;
      if (e.branch === null) {
        // A leaf (nothing unstable) still open: with the subdomain LP, that LP was exact and its optimiser
        // failed the check (a tie); without it (max-pool), the leaf LP per open disjunct decides what it can.
        if (!lp) {
          const left = (o.deadline - performance.now()) / 1000;
          const still: number[] = [];
          let candidate: Float64Array | null = null;
          for (const dj of e.open) {
            lps++;
            const r = await leafLp(b.net, s, e.bounds, dj, left);
            if (!r.refuted) {
              still.push(dj);
              candidate ??= r.point;
            }
          }
          if (still.length === 0) continue;
          const ex = await tryPoint(candidate);
          if (ex) return done("sat", ex, e.value);
        }
        undecided++;
        continue;
      }
      for (const active of [true, false]) {
        const bounds: LayerBounds[] = splitBounds(b, e.bounds, e.branch, active);
        nodes++;
        depth = Math.max(depth, d + 1);
        if (emptyDomain(bounds)) continue;
        const c0 = evaluateNode(b, s, bounds, e.open);
        if (c0.open.length === 0) continue;
        const ex = await tryPoint(c0.vertex);
        if (ex) return done("sat", ex, c0.value);
        const { e: c, example } = await withLp(c0, c0.branch === null);
        if (example) return done("sat", example, c.value);
        if (c.open.length === 0) continue;
        heap.push({ e: c, depth: d + 1 });
      }
    }
    if (undecided > 0)
      return done(
        "unknown",
        null,
        -Infinity,
        `${undecided} subdomain(s) with no unstable ReLU left whose LP optimiser failed the float32 check or whose relaxation (max-pool) could not decide`,
      );
    return done("unsat", null, Infinity);
  } finally {
    lp?.dispose();
  }
}

/** Bounds that cross (lower > upper) on some value: the split constraints leave no input (the subdomain is empty). */
function emptyDomain(bounds: readonly LayerBounds[]): boolean {
  for (const b of bounds) for (let j = 0; j < b.lower.length; j++) if (b.lower[j] > b.upper[j]) return true;
  return false;
}
