// The engine's bounds (Engine.bounds, compiler/engine/types.ts) on both backends, and the wrapper that gives a
// backend's forward/vjp engine (EngineCore) its bounds:
//   reference    today's float64 loops, one box at a time: tightBounds (IBP, then every ReLU and max-pool input
//                back-substituted within ENGINE_BACKSUB_WORK, outputs = false, as the bracket's lower bound uses
//                it) and backsub of the
//                rows G over the logits, lower side only (exclude.ts's boundsProve path), with the caller's
//                slopes; where back-substitution is refused as too costly, the interval bound of G·y

import * as ort from "onnxruntime-node";
import {
  backsub,
  BOUNDS_IO,
  boundsGraph,
  boundsGraphRefusal,
  ENGINE_BACKSUB_WORK,
  poolLayers,
  prefixNetwork,
  reluLayers,
  sizeOf,
  tightBounds,
  unwrap,
  type BatchData,
  type BoundsAsk,
  type BoundsClamp,
  type Engine,
  type EngineBackend,
  type EngineBoxBounds,
  type EngineCore,
  type EngineOptions,
  type Network,
  type NetworkMatrices,
} from "../../compiler/index.js";
import { engineSession } from "./onnxruntime.js";

/*
 * Design notes:
 *   onnxruntime  the bounds graph (compiler/engine/bounds-graph.ts, float64, padded in the graph) in one
 *                session per engine, created on first use; a batch goes through in chunks of BOUNDS_CHUNK boxes.
 *                A network the graph does not cover (a matrix too large to make dense) gets the reference's
 *                bounds: Engine.boundsBackend and boundsFallback say so.
 */

type BoundsFn = Engine["bounds"];
/** The bounds graph's arithmetic: float64 certifies, float32 steers (BoundsAsk.steer). */
type Precision = "float64" | "float32";

/** Boxes per session.run of the bounds graph (see OnnxRuntimeBounds.bounds). */
export const BOUNDS_CHUNK = 8;
/**
 * Boxes per session.run where no intermediate layer is back-substituted (BoundsAsk.refine = false: the rows' pass
 * alone, temporaries [boxes, R, width]): on mnist_mlp's batched branch and bound ~10% more subdomains a second at
 * 32 than at 8, no more at 128.
 */
const ROWS_ONLY_CHUNK = 32;

function check(data: BatchData, count: number, what: string): void {
  if (data.length !== count) throw new Error(`internal: ${what} of ${data.length} values, expected ${count}`);
}

function checkCall(
  net: Network,
  layers: readonly number[],
  lower: BatchData,
  upper: BatchData,
  rows: BatchData,
  R: number,
  B: number,
  slopes?: readonly BatchData[],
  clamps?: readonly BoundsClamp[],
  request?: BoundsAsk,
): void {
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(R) || R < 1)
    throw new Error(`internal: bounds for a batch of ${B} boxes and ${R} rows`);
  const n = sizeOf(net.inputShape),
    K = sizeOf(net.layers[net.output].shape);
  check(lower, B * n, "box lower ends");
  check(upper, B * n, "box upper ends");
  check(rows, B * R * K, "rows");
  if (slopes) {
    if (slopes.length !== layers.length)
      throw new Error(`internal: ${slopes.length} slope arrays for ${layers.length} ReLU layers`);
    slopes.forEach((s, i) => check(s, B * sizeOf(net.layers[layers[i]].shape), `slopes of layer ${layers[i]}`));
  }
  if (clamps) {
    if (clamps.length !== layers.length)
      throw new Error(`internal: ${clamps.length} clamp pairs for ${layers.length} ReLU layers`);
    clamps.forEach((c, i) => {
      const w = B * sizeOf(net.layers[layers[i]].shape);
      check(c.lower, w, `clamp lower ends of layer ${layers[i]}`);
      check(c.upper, w, `clamp upper ends of layer ${layers[i]}`);
    });
  }
  if (request?.poolClamps) {
    const pools = poolLayers(net);
    if (request.poolClamps.length !== pools.length)
      throw new Error(`internal: ${request.poolClamps.length} pool clamp pairs for ${pools.length} max-pool layers`);
    request.poolClamps.forEach((c, i) => {
      const w = B * sizeOf(net.layers[(net.layers[pools[i]] as { input: number }).input].shape);
      check(c.lower, w, `pool clamp lower ends of layer ${pools[i]}`);
      check(c.upper, w, `pool clamp upper ends of layer ${pools[i]}`);
    });
  }
  if (request?.poolMultipliers) {
    const pools = poolLayers(net);
    if (request.poolMultipliers.length !== pools.length)
      throw new Error(
        `internal: ${request.poolMultipliers.length} pool multiplier arrays for ${pools.length} max-pools`,
      );
    request.poolMultipliers.forEach((a, i) =>
      check(a, B * R * sizeOf(net.layers[(net.layers[pools[i]] as { input: number }).input].shape), "pool multipliers"),
    );
  }
  for (const [what, arrays] of [
    ["row slopes", request?.rowSlopes],
    ["multipliers", request?.multipliers],
  ] as const) {
    if (!arrays) continue;
    if (arrays.length !== layers.length)
      throw new Error(`internal: ${arrays.length} arrays of ${what} for ${layers.length} ReLU layers`);
    arrays.forEach((a, i) => check(a, B * R * sizeOf(net.layers[layers[i]].shape), `${what} of layer ${layers[i]}`));
  }
}

