// Branch and bound over batches of subdomains on the engine's bounds (issue 23 item 4, issue 24 item 2): proves
// that every row G_r·y is positive over an input box by splitting ReLUs, bounding all the children of up to K
// subdomains in one batched call (the splits as clamps of the pre-activation bounds; on an optimisable engine with
// optimised slopes and β multipliers, runtime/engine/optimise.ts). Answers unsat (every subdomain refuted), or
// timeout / unknown with the lowest bound still open. It never looks for examples: the callers hold those (the
// attack's, the LP branch and bound's).

import { Heap } from "heap-js";
import {
  layerWindows,
  sizeOf,
  type BoundsClamp,
  type Engine,
  type EngineBoxBounds,
  type Layer,
  type Network,
} from "../../compiler/index.js";
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
 * Filtered smart branching (FSB, as α,β-CROWN's; BatchedBabOptions.branching = "fsb", the default): the
 * FSB_CANDIDATES ReLUs of largest score are candidates, and the children of each are bounded in one float32 call for
 * every popped subdomain (its intermediate bounds kept as clamps, its worst row with its warm slopes and
 * multipliers, no optimisation): the candidate whose weaker child is strongest is split. Only where the subdomain
 * kept its warm starts and its best score is a ReLU's, not on networks with max-pools or input splitting. Measured
 * on mnist_mlp against BaBSR alone, in the same sitting (two other jobs on the two cores):
 *   - bench/bab.ts (POINTS=20 SECONDS=10 LP=0): the same 16 proved, 5,248 subdomains and 5.5 s to the proofs with
 *     3 candidates, 4,556 and 4.9 s with 5, against 9,046 and 6.6 s; 2 candidates: 7,064, 6.6 s; 8: 5,288, 6.3 s.
 *   - bench/exact.ts (MODES=exact POINTS=10 SECONDS=30): 5 candidates closed 4 of 10 against 3, median
 *     lower/upper 0.999 against 0.998, the lower bound higher on 4 digits and lower on 2 (digit 0: 22.0 px against
 *     22.8); 3 candidates closed 3. A subdomain costs about twice as much (the candidates' call), so about half as
 *     many are bounded in the same time. With that call (and the optimiser's rows' pass) on the clamps alone
 *     (BoundsAsk.intervals = false): 4.7–5.1 s to the same proofs against 5.8–7.1 s, and exact closed 5 of 10
 *     (docs/results/exact.md, "Filtered smart branching").
 *
 * Max-pool splits (a max-pool's window whose best element, the one of largest lower bound, does not dominate: some
 * other element's upper bound exceeds its lower bound, so the pool's upper line is the constant v ≤ max of the
 * uppers). The split takes the window's element k of largest upper bound (the best's own included) and the midpoint
 * c between the window's largest lower bound and that upper bound: one child has x_k ≤ c, the other x_k ≥ c (clamps
 * of the pool's input, BoundsAsk.poolClamps; where a ReLU computes that input, also of its pre-activation, which is
 * then ≥ c > 0 or ≤ c). They cover the parent. In the first the window's largest upper bound falls to c (or to the
 * next element's), in the second its largest lower bound rises to c: the window's gap halves in either child until
 * its best element dominates and its relaxation is exact (a split at the best's lower bound would not shrink the gap
 * in its "≥" child). Measured on the random max-pool networks of test/properties/bab.test.ts. Its score, against the ReLUs':
 * the worst row's coefficient Λ on the pool's output times half the gap (c − lower of best), in full where Λ < 0
 * (the upper line's constant), a quarter where Λ > 0. A pool split changes the bounds after the pool, so its
 * children recompute their intermediate bounds; the multiplier sign follows the ReLU clamp where there is one (γ ≤ 0
 * where z ≥ c > 0). Each split constraint also gets a multiplier of its own (BoundsAsk.poolMultipliers: γ·(x_k − c),
 * γ ≤ 0 for x_k ≥ c, γ ≥ 0 for x_k ≤ c, optimised with the slopes and warm-started as they are). Without it the
 * clamp narrows k's bounds but not the linear bound's minimum over the box: the child whose best element becomes k
 * takes the lower line v ≥ x_k with x_k's unclamped minimum and gains nothing over its parent. Measured on the
 * random max-pool networks of test/properties/bab.test.ts (2 s a decision, radii at 0.5× and 0.9× the MILP's ρ):
 * without the multipliers max-pool splits proved none of the radii that ReLU splits left open; with them 11 of 16
 * against 9 of 16 with ReLU splits alone. BatchedBabOptions.poolSplits = false turns them off.
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
 * open subdomains. Its children start from those slopes and multipliers, and a ReLU split's children take its
 * intermediate bounds with the split as a clamp, without back-substituting intermediate layers again
 * (BoundsAsk.refine = false: the rows' pass alone). Those bounds hold on the child (a subset of the parent) but
 * ignore its split in the layers after it; the split itself is enforced by its clamp and its β multiplier. Children
 * of a max-pool split, of a parent that kept nothing, and a leaf whose bounds were inherited (nothing left to
 * split: bounded once more with its intermediate bounds recomputed, which may cross and refute it, before it ends
 * the search as unknown) back-substitute theirs, in a batch of their own. Only split neurons get a multiplier.
 * Measured on mnist_mlp (bench/bab.ts, the first 20 test digits, 10 s each, 16 proved by every variant, with the
 * float32 steering of optimise.ts): inheriting on every ReLU split, 6.5 s to the 16 proofs and a median of 1,870
 * subdomains a second; inheriting on a split in the last ReLU layer only (this code before), 9.3 s and 400 a
 * second; recomputing on every sixth split, 8.1 s and 910. (Before the steering, inheriting everywhere ran ~1,150
 * a second against ~580 and needed more time: 5.3 s to 6 proofs against 4.2 s.)
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
  /** Split max-pool windows too, each split constraint with a multiplier (header; default true). */
  readonly poolSplits?: boolean;
  /**
   * The same search whatever the machine's load (a budget in subdomains: nodeLimit): batches double every round
   * (4, 8, … maxBatch) instead of by the calls' durations, and the deadline only stops the search (a safety), never
   * shortens an optimisation or a batch. Default false: the batches follow the clock (header).
   */
  readonly deterministic?: boolean;
  /** The optimisation's iterations in float32, certified by one float64 call (OptimiseOptions.steer; default true). */
  readonly steer?: boolean;
  /**
   * How a ReLU to split is chosen (header, "Branching"): "babsr", the largest score alone; "fsb", the best of the
   * FSB_CANDIDATES largest scores by the children's bounds (filtered smart branching). Default "babsr";
   * DEFAULT_BATCHED_BAB's "fsb".
   */
  readonly branching?: "babsr" | "fsb";
  /**
   * Bounds that hold on the whole box (sound, float64): per ReLU layer (Engine.slopeLayers' order) of its
   * pre-activation, n values, and per max-pool layer (Engine.poolLayers') of its input. Every subdomain's clamps
   * start from them (a subdomain is a subset of the box), e.g. the reference's back-substitution of the layers the
   * engine leaves as intervals (root-bounds.ts deepRootBounds).
   */
  readonly rootBounds?: { readonly relu: readonly BoundsClamp[]; readonly pool: readonly BoundsClamp[] };
}

export const DEFAULT_BATCHED_BAB = {
  nodeLimit: 2_000_000,
  maxBatch: 2048,
  iterations: 5,
  rootIterations: 50,
  branching: "fsb",
} as const;

/** Inputs of at most this many values are split (the input box halved) rather than their ReLUs (header). */
export const INPUT_SPLIT_DIMENSIONS = 10;

/** Filtered smart branching: the candidates (largest BaBSR scores) whose children are bounded to choose one. */
export const FSB_CANDIDATES = 5;

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
  /** Subdomains split, by what they split: a ReLU, a max-pool window or the input box. */
  readonly splits: { readonly relu: number; readonly pool: number; readonly input: number };
  /** ReLU splits filtered smart branching chose over the largest score's (BatchedBabOptions.branching). */
  readonly reranked: number;
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

/** A max-pool split: the input element j of pool layer pi (Engine.poolLayers' index) ≥ at (above) or ≤ at. */
interface PoolSplit {
  readonly pi: number;
  readonly j: number;
  readonly at: number;
  readonly above: boolean;
}

type ReluBranch = { readonly kind: "relu"; readonly li: number; readonly j: number };

/** What a subdomain splits next. */
type Branch =
  | ReluBranch
  | { readonly kind: "input"; readonly j: number }
  | { readonly kind: "pool"; readonly pi: number; readonly j: number; readonly at: number };

/** A subdomain's input box (the root's, shared, where only ReLUs are split). */
interface Box {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

interface Domain {
  readonly splits: readonly Split[];
  readonly poolSplits: readonly PoolSplit[];
  readonly box: Box;
  /** Splits from the root (ReLU and input). */
  readonly level: number;
  /** min over open rows of the row's lower bound minus its threshold (≤ 0: open; ordering and reports only). */
  readonly value: number;
  /** R flags: rows proved on this subdomain. */
  readonly settled: Uint8Array;
  /**
   * R: each row's lower bound on this subdomain, the best of its own and its ancestors' (a bound over a parent holds
   * over the child, a subset; relaxations are not monotone: a max-pool split can change the pool's lower line to a
   * looser one).
   */
  readonly rowLower: Float64Array;
  /** The ReLU, max-pool window or input coordinate to split next; null: none. */
  readonly branch: Branch | null;
  /** The ReLU splits of largest score, best first (branch among them where it is a ReLU's; filtered smart branching). */
  readonly candidates: readonly ReluBranch[];
  /** The open row of lowest bound (index into the R rows), whose coefficients scored the candidates. */
  readonly worstRow: number;
  /** Its intermediate bounds are an ancestor's with its splits as clamps (inherited, not back-substituted again). */
  readonly inherited: boolean;
  /**
   * Per ReLU layer: its pre-activation bounds (n) and R·n slopes and multipliers its optimisation ended with (null:
   * none kept; its children then recompute their intermediate bounds).
   */
  readonly warm: {
    readonly pre: readonly BoundsClamp[];
    readonly alpha: Float32Array[];
    readonly gamma: Float32Array[];
    /** Per max-pool layer R·n_in: the pool multipliers (max-pool splits). */
    readonly poolGamma: Float32Array[];
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
  const poolSplits = o.poolSplits ?? true;
  // The max-pool layers: their windows, input sizes, and the ReLU layer (slope index) computing the input, if any.
  const pools = engine.poolLayers.map((id) => {
    const l = net.layers[id] as Extract<Layer, { kind: "maxpool" }>;
    return {
      windows: layerWindows(l),
      width: sizeOf(net.layers[l.input].shape),
      out: sizeOf(l.shape),
      relu: net.layers[l.input].kind === "relu" ? layers.indexOf(l.input) : -1,
    };
  });
  // Filtered smart branching needs the warm starts (optimise) and bounds ReLU splits only: not on max-pool networks.
  const fsb = o.branching === "fsb" && optimise && !inputSplit && pools.length === 0;
  const root: Box = { lower: Float64Array.from(lower), upper: Float64Array.from(upper) };
  const t = o.thresholds ?? new Float64Array(R);
  const warmSize =
    (R + 2) * widths.reduce((a, w) => a + w, 0) * 2 + (poolSplits ? R * pools.reduce((a, p) => a + p.width, 0) : 0);
  const splitCount = { relu: 0, pool: 0, input: 0 };
  let nodes = 0,
    calls = 0,
    depth = 0,
    perBox = 0,
    warmHeld = 0,
    reranked = 0;
  const done = (status: BatchedBabResult["status"], open: number, reason?: string): BatchedBabResult => ({
    status,
    nodes,
    calls,
    depth,
    splits: { ...splitCount },
    reranked,
    openValue: open,
    seconds: (performance.now() - t0) / 1000,
    ...(reason ? { reason } : {}),
  });

  interface Child {
    readonly splits: readonly Split[];
    readonly poolSplits: readonly PoolSplit[];
    readonly box: Box;
    readonly level: number;
    readonly parent: Domain | null;
    /** The parent itself again, with its intermediate bounds recomputed (a leaf whose bounds were inherited). */
    readonly refresh?: boolean;
  }

  /**
   * Whether a child takes its parent's intermediate bounds with its split as a clamp (no back-substitution of
   * layers): a ReLU split of a parent that kept its bounds (header, "Warm starts").
   */
  const inherits = (c: Child): boolean =>
    optimise &&
    !c.refresh &&
    c.parent?.warm !== null &&
    c.parent !== null &&
    c.box === c.parent.box &&
    c.poolSplits === c.parent.poolSplits &&
    c.splits.length > 0;

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
    // Every box's clamps start from the root's bounds where the caller gave them, else from none (∓∞).
    const start = (w: number, given: BoundsClamp | undefined): BoundsClamp => {
      const c = { lower: new Float64Array(B * w).fill(-Infinity), upper: new Float64Array(B * w).fill(Infinity) };
      if (given)
        for (let b = 0; b < B; b++) {
          c.lower.set(given.lower, b * w);
          c.upper.set(given.upper, b * w);
        }
      return c;
    };
    const clamps: BoundsClamp[] = widths.map((w, i) => start(w, o.rootBounds?.relu[i]));
    const poolClamps: BoundsClamp[] = pools.map((p, i) => start(p.width, o.rootBounds?.pool[i]));
    const warm = optimise && subs.some((c) => c.parent?.warm);
    const inherit = warm && subs.every(inherits);
    const alpha = warm ? widths.map((w) => new Float64Array(B * Ro * w).fill(-1)) : undefined;
    const gamma = warm ? widths.map((w) => new Float64Array(B * Ro * w)) : undefined;
    // The pool multipliers' signs from the max-pool splits (−1: x ≥ c; +1: x ≤ c), and their warm starts.
    const poolSigns = poolSplits ? pools.map((p) => new Int8Array(B * p.width)) : undefined;
    const poolGamma = poolSplits && warm ? pools.map((p) => new Float64Array(B * Ro * p.width)) : undefined;
    subs.forEach(({ splits, poolSplits, box, parent }, b) => {
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
      for (const s of poolSplits) {
        const p = pools[s.pi],
          k = b * p.width + s.j;
        const lo = poolClamps[s.pi].lower as Float64Array,
          hi = poolClamps[s.pi].upper as Float64Array;
        if (s.above) lo[k] = Math.max(lo[k], s.at);
        else hi[k] = Math.min(hi[k], s.at);
        if (poolSigns) poolSigns[s.pi][k] = s.above ? -1 : 1;
        if (p.relu < 0) continue;
        // A ReLU computes the pool's input: x ≥ c > 0 is its pre-activation z ≥ c, x ≤ c (c ≥ 0) is z ≤ c.
        const w = widths[p.relu],
          q = b * w + s.j;
        const zlo = clamps[p.relu].lower as Float64Array,
          zhi = clamps[p.relu].upper as Float64Array;
        if (s.above) {
          zlo[q] = Math.max(zlo[q], s.at);
          if (s.at > 0 && signs[p.relu][q] === 0) signs[p.relu][q] = -1;
        } else zhi[q] = Math.min(zhi[q], s.at);
      }
      if (parent?.warm)
        widths.forEach((w, i) =>
          open.forEach((r, k) => {
            alpha![i].set(parent.warm!.alpha[i].subarray(r * w, (r + 1) * w), (b * Ro + k) * w);
            gamma![i].set(parent.warm!.gamma[i].subarray(r * w, (r + 1) * w), (b * Ro + k) * w);
          }),
        );
      if (parent?.warm && poolGamma)
        pools.forEach((p, i) =>
          open.forEach((r, k) =>
            poolGamma[i].set(
              parent.warm!.poolGamma[i].subarray(r * p.width, (r + 1) * p.width),
              (b * Ro + k) * p.width,
            ),
          ),
        );
    });
    const started = performance.now();
    let res: Pick<EngineBoxBounds, "lower" | "preActivation" | "coefficients" | "poolInput" | "poolCoefficients">,
      ended: { alpha: Float64Array[]; gamma: Float64Array[]; poolGamma: Float64Array[] } | null = null;
    if (optimise) {
      const r = await optimisedBounds(engine, net, lo, hi, G, Ro, B, {
        iterations,
        target,
        settled,
        clamps,
        coefficients: true,
        refine: !inherit,
        multiplierSigns: signs,
        ...(pools.length > 0 ? { poolClamps } : {}),
        ...(poolSigns ? { poolMultiplierSigns: poolSigns } : {}),
        ...(poolGamma ? { poolMultipliers: poolGamma } : {}),
        ...(o.deterministic ? {} : { deadline: o.deadline }),
        ...(alpha ? { rowSlopes: alpha, multipliers: gamma } : {}),
        ...(o.steer !== undefined ? { steer: o.steer } : {}),
      });
      calls += r.calls;
      res = r;
      ended = { alpha: r.rowSlopes, gamma: r.multipliers, poolGamma: r.poolMultipliers };
    } else {
      res = await engine.bounds(lo, hi, G, Ro, B, undefined, clamps, {
        coefficients: true,
        ...(pools.length > 0 ? { poolClamps } : {}),
      });
      calls++;
    }
    perBox = (performance.now() - started) / 1000 / B;
    nodes += B;
    return subs.map(({ splits, poolSplits, box, level, parent }, b) => {
      const mine = parent ? parent.settled.slice() : new Uint8Array(R);
      const rowLower = parent ? parent.rowLower.slice() : new Float64Array(R).fill(-Infinity);
      for (let k = 0; k < Ro; k++) rowLower[open[k]] = Math.max(rowLower[open[k]], res.lower[b * Ro + k]);
      // worst: the batch row (k) of the open row with the lowest bound above its threshold.
      let worst = -1;
      const gap = (k: number) => rowLower[open[k]] - target[k];
      for (let k = 0; k < Ro; k++) {
        if (mine[open[k]]) continue;
        // Proved where the bound exceeds the threshold (compared, not subtracted: no rounding).
        if (rowLower[open[k]] > target[k]) mine[open[k]] = 1;
        else if (worst < 0 || gap(k) < gap(worst)) worst = k;
      }
      if (worst < 0) return null;
      const value = gap(worst);
      let best: Branch | null = null,
        bestScore = 0,
        wide: Branch | null = null,
        wideW = -1,
        unstable = false;
      const top: { score: number; br: ReluBranch }[] = [];
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
            wide = { kind: "relu", li, j };
          }
          const lam = coef[(b * Ro + worst) * w + j],
            h = (-l * u) / (u - l);
          const score = lam < 0 ? -lam * h : 0.5 * lam * h;
          if (score > bestScore) {
            bestScore = score;
            best = { kind: "relu", li, j };
          }
          // The FSB candidates: the largest scores, best first (kept only where they are compared).
          if (fsb && score > 0 && (top.length < FSB_CANDIDATES || score > top[top.length - 1].score)) {
            let at = top.length;
            while (at > 0 && top[at - 1].score < score) at--;
            top.splice(at, 0, { score, br: { kind: "relu", li, j } });
            if (top.length > FSB_CANDIDATES) top.pop();
          }
        }
      }
      for (let pi = 0; pi < (poolSplits ? pools.length : 0); pi++) {
        const p = pools[pi],
          pl = res.poolInput![pi].lower,
          pu = res.poolInput![pi].upper,
          coef = res.coefficients ? res.poolCoefficients![pi] : null;
        const { indptr, indices } = p.windows;
        for (let win = 0; win < p.out; win++) {
          // best: the first element of largest lower bound bl (the graph's choice); others: the largest upper bound
          // but best's (dominated where ≤ bl); top: the first element of largest upper bound tu (best's included).
          let bi = -1,
            bl = -Infinity,
            others = -Infinity,
            top = -1,
            tu = -Infinity;
          for (let e = indptr[win]; e < indptr[win + 1]; e++) {
            const x = b * p.width + indices[e];
            if (pl[x] > pu[x]) return null; // the splits leave no input
            if (pl[x] > bl) {
              bl = pl[x];
              bi = e;
            }
            if (pu[x] > tu) {
              tu = pu[x];
              top = e;
            }
          }
          for (let e = indptr[win]; e < indptr[win + 1]; e++)
            if (e !== bi) others = Math.max(others, pu[b * p.width + indices[e]]);
          if (!(others > bl)) continue; // dominated: the relaxation is exact
          unstable = true;
          const at = bl + (tu - bl) / 2;
          if (!(at > bl && at < tu)) continue; // the gap is below float64's resolution
          const branch: Branch = { kind: "pool", pi, j: indices[top], at };
          if (tu - bl > wideW) {
            wideW = tu - bl;
            wide = branch;
          }
          const lam = coef ? coef[(b * Ro + worst) * p.out + win] : 0;
          const score = (lam < 0 ? -lam : 0.25 * lam) * ((tu - bl) / 2);
          if (score > bestScore) {
            bestScore = score;
            best = branch;
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
          poolGamma: poolSplits
            ? pools.map((p, i) => {
                const g = new Float32Array(R * p.width);
                open.forEach((r, k) =>
                  g.set(ended!.poolGamma[i].subarray((b * Ro + k) * p.width, (b * Ro + k + 1) * p.width), r * p.width),
                );
                return g;
              })
            : [],
        };
      }
      return {
        splits,
        poolSplits,
        box,
        level,
        value,
        settled: mine,
        rowLower,
        branch: inputSplit ? (unstable ? widestInput(box, root) : null) : (best ?? wide),
        // Compared only where the best split is a ReLU's (a max-pool split's children are not bounded alike here).
        candidates: !inputSplit && best?.kind === "relu" && top.length > 1 ? top.map((c) => c.br) : [],
        worstRow: open[worst],
        inherited: inherit,
        warm: keep,
      };
    });
  };

  /**
   * Filtered smart branching (header, "Branching"): the children of every candidate split of the popped subdomains,
   * bounded in one float32 call of the rows' pass alone (a subdomain's intermediate bounds as clamps, the split's
   * clamp added; its worst row with its warm slopes and multipliers). Per subdomain, the candidate whose children's
   * smaller bound is largest (the first of a tie: BaBSR's order). It only chooses; nothing it computes is a bound.
   */
  const chooseBranches = async (popped: readonly Domain[]): Promise<Map<Domain, Branch>> => {
    const chosen = new Map<Domain, Branch>();
    const ds = popped.filter((d) => d.candidates.length > 1 && d.warm !== null);
    const M = ds.reduce((a, d) => a + 2 * d.candidates.length, 0);
    if (M === 0) return chosen;
    const lo = new Float64Array(M * n),
      hi = new Float64Array(M * n),
      G = new Float64Array(M * K);
    const clamps = widths.map((w) => ({ lower: new Float64Array(M * w), upper: new Float64Array(M * w) }));
    const alpha = widths.map((w) => new Float64Array(M * w)),
      gamma = widths.map((w) => new Float64Array(M * w));
    let m = 0;
    for (const d of ds) {
      const r = d.worstRow,
        warm = d.warm!;
      for (const c of d.candidates)
        for (const active of [true, false]) {
          lo.set(d.box.lower, m * n);
          hi.set(d.box.upper, m * n);
          G.set(rows.subarray(r * K, (r + 1) * K), m * K);
          widths.forEach((w, i) => {
            clamps[i].lower.set(warm.pre[i].lower, m * w);
            clamps[i].upper.set(warm.pre[i].upper, m * w);
            alpha[i].set(warm.alpha[i].subarray(r * w, (r + 1) * w), m * w);
            gamma[i].set(warm.gamma[i].subarray(r * w, (r + 1) * w), m * w);
          });
          const k = m * widths[c.li] + c.j;
          if (active) clamps[c.li].lower[k] = Math.max(clamps[c.li].lower[k], 0);
          else clamps[c.li].upper[k] = Math.min(clamps[c.li].upper[k], 0);
          m++;
        }
    }
    const res = await engine.bounds(lo, hi, G, 1, M, undefined, clamps, {
      refine: false,
      intervals: false,
      steer: true,
      rowSlopes: alpha,
      multipliers: gamma,
    });
    calls++;
    // A child whose clamped bounds cross holds no input: it costs nothing (+∞).
    const childBound = (b: number): number => {
      for (let i = 0; i < widths.length; i++) {
        const w = widths[i],
          { lower: pl, upper: pu } = res.preActivation[i];
        for (let j = b * w; j < (b + 1) * w; j++) if (pl[j] > pu[j]) return Infinity;
      }
      return Number.isNaN(res.lower[b]) ? -Infinity : res.lower[b];
    };
    m = 0;
    for (const d of ds) {
      let best = -Infinity,
        pick: Branch = d.branch!;
      for (const c of d.candidates) {
        const v = Math.min(childBound(m), childBound(m + 1));
        m += 2;
        if (v > best) {
          best = v;
          pick = c;
        }
      }
      chosen.set(d, pick);
      if (pick !== d.branch) reranked++;
    }
    return chosen;
  };

  const [top] = await evaluate([{ splits: [], poolSplits: [], box: root, level: 0, parent: null }], o.rootIterations);
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
    // A leaf (nothing left to split) is final only with intermediate bounds of its own: an inherited one is bounded
    // again with them recomputed (they may cross: an empty subdomain), as a child of itself.
    const leaf = popped.find((d) => d.branch === null && !d.inherited);
    if (leaf)
      return done(
        "unknown",
        Math.min(leaf.value, ...popped.map((d) => d.value)),
        inputSplit
          ? "a sub-box with every ReLU stable is not refuted (its bound is the exact minimum, up to the pad)"
          : "a subdomain with no unstable ReLU left is not refuted",
      );
    const chosen = fsb ? await chooseBranches(popped) : null;
    for (const d of popped) if (d.warm) warmHeld -= warmSize;
    const children: Child[] = popped.flatMap((d): Child[] => {
      if (d.branch === null)
        return [{ splits: d.splits, poolSplits: d.poolSplits, box: d.box, level: d.level, parent: d, refresh: true }];
      const br = chosen?.get(d) ?? d.branch,
        level = d.level + 1;
      splitCount[br.kind]++;
      const common = { splits: d.splits, poolSplits: d.poolSplits, box: d.box, level, parent: d };
      switch (br.kind) {
        case "input":
          return halves(d.box, br.j).map((box) => ({ ...common, box }));
        case "pool":
          return [true, false].map((above) => ({
            ...common,
            poolSplits: [...d.poolSplits, { pi: br.pi, j: br.j, at: br.at, above }],
          }));
        case "relu":
          return [true, false].map((active) => ({
            ...common,
            splits: [...d.splits, { li: br.li, j: br.j, active }],
          }));
      }
    });
    depth = Math.max(depth, ...children.map((c) => c.level));
    const t = performance.now();
    // The children that take their parent's intermediate bounds, and those that recompute them, in two batches.
    for (const group of [children.filter(inherits), children.filter((c) => !inherits(c))])
      if (group.length > 0) for (const c of await evaluate(group, o.iterations)) if (c) heap.push(c);
    if (o.deterministic || (performance.now() - t) / 1000 < CALL_SECONDS) batch = Math.min(o.maxBatch, batch * 2);
  }
  return done("unsat", Infinity);
}

/** The input coordinate to halve: the widest relative to the root box's width (the first of a tie). */
function widestInput(box: Box, root: Box): Branch | null {
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
  return j < 0 ? null : { kind: "input", j };
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
