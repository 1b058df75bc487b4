// The pass order, in one place (buildPipeline), with every ordering constraint stated where it binds.
// compilePoint runs it for one seed point x* and returns, per target label, the LpModel and the inverse map
// from an LP solution back to the model input; compileNetwork runs its first pass alone (no seed point, no
// target): the base LPs of the bounds layer and of branch and bound. Every LP robustc solves is built here.

import type { Network } from "../ir/network.js";
import type { Problem } from "../ir/constraint.js";
import type { LpModel } from "../backend/lp-model.js";
import { encode, type Encoding } from "./encode.js";
import { evaluate, type Evaluated } from "./evaluate.js";
import { selectDisjuncts } from "./select-disjuncts.js";
import { patternItems } from "../nonlinear/index.js";
import { patternAt } from "../analysis/trace.js";
import { addTarget, rankLabels, targetLabels } from "./target-label.js";
import { linearizeLinf, T_VAR } from "./linearize-linf.js";
import { eliminate } from "./eliminate.js";
import { toLpModel } from "./to-lp-model.js";
import { bigM } from "./big-m.js";
import { relaxDisjuncts } from "./relax.js";
import { intervalBounds, type LayerBounds } from "../analysis/bounds/interval.js";
import type { RelaxStats } from "./relax.js";
import type { BigMStats } from "./big-m.js";
import type { CompileOptions, Mode } from "./options.js";

/** One pass over the problem: the new problem and the map from its solutions to the old one's. */
export interface PassResult {
  readonly problem: Problem;
  readonly inverse: (sol: Float64Array) => Float64Array;
}
export interface Pass {
  readonly name: string;
  run(p: Problem, ctx: PassContext): PassResult;
}

export interface PassContext {
  readonly net: Network;
  readonly encoding: Encoding;
  readonly xStar: Float64Array;
  readonly evaluated: Evaluated;
  readonly label: number;
  readonly options: CompileOptions;
  /** Sound bounds of every layer the exact and relax modes encode on (default: intervals of the radius box). */
  readonly bounds?: readonly LayerBounds[];
}

const identity = (s: Float64Array) => s;

/** The bounds the exact and relax rows hold on: the caller's, or the radius box's sound interval bounds. */
function radiusBounds(ctx: PassContext): readonly LayerBounds[] {
  if (ctx.bounds) return ctx.bounds;
  const o = ctx.options,
    r = o.radius;
  const lo = ctx.xStar.map((v) => Math.max(o.pixelMin / o.pixelScale, v - r));
  const hi = ctx.xStar.map((v) => Math.min(o.pixelMax / o.pixelScale, v + r));
  return intervalBounds(ctx.net, lo, hi);
}

/** Per mode, how the disjunctions of C_f become rows (a table: a new mode is a new entry). */
const SELECT: Record<Mode, Pass> = {
  restrict: {
    name: "select-disjuncts",
    run: (p, ctx) => {
      const pattern = patternAt(ctx.evaluated.trace);
      return { problem: selectDisjuncts(p, (o) => patternItems(ctx.net.layers, pattern, o)), inverse: identity };
    },
  },
  // Sound bounds on the radius box; the binaries are appended after the layer variables.
  exact: {
    name: "select-disjuncts (exact: big-M)",
    run: (p, ctx) => {
      const n = p.vars.reduce((a, b) => Math.max(a, b.offset + b.size), 0);
      return { problem: bigM(ctx.net, ctx.encoding, radiusBounds(ctx)).problem, inverse: (s) => s.subarray(0, n) };
    },
  },
  // The triangle relaxation on the same sound interval bounds: an LP containing F(C_f) within the radius.
  relax: {
    name: "select-disjuncts (relax: triangle)",
    run: (_p, ctx) => ({
      problem: relaxDisjuncts(ctx.net, ctx.encoding, radiusBounds(ctx)).problem,
      inverse: identity,
    }),
  },
};