/** The reference backend's bounds: one box at a time through tightBounds and backsub (float64 loops). */
export function referenceBounds(net: Network, m: NetworkMatrices): BoundsFn {
  const layers = reluLayers(net),
    pools = poolLayers(net);
  const inputOf = (id: number) => (net.layers[id] as { input: number }).input;
  const poolIn = pools.map((id) => sizeOf(net.layers[inputOf(id)].shape)),
    poolOut = pools.map((id) => sizeOf(net.layers[id].shape));
  const n = sizeOf(net.inputShape),
    K = sizeOf(net.layers[net.output].shape);
  return async (lower, upper, rows, R, B, slopes, clamps, request) => {
    checkCall(net, layers, lower, upper, rows, R, B, slopes, clamps, request);
    if (request?.rowSlopes || request?.multipliers || request?.poolMultipliers || request?.relaxed)
      throw new Error("internal: row slopes, multipliers and ẑ are the bounds graph's (Engine.optimisable)");
    const work = request?.refine === false || request?.intervals === false ? 0 : ENGINE_BACKSUB_WORK;
    const coefficients = request?.coefficients
      ? layers.map((id) => new Float64Array(B * R * sizeOf(net.layers[id].shape)))
      : undefined;
    const poolCoefficients = request?.coefficients ? poolOut.map((w) => new Float64Array(B * R * w)) : undefined;
    const poolInput = poolIn.map((w) => ({ lower: new Float64Array(B * w), upper: new Float64Array(B * w) }));
    const out = new Float64Array(B * R);
    const pre = layers.map((id) => {
      const w = sizeOf(net.layers[id].shape);
      return { lower: new Float64Array(B * w), upper: new Float64Array(B * w) };
    });
    for (let b = 0; b < B; b++) {
      const chosen = slopes
        ? new Map(
            layers.map((id, i) => {
              const w = sizeOf(net.layers[id].shape);
              return [id, slopes[i].subarray(b * w, (b + 1) * w)] as const;
            }),
          )
        : undefined;
      const box = (d: BatchData) => Float64Array.from(d.subarray(b * n, (b + 1) * n));
      const known =
        clamps || request?.poolClamps ? new Map<number, { lower: Float64Array; upper: Float64Array }>() : undefined;
      const clampAt = (inp: number, c: BoundsClamp, w: number) => {
        const part = (d: BatchData) => Float64Array.from(d.subarray(b * w, (b + 1) * w));
        const lo = part(c.lower),
          hi = part(c.upper);
        // Two clamps on one layer (a ReLU's output read by a pool is not a pre-activation, but guard anyway).
        const e = known!.get(inp);
        if (e)
          for (let j = 0; j < w; j++) {
            lo[j] = Math.max(lo[j], e.lower[j]);
            hi[j] = Math.min(hi[j], e.upper[j]);
          }
        known!.set(inp, { lower: lo, upper: hi });
      };
      clamps?.forEach((c, i) => clampAt(inputOf(layers[i]), c, sizeOf(net.layers[layers[i]].shape)));
      request?.poolClamps?.forEach((c, i) => clampAt(inputOf(pools[i]), c, poolIn[i]));
      const bounds = tightBounds(net, m, box(lower), box(upper), work, false, chosen, known);
      const G = Float64Array.from(rows.subarray(b * R * K, (b + 1) * R * K));
      const probe = coefficients
        ? (id: number, L: Float64Array) => {
            const i = layers.indexOf(id);
            if (i >= 0) coefficients[i].set(L, b * L.length);
            const k = pools.indexOf(id);
            if (k >= 0) poolCoefficients![k].set(L, b * L.length);
          }
        : undefined;
      const r = backsub(net, m, bounds, net.output, G, new Float64Array(R), R, undefined, true, probe, chosen);
      const y = bounds[net.output];
      for (let i = 0; i < R; i++) {
        if (r) out[b * R + i] = r.lower[i];
        else {
          // The interval bound of G·y (rounding pad as exclude.ts's interval test: 1e-9 relative).
          let lo = 0,
            mag = 0;
          for (let k = 0; k < K; k++) {
            const g = G[i * K + k];
            lo += Math.min(g * y.lower[k], g * y.upper[k]);
            mag += Math.abs(g) * Math.max(Math.abs(y.lower[k]), Math.abs(y.upper[k]));
          }
          out[b * R + i] = lo - 1e-9 * (1 + mag);
        }
      }
      layers.forEach((id, i) => {
        const inp = (net.layers[id] as { input: number }).input,
          w = sizeOf(net.layers[id].shape);
        pre[i].lower.set(bounds[inp].lower, b * w);
        pre[i].upper.set(bounds[inp].upper, b * w);
      });
      pools.forEach((id, i) => {
        poolInput[i].lower.set(bounds[inputOf(id)].lower, b * poolIn[i]);
        poolInput[i].upper.set(bounds[inputOf(id)].upper, b * poolIn[i]);
      });
    }
    return {
      lower: out,
      preActivation: pre,
      poolInput,
      ...(coefficients ? { coefficients, poolCoefficients } : {}),
    };
  };
}