export function buildPipeline(options: CompileOptions): Pass[] {
  const passes: Pass[] = [
    // select-disjuncts needs the trace at x* (evaluate ran before the pipeline and is in ctx); it must run
    // before anything that assumes a conjunction (linearize, eliminate, to-lp-model).
    SELECT[options.mode],
    // target-label adds C_out(l) after selection: it has no disjunctions of its own.
    {
      name: "target-label",
      run: (p, ctx) => ({ problem: addTarget(p, ctx.encoding, ctx.label, ctx.options.margin), inverse: identity }),
    },
    // linearize-linf appends t after the layer variables, so every earlier variable keeps its column.
    {
      name: "linearize-linf",
      run: (p, ctx) => {
        const n = p.vars.reduce((a, b) => Math.max(a, b.offset + b.size), 0);
        return { problem: linearizeLinf(p, ctx.xStar, ctx.options.radius), inverse: (s) => s.subarray(0, n) };
      },
    },
  ];
  // eliminate runs last: it needs every row (including C_out and the L∞ rows) to substitute into.
  if (options.form === "reduced") {
    passes.push({
      name: "eliminate",
      run: (p) => {
        const e = eliminate(p, ["x", T_VAR]);
        return { problem: e.problem, inverse: e.inverse };
      },
    });
  }
  return passes;
}

export interface CompiledTarget {
  readonly label: number;
  readonly problem: Problem;
  readonly lp: LpModel;
  /** LP column values → the full layered assignment (x is its first block). */
  readonly inverse: (sol: Float64Array) => Float64Array;
  readonly passes: readonly { readonly name: string; readonly seconds: number }[];
}

export interface CompiledPoint {
  readonly encoding: Encoding;
  readonly evaluated: Evaluated;
  readonly predicted: number;
  readonly ranked: readonly number[];
  readonly targets: readonly CompiledTarget[];
}

export interface PointInfo {
  /** Lines for the LP header (seed point, labels, scale); the pipeline adds the conventions. */
  readonly header: (label: number, predicted: number) => string[];
  readonly name: string;
}

/**
 * The pipeline for one seed point: per target label, the LpModel and the inverse map. `enc`: an encoding to
 * share across calls; `bounds`: sound bounds of every layer for the exact and relax modes (their rows hold
 * where the bounds do), instead of the radius box's interval bounds.
 */
export function compilePoint(
  net: Network,
  xStar: Float64Array,
  options: CompileOptions,
  info: PointInfo,
  enc?: Encoding,
  bounds?: readonly LayerBounds[],
): CompiledPoint {
  const encoding =
    enc ??
    encode(net, {
      inputLower: options.pixelMin / options.pixelScale,
      inputUpper: options.pixelMax / options.pixelScale,
    });
  const evaluated = evaluate(net, encoding, xStar);
  const ranked = rankLabels(evaluated.trace.logits);
  const predicted = ranked[0];
  const labels = targetLabels(evaluated.trace.logits, options.target);
  const passes = buildPipeline(options);
  const targets = labels.map((label) => {
    const ctx: PassContext = { net, encoding, xStar, evaluated, label, options, ...(bounds ? { bounds } : {}) };
    let p = encoding.problem;
    const inverses: ((s: Float64Array) => Float64Array)[] = [];
    const timing: { name: string; seconds: number }[] = [];
    for (const pass of passes) {
      const t0 = performance.now();
      const r = pass.run(p, ctx);
      timing.push({ name: pass.name, seconds: (performance.now() - t0) / 1000 });
      p = r.problem;
      inverses.push(r.inverse);
    }
    const lp = toLpModel(p, info.name, [...info.header(label, predicted), ...conventions(options)]);
    const inverse = (sol: Float64Array) => inverses.reduceRight((s, inv) => inv(s), sol);
    return { label, problem: p, lp, inverse, passes: timing };
  });
  return { encoding, evaluated, predicted, ranked, targets };
}