/** The onnxruntime backend's bounds: the bounds graph in a session created on first use (one per variant). */
export class OnnxRuntimeBounds {
  /** One session per variant (plain or optimisable, refining or not), each generated when first asked for. */
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly layers: number[];
  private readonly pools: number[];
  private readonly defaults = new Map<string, Float64Array | Float32Array>();

  constructor(
    readonly net: Network,
    private readonly m: NetworkMatrices,
    private readonly options: EngineOptions = {},
  ) {
    this.layers = reluLayers(net);
    this.pools = poolLayers(net);
  }

  /**
   * The bounds of a network the graph covers (callers check boundsGraphRefusal first). The graph is generated when
   * first used (mnist_lenet's takes ~0.3 s and 16 MB: a run that never asks for bounds does not pay it).
   */
  static create(net: Network, m: NetworkMatrices, options: EngineOptions = {}): OnnxRuntimeBounds {
    return new OnnxRuntimeBounds(net, m, options);
  }

  private open(
    optimisable: boolean,
    refine: boolean,
    intervals: boolean,
    precision: Precision,
  ): Promise<ort.InferenceSession> {
    const key = `${optimisable}:${refine}:${intervals}:${precision}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = engineSession(
        unwrap(boundsGraph(this.net, this.m, { optimisable, refine, intervals, precision })),
        this.options.threads ?? 1,
        precision === "float64",
      );
      this.sessions.set(key, s);
    }
    return s;
  }

  /** `count` copies of v (reused): −1 slopes are DeepPoly's choice, ∓∞ clamps none. */
  private fill(count: number, v: number, precision: Precision): Float64Array | Float32Array {
    const key = `${v}:${count}:${precision}`;
    let d = this.defaults.get(key);
    if (!d)
      this.defaults.set(
        key,
        (d = (precision === "float64" ? new Float64Array(count) : new Float32Array(count)).fill(v)),
      );
    return d;
  }

  readonly bounds: BoundsFn = async (lower, upper, rows, R, B, slopes, clamps, request) => {
    const net = this.net;
    checkCall(net, this.layers, lower, upper, rows, R, B, slopes, clamps, request);
    const withCoefs = request?.coefficients ?? false,
      withRelaxed = request?.relaxed ?? false;
    const optimisable =
      withCoefs ||
      withRelaxed ||
      request?.rowSlopes !== undefined ||
      request?.multipliers !== undefined ||
      request?.poolMultipliers !== undefined;
    const n = sizeOf(net.inputShape),
      K = sizeOf(net.layers[net.output].shape);
    const widths = this.layers.map((id) => sizeOf(net.layers[id].shape));
    const poolIn = this.pools.map((id) => sizeOf(net.layers[(net.layers[id] as { input: number }).input].shape)),
      poolOut = this.pools.map((id) => sizeOf(net.layers[id].shape));
    const out: EngineBoxBounds = {
      lower: new Float64Array(B * R),
      preActivation: widths.map((w) => ({ lower: new Float64Array(B * w), upper: new Float64Array(B * w) })),
      poolInput: poolIn.map((w) => ({ lower: new Float64Array(B * w), upper: new Float64Array(B * w) })),
      ...(withCoefs
        ? {
            coefficients: widths.map((w) => new Float64Array(B * R * w)),
            poolCoefficients: poolOut.map((w) => new Float64Array(B * R * w)),
          }
        : {}),
      ...(withRelaxed
        ? {
            relaxed: widths.map((w) => new Float64Array(B * R * w)),
            poolRelaxed: poolIn.map((w) => new Float64Array(B * R * w)),
          }
        : {}),
    };
    const precision: Precision = request?.steer ? "float32" : "float64";
    const intervals = request?.intervals ?? true;
    const s = await this.open(optimisable, intervals && (request?.refine ?? true), intervals, precision);
    // The batch goes through in chunks of BOUNDS_CHUNK boxes: the graph's largest temporaries are
    // [boxes, 2·width, input size] (mnist_mlp: 1.25 MB per box), and per box it runs ~2.5× slower at 256 boxes
    // at once than at 8 (memory, not arithmetic); a session.run costs ~60 µs, ~1% of 8 boxes.
    const chunk = request?.refine === false || !intervals ? ROWS_ONLY_CHUNK : BOUNDS_CHUNK;
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const b1 = Math.min(B, b0 + chunk),
        c = b1 - b0;
      const part = (d: BatchData, w: number) => {
        const v = d.subarray(b0 * w, b1 * w);
        if (precision === "float32") return v instanceof Float32Array ? v : Float32Array.from(v);
        return v instanceof Float64Array ? v : Float64Array.from(v);
      };
      const fill = (count: number, v: number) => this.fill(count, v, precision);
      const feeds: Record<string, ort.Tensor> = {
        [BOUNDS_IO.lower]: new ort.Tensor(precision, part(lower, n), [c, n]),
        [BOUNDS_IO.upper]: new ort.Tensor(precision, part(upper, n), [c, n]),
        [BOUNDS_IO.rows]: new ort.Tensor(precision, part(rows, R * K), [c, R, K]),
      };
      this.layers.forEach((id, i) => {
        const w = widths[i];
        feeds[BOUNDS_IO.slopes(id)] = new ort.Tensor(precision, slopes ? part(slopes[i], w) : fill(c * w, -1), [c, w]);
        const clamp = (side: "lower" | "upper", v: number) =>
          new ort.Tensor(precision, clamps ? part(clamps[i][side], w) : fill(c * w, v), [c, w]);
        feeds[BOUNDS_IO.clampLower(id)] = clamp("lower", -Infinity);
        feeds[BOUNDS_IO.clampUpper(id)] = clamp("upper", Infinity);
        if (optimisable) {
          const perRow = (given: readonly BatchData[] | undefined, v: number) =>
            new ort.Tensor(precision, given ? part(given[i], R * w) : fill(c * R * w, v), [c, R, w]);
          feeds[BOUNDS_IO.rowSlopes(id)] = perRow(request?.rowSlopes, -1);
          feeds[BOUNDS_IO.multipliers(id)] = perRow(request?.multipliers, 0);
        }
      });
      this.pools.forEach((id, i) => {
        const w = poolIn[i],
          given = request?.poolClamps?.[i];
        feeds[BOUNDS_IO.clampLower(id)] = new ort.Tensor(
          precision,
          given ? part(given.lower, w) : fill(c * w, -Infinity),
          [c, w],
        );
        feeds[BOUNDS_IO.clampUpper(id)] = new ort.Tensor(
          precision,
          given ? part(given.upper, w) : fill(c * w, Infinity),
          [c, w],
        );
        if (optimisable) {
          const given = request?.poolMultipliers?.[i];
          feeds[BOUNDS_IO.multipliers(id)] = new ort.Tensor(
            precision,
            given ? part(given, R * w) : fill(c * R * w, 0),
            [c, R, w],
          );
        }
      });
      const res = await s.run(feeds);
      const put = (name: string, into: Float64Array, w: number) => {
        const t = res[name];
        into.set(t.data as Float64Array | Float32Array, b0 * w);
        t.dispose?.();
      };
      put(BOUNDS_IO.bound, out.lower as Float64Array, R);
      this.layers.forEach((id, i) => {
        if (out.coefficients) put(BOUNDS_IO.coefficients(id), out.coefficients[i], R * widths[i]);
        if (out.relaxed) put(BOUNDS_IO.relaxed(id), out.relaxed[i], R * widths[i]);
      });
      this.layers.forEach((id, i) => {
        put(BOUNDS_IO.preLower(id), out.preActivation[i].lower as Float64Array, widths[i]);
        put(BOUNDS_IO.preUpper(id), out.preActivation[i].upper as Float64Array, widths[i]);
      });
      this.pools.forEach((id, i) => {
        put(BOUNDS_IO.preLower(id), out.poolInput![i].lower as Float64Array, poolIn[i]);
        put(BOUNDS_IO.preUpper(id), out.poolInput![i].upper as Float64Array, poolIn[i]);
        if (out.poolCoefficients) put(BOUNDS_IO.coefficients(id), out.poolCoefficients[i], R * poolOut[i]);
        if (out.poolRelaxed) put(BOUNDS_IO.relaxed(id), out.poolRelaxed[i], R * poolIn[i]);
      });
    }
    return out;
  };

  async dispose(): Promise<void> {
    const open = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of open) await (await s).release();
  }
}

/** A backend's engine with its bounds (openEngine): forward, vjp and dispose go to the backend's core. */
export class EngineWithBounds implements Engine {
  readonly boundsBackend: EngineBackend;
  readonly boundsFallback?: string;
  readonly slopeLayers: readonly number[];
  readonly poolLayers: readonly number[];
  readonly optimisable: boolean;
  readonly bounds: BoundsFn;
  private readonly ortBounds: OnnxRuntimeBounds | null;
  private readonly prefixes = new Map<number, Engine>();

  /** `open` opens an engine of another network on this one's backend and options (prefix). */
  constructor(
    private readonly core: EngineCore,
    private readonly net: Network,
    private readonly m: NetworkMatrices,
    options: EngineOptions = {},
    private readonly open?: (net: Network, m: NetworkMatrices) => Engine,
  ) {
    this.slopeLayers = reluLayers(net);
    this.poolLayers = poolLayers(net);
    const refusal = core.backend === "onnxruntime" ? boundsGraphRefusal(net) : null;
    if (core.backend === "onnxruntime" && refusal === null) {
      this.ortBounds = OnnxRuntimeBounds.create(net, m, options);
      this.boundsBackend = "onnxruntime";
      this.bounds = this.ortBounds.bounds;
      this.optimisable = true;
    } else {
      this.optimisable = false;
      this.ortBounds = null;
      this.boundsBackend = "reference";
      if (refusal !== null) this.boundsFallback = `bounds by the reference backend: ${refusal}`;
      this.bounds = referenceBounds(net, m);
    }
  }

  get backend() {
    return this.core.backend;
  }
  get dtype() {
    return this.core.dtype;
  }
  get inputSize() {
    return this.core.inputSize;
  }
  get outputSize() {
    return this.core.outputSize;
  }
  forward(x: BatchData, batch: number) {
    return this.core.forward(x, batch);
  }
  vjp(x: BatchData, weights: BatchData, batch: number) {
    return this.core.vjp(x, weights, batch);
  }
  prefix(layer: number): Engine {
    let e = this.prefixes.get(layer);
    if (!e) {
      if (!this.open) throw new Error("internal: an engine opened without openEngine has no prefixes");
      const m = { csr: this.m.csr.slice(0, layer + 1), bias: this.m.bias.slice(0, layer + 1) };
      this.prefixes.set(layer, (e = this.open(prefixNetwork(this.net, layer), m)));
    }
    return e;
  }
  async dispose(): Promise<void> {
    const prefixes = [...this.prefixes.values()];
    this.prefixes.clear();
    for (const e of prefixes) await e.dispose();
    await this.ortBounds?.dispose();
    await this.core.dispose();
  }
}

export type { EngineBoxBounds };