/** The LP file header's statement of what the optimum means, per mode. */
const CONVENTIONS: Record<Mode, (o: CompileOptions) => string[]> = {
  relax: (o) => [
    `mode relax (LP); form ${o.form}; margin alpha ${o.margin}; input box [${o.pixelMin}, ${o.pixelMax}] pixels; radius ${o.radius} model units`,
    `objective t = ||x - x*||_inf in model units. Every unstable ReLU is its triangle relaxation (v >= 0, v >= u, v <= h(u - l)/(h - l))`,
    `and every max-pool v >= u_k, v <= sum_k (u_k - l_k) + max_k l_k, from sound interval bounds on |x - x*| <= radius: the feasible set`,
    `contains every input with label l within the radius, so the optimum is a LOWER bound on rho(f, x*, l) (infeasible: none within the radius).`,
  ],
  exact: (o) => [
    `mode exact (MILP); form ${o.form}; margin alpha ${o.margin}; input box [${o.pixelMin}, ${o.pixelMax}] pixels; radius ${o.radius} model units`,
    `objective t = ||x - x*||_inf in model units; rho in pixels = t * ${o.pixelScale}. Every ReLU and max-pool is encoded exactly with big-M rows`,
    `from sound interval bounds on the box |x - x*| <= radius, and t <= radius: the optimum is rho(f, x*, l) when it is below the radius;`,
    `an infeasible MILP proves no input within the radius has label l.`,
  ],
  restrict: (o) => [
    `form ${o.form}; margin alpha ${o.margin}; input box [${o.pixelMin}, ${o.pixelMax}] pixels = [${o.pixelMin / o.pixelScale}, ${o.pixelMax / o.pixelScale}] model units`,
    `objective t = ||x - x*||_inf in model units; rho_hat in pixels = t * ${o.pixelScale} (pixel scale). The optimum is an UPPER bound on rho:`,
    `the LP is the convex restriction of C_f(x, l) to the linear region Z(x*) of x* (Bastani et al. 2016, section 4).`,
    `conventions: a ReLU whose pre-activation at x* is exactly 0 is inactive (u <= 0, v = 0); a max-pool window with tied maxima`,
    `keeps its first maximal element in row-major order; the trace at x* is computed in float64.`,
  ],
};

const conventions = (o: CompileOptions): string[] => CONVENTIONS[o.mode](o);

/** What compileNetwork builds: the encoding's problem with every disjunction selected on the given bounds. */
export interface CompiledNetwork<S> {
  readonly encoding: Encoding;
  readonly problem: Problem;
  readonly lp: LpModel;
  readonly stats: S;
}

/** Per mode, the statistics of its rows. */
interface NetworkStats {
  readonly exact: BigMStats;
  readonly relax: RelaxStats;
}

/**
 * A network's LP without a seed point or target: C_f's layers with every disjunction as big-M rows (exact) or
 * its triangle relaxation (relax; only the layers before `upTo`), on sound `bounds`, over the input box
 * [inputLower, inputUpper] (callers that set the input columns themselves pass an unbounded or empty box).
 * The same select-disjuncts rows as compilePoint's exact and relax modes; no target, no objective.
 */
export function compileNetwork<M extends "exact" | "relax">(
  net: Network,
  o: {
    readonly mode: M;
    readonly bounds: readonly LayerBounds[];
    readonly inputLower: number;
    readonly inputUpper: number;
    readonly upTo?: number;
    readonly name: string;
  },
): CompiledNetwork<NetworkStats[M]> {
  const encoding = encode(net, { inputLower: o.inputLower, inputUpper: o.inputUpper });
  const { problem, stats } =
    o.mode === "exact" ? bigM(net, encoding, o.bounds) : relaxDisjuncts(net, encoding, o.bounds, o.upTo);
  return { encoding, problem, lp: toLpModel(problem, o.name, []), stats: stats as NetworkStats[M] };
}
