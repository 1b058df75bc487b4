// `robustc rho --mode` and measure's: per point an interval lower ≤ rho ≤ upper (the bracket), built from
// stages that each narrow it, one table entry per mode (MODES). upper is always the distance of an example
// that passed point/check.ts; lower is always certified.

import { patternAt, radiusBox, rankLabels, trace, type ActivationPattern } from "../../compiler/index.js";
import { DEFAULT_PGD, minNormAttack } from "../attacks/pgd.js";
import { exactRho } from "./milp.js";
import { babRho, decideRho } from "./exact.js";
import {
  engineLower,
  boxBounds,
  BRACKET_LOWER,
  certifiedLower,
  certifiedLowerEngine,
  DEFAULT_LOWER,
  deepLower,
  provedLower,
  type LowerOptions,
} from "./lower.js";
import { restrictedLp, restrictPoint } from "./restrict.js";
import { fullRadius, marginLadder, type Checked } from "../point/check.js";
import { boxOf, type PointContext } from "../point/context.js";
import { openSeed, secondsSince, type Seed } from "../point/seed.js";
import {
  closedWithin,
  refusedPoint,
  toleranceOf,
  type BracketMode,
  type BracketPoint,
  type LpPoint,
  type PointResult,
  type PointStatus,
  type RhoMode,
} from "./result.js";
import { BRACKET_LAZY, checkedRegionLp, exhaustedMessage } from "./region-lp.js";
import { DEFAULT_WALK, walkForward, walkRegions, type WalkOptions } from "./walk.js";

/**
 * The bracket's walk: the example's own region, then one step across all its binding facets at once. On mnist_mlp that
 * region LP gains ~1%, on mnist_lenet ~0.5% (.scratch measurements, 5–8 digits each); further steps gained little
 * more. Its LPs run with the lazy loop's options of region-lp.ts BRACKET_LAZY (the walk stage's median on mnist_lenet's first
 * 20 test digits 0.82–0.88 s before them, 0.44–0.45 s with them).
 */
const BRACKET_WALK: WalkOptions = { steps: 1, tries: 1, timeLimit: 60, lazy: BRACKET_LAZY };
const WALK_ON = 0.005;
/** The forward walk: at most 16 margin LPs (each a step of at most the trust radius, walk.ts FORWARD_STEP). */
const FORWARD_WALK: WalkOptions = { steps: 16, tries: 1, timeLimit: 60 };

export const RHO_MODES = [
  "bracket",
  "restrict",
  "exact",
  "milp",
  "bounds",
  "walk",
  "certify",
] as const satisfies readonly RhoMode[];
export type { RhoMode };

/**
 * The modes that decide whether the bracket is closed (status exact, under PointContext.tolerance): every one but
 * restrict (no bracket) and certify (its question is "rho > eps?").
 */
export const CLOSING_MODES = ["bracket", "exact", "milp", "bounds", "walk"] as const satisfies readonly RhoMode[];
export const closesBracket = (mode: RhoMode): boolean => (CLOSING_MODES as readonly RhoMode[]).includes(mode);

/**
 * One point's bracket as the stages build it (model units): the best checked example (upper), the certified
 * lower bound, the paper's rho_hat beside them, seconds per stage.
 */
class Bracket {
  best: Checked | null = null;
  lower = 0;
  /** rho_hat (model units; ∞: no example in x*'s region); null: not computed or the LP failed. */
  rhoHat: number | null = null;
  /** rho_hat was sought inside this radius and lies beyond it. */
  rhoHatAbove: number | null = null;
  optimal: boolean | null = null;
  /** Branch-and-bound subdomains (modes exact, certify). */
  nodes: number | null = null;
  /** certify: branch and bound proved that nothing within eps has another label. */
  verified = false;
  readonly stages: Record<string, number> = {};
  readonly notes: string[] = [];
  private readonly t0 = performance.now();

  constructor(
    readonly ctx: PointContext,
    readonly seed: Seed,
    readonly timeLimit: number,
  ) {}

  get xStar(): Float64Array {
    return this.seed.xStar;
  }
  get star(): Seed["star"] {
    return this.seed.star;
  }
  get predicted(): number {
    return this.seed.predicted;
  }

  left(): number {
    return this.timeLimit - (performance.now() - this.t0) / 1000;
  }
  /** The current upper bound (model units; ∞ without an example). */
  get upper(): number {
    return this.best ? this.best.dist : Infinity;
  }

  offer(c: Checked | null): void {
    if (c && (!this.best || c.dist < this.best.dist)) this.best = c;
  }

  async stage<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await f();
    } finally {
      this.stages[name] = (this.stages[name] ?? 0) + (performance.now() - t) / 1000;
    }
  }

  /** The input box in model units. */
  get box(): { lo: number; hi: number } {
    return boxOf(this.ctx);
  }
}

/** The stages, each a step that only narrows the bracket. */
const STAGES = {
  /** The minimum-norm attack over every label (its own share of the time). */
  attack: (b: Bracket, share: number) =>
    b.stage("attack", async () => {
      const a = await minNormAttack(b.ctx, b.seed, {
        ...DEFAULT_PGD,
        timeLimit: Math.max(0.1, b.left() * share),
      });
      b.offer(a.best);
      b.notes.push(`attack: ${a.gradients} gradients, ${a.radii} radii`);
    }),
  /**
   * From the attack's example back toward x*: the restricted LP of the example's own region (target = its
   * label) inside the ball of its distance, then walking across the binding facets of each optimum.
   */
  walkBack: (b: Bracket, share: number) =>
    b.stage("walk", async () => {
      const start = b.best;
      if (!start) return;
      // Bounded by counts (BRACKET_WALK), not by the clock, so that a point's answer does not depend on the
      // machine's speed; the share of the point's time limit is only a safety net.
      const until = b.left() * (1 - share);
      const budget = () => Math.max(0.1, b.left() - until);
      const ladder = marginLadder(b.ctx, b.star.logits).slice(1);
      const from = patternAt(trace(b.ctx.net, Float64Array.from(start.example), { matrices: b.ctx.matrices }));
      const c = await checkedRegionLp(
        b.ctx,
        from,
        b.xStar,
        start.label,
        b.predicted,
        ladder,
        budget(),
        start.dist,
        BRACKET_LAZY,
      );
      b.offer(c);
      if (!c || c.dist >= start.dist) {
        b.notes.push("walk: no closer checked point in the example's region");
        return;
      }
      // A step to the neighbouring regions only where the region's LP moved the attack's example noticeably
      // (by 0.5%): elsewhere the attack had already reached its region's boundary and a step rarely gains.
      if (c.dist > start.dist * (1 - WALK_ON)) {
        b.notes.push("walk: the example's region");
        return;
      }
      const w = await walkRegions(
        b.ctx,
        b.star,
        b.xStar,
        c.label,
        b.predicted,
        c,
        { ...BRACKET_WALK, timeLimit: budget() },
        from,
      );
      b.offer(w.best);
      b.notes.push(`walk: ${w.steps} steps, ${w.regions} neighbouring regions`);
    }),
  /**
   * Walking from the full restricted LP's optimum in x*'s region (the walk mode); where that LP is
   * infeasible, forward first (walk.ts walkForward: maximise the target's margin region by region, from x*'s
   * toward the target, inside the ball `radius`), then walking from the example it finds.
   */
  walkFromStar: (b: Bracket, target: number, radius: number) =>
    b.stage("walk", async () => {
      let from: ActivationPattern | undefined;
      if (!b.best && b.rhoHat === Infinity) {
        const f = await walkForward(b.ctx, b.star, b.xStar, target, b.predicted, radius, {
          ...FORWARD_WALK,
          timeLimit: Math.max(0.1, b.left() / 2),
        });
        b.notes.push(
          `forward: ${f.steps} regions${f.best ? "" : f.margin !== null ? `, target margin ${f.margin.toExponential(2)} at most` : ""}`,
        );
        if (!f.best) return;
        b.offer(f.best);
        from = f.pattern ?? undefined;
      }
      if (!b.best) return;
      const w = await walkRegions(
        b.ctx,
        b.star,
        b.xStar,
        target,
        b.predicted,
        b.best,
        { ...DEFAULT_WALK, timeLimit: Math.max(0.1, b.left()) },
        from,
      );
      b.offer(w.best);
      b.notes.push(`walk: ${w.steps} steps, ${w.regions} neighbouring regions`);
    }),
  /** Forward from x*'s region where no search found an example (the bracket's last resort for upper). */
  forward: (b: Bracket, target: number, radius: number, share: number) =>
    b.stage("forward", async () => {
      const f = await walkForward(b.ctx, b.star, b.xStar, target, b.predicted, radius, {
        ...FORWARD_WALK,
        timeLimit: Math.max(0.1, b.left() * share),
      });
      b.offer(f.best);
      b.notes.push(`forward: ${f.steps} regions${f.best ? ", example found" : ""}`);
    }),
  /**
   * The paper's restricted LP (target: the second most probable label), inside the ball of radius `radius`
   * (∞: the full LP). Its checked optimum is an example like any other.
   */
  restrict: (b: Bracket, radius: number, share: number) =>
    b.stage("restrict", async () => {
      // The ball is padded a hair beyond upper (as exact.ts pads its box): the float32 rule's raised margin
      // moves the LP's optimum ~1e-6 further out, and upper itself may be that region's optimum.
      if (Number.isFinite(radius)) radius = radius * (1 + 1e-6) + 1e-9;
      const inBall = Number.isFinite(radius);
      const bounds = inBall
        ? await boxBounds(b.ctx.net, b.ctx.matrices, radiusBox(b.xStar, radius, b.box.lo, b.box.hi), "interval", 1)
        : undefined;
      const { lp } = await restrictedLp(
        b.ctx,
        b.seed,
        Math.max(0.1, b.left() * share),
        inBall ? { radius, ...(bounds ? { bounds } : {}) } : undefined,
      );
      if (lp.status === "checked") {
        b.rhoHat = lp.checked!.dist;
        b.offer(lp.checked);
      } else if (lp.status === "infeasible") {
        if (inBall) b.rhoHatAbove = radius;
        else b.rhoHat = Infinity;
      } else {
        const status = lp.status === "exhausted" ? "error" : lp.status;
        const message = lp.status === "exhausted" ? exhaustedMessage(lp) : lp.message;
        b.notes.push(`restricted LP: ${status}${message ? ` (${message})` : ""}`);
      }
    }),
  /**
   * The certified lower bound, by bisection below the current upper bound (the whole box without one): in batched
   * rounds on the engine's bounds graph where it covers the network and the method is back-substitution, else
   * one radius at a time on the reference bounds (--backend reference, conv nets, the LP-tightened modes).
   */
  lower: (b: Bracket, opts: LowerOptions) =>
    b.stage("lower", async () => {
      const o = { ...opts, timeLimit: Math.max(0.1, b.left()) };
      // On the engine, two bisection steps more (upper/1024; its first eight are the reference's, so the bound is
      // never below the reference's bisection): ~25% more of a stage that costs 0.01–0.07 s a digit there.
      const r = engineLower(b.ctx.engine, opts.method)
        ? await certifiedLowerEngine(b.ctx.engine, b.ctx.net, b.xStar, b.predicted, b.upper, b.box, {
            ...o,
            steps: o.steps + 2,
          })
        : await certifiedLower(b.ctx.net, b.ctx.matrices, b.xStar, b.predicted, b.upper, b.box, o);
      b.lower = Math.max(b.lower, r.lower);
      if (r.lps > 0) b.notes.push(`lower: ${r.lps} relaxation LPs`);
    }),
  /**
   * The lower bound raised on deep bounds (lower.ts deepLower) where the engine's graph leaves layers to intervals
   * (the LeNets), within `share` of the time left; nothing elsewhere.
   */
  deep: (b: Bracket, share: number) => {
    if (!Number.isFinite(b.upper) || b.upper <= b.lower || b.left() < 0.5) return;
    const { engine, net, matrices } = b.ctx;
    return b.stage("deep", async () => {
      const r = await deepLower(engine, net, matrices, b.xStar, b.predicted, b.lower, b.upper, b.box, b.left() * share);
      if (!r) return;
      b.lower = Math.max(b.lower, r.lower);
      b.notes.push(`deep bounds: ${r.radii} radii`);
    });
  },
  /**
   * The lower bound raised by branch and bound (lower.ts provedLower: the batched search with optimised slopes and
   * β multipliers as the decision of a search between lower and upper) within PROVE_NODES subdomains; only on an
   * optimisable engine, below a finite upper bound, and where the bounds already prove PROVE_FROM of it.
   */
  prove: (b: Bracket) => {
    if (!b.ctx.engine.optimisable || !Number.isFinite(b.upper) || b.upper <= b.lower || b.left() < 0.05) return;
    if (b.lower < PROVE_FROM * b.upper) return;
    return b.stage("prove", async () => {
      const r = await provedLower(b.ctx.engine, b.ctx.net, b.xStar, b.predicted, b.lower, b.upper, b.box, {
        nodes: PROVE_NODES,
        seconds: b.left(),
      });
      b.lower = Math.max(b.lower, r.lower);
      b.notes.push(`prove: ${r.decisions} branch-and-bound decisions, ${r.nodes} subdomains`);
    });
  },
};

/**
 * The proof stage's budget in subdomains per point (a count, not seconds, so that a point's answer does not depend
 * on the machine's load). Since the batched search's children inherit their parent's intermediate bounds it bounds
 * ~2,000 subdomains a second on mnist_mlp (bench/bab.ts) and needs more of them per proof: on the first 30 test
 * digits (`rho examples/models/mnist_mlp.onnx --data mnist:test --limit 30 --json`, two other jobs on the two
 * cores) 600 gave lower bounds below the previous search's (with 600) on 11 digits in half the time; 1,500 gives
 * higher ones on 11, lower on none, in the same time (median 1.85 s a digit under that load). With filtered smart
 * branching (batched.ts, "Branching") a subdomain costs more and proves more: against BaBSR with 1,500, on the same
 * digits in the same sitting, 1,000 gives a median lower/upper of 0.802 against 0.798 (≥ 0.9 on 10 digits against 8;
 * higher on 7, lower on 2) in 1.63 s a digit against 1.87 s; 1,500 gave 0.802 too, in 2.30 s. With the optimiser's
 * rows' pass on the clamps alone (BoundsAsk.intervals) 1,000 takes 1.23 s (0.802); 700, 1.14 s but lower on 9.
 */
const PROVE_NODES = 1000;
/**
 * The proof stage runs where lower ≥ this × upper. Below it the bracket's width is the relaxation's (intervals
 * through the conv layers), which a second of branch and bound does not move: on mnist_lenet's first 8 test digits
 * (lower/upper 0.05–0.08) the stage spent 0.13–0.56 s a digit and raised no lower bound; on mnist_mlp's first 10
 * (0.50–0.90) it raised 9 (median lower/upper 0.75 → 0.83).
 */
const PROVE_FROM = 0.2;

/** The bracket's stages in order; `eps` (model units) sets the rho_hat ball R = max(upper, eps). */
async function bracketStages(b: Bracket, eps: number): Promise<void> {
  await STAGES.attack(b, 0.25);
  await STAGES.walkBack(b, 0.25);
  await STAGES.restrict(b, Math.max(Number.isFinite(b.upper) ? b.upper : 0, eps), 1 / 3);
  if (!b.best) await STAGES.forward(b, rankLabels(b.star.logits)[1], boxRadius(b), 0.5);
  await STAGES.lower(b, BRACKET_LOWER);
  await STAGES.prove(b);
}

/**
 * The bracket first (half the time at most): it shrinks the radius (hence the box, the bounds, the binaries)
 * and gives the exact stage its lower bound. True when it already settled the point (rho = ∞ proved).
 */
async function halfBracket(b: Bracket, eps: number): Promise<boolean> {
  const half = new Bracket(b.ctx, b.seed, b.left() / 2);
  await bracketStages(half, eps);
  Object.assign(b, { best: half.best, lower: half.lower, rhoHat: half.rhoHat, rhoHatAbove: half.rhoHatAbove });
  Object.assign(b.stages, half.stages);
  b.notes.push(...half.notes);
  if (b.lower === Infinity) {
    b.optimal = true;
    return true;
  }
  return false;
}

/**
 * The exact mode's share of the time for deep bounds (STAGES.deep) before branch and bound. On mnist_lenet's first 3
 * test digits at 30 s (`rho examples/models/mnist_lenet.onnx --data mnist:test --limit 3 --mode exact --time-limit
 * 30`): see docs/results/exact.md.
 */
const DEEP_SHARE = 1 / 2;

/** The radius at which the ball around x* covers the whole input box. */
const boxRadius = (b: Bracket): number => fullRadius(b.xStar, b.box.lo, b.box.hi);

/**
 * The modes, each a sequence of stages:
 *   bracket (default): the minimum-norm attack over every label (attacks/pgd.ts), region walking from its
 *             example back toward x* (walk.ts), the paper's restricted LP inside the ball of radius
 *             R = max(upper, eps) (restrict.ts; rho_hat beside the bracket, "> R" where the ball holds
 *             none), forward walking from x*'s region where nothing was found yet, and a certified lower
 *             bound by back-substitution with a bisection over the radius (lower.ts);
 *   exact:    the bracket (half the time at most), then branch and bound (exact.ts: decisions at eps
 *             on runtime/bab/, each unsat lifting lower, each sat lowering upper) until they meet within
 *             the context's tolerance (a fraction of upper; 0: 1e-3 px);
 *   milp:     the bracket, then the big-M MILPs of milp.ts per label (the path exact replaced; bench/);
 *   bounds:   the full restricted LP (upper = rho_hat's example) and the LP-tightened certified lower bound;
 *   walk:     the full restricted LP and region walking from its optimum (forward from x*'s region first
 *             where that LP is infeasible); lower is 0, the trivial bound (no certificate is sought);
 *   certify:  "is rho > eps?" (verified robust accuracy): the attack, then branch and bound at eps (verified |
 *             falsified | unknown; lower = eps when verified, upper the example's distance when one is found);
 *   restrict (not here: restrict.ts): the paper's rho_hat alone, no bracket fields.
 */
const MODES: Record<BracketMode, (b: Bracket, eps: number) => Promise<void>> = {
  bracket: (b, eps) => bracketStages(b, eps),
  exact: async (b, eps) => {
    if (await halfBracket(b, eps)) return;
    await STAGES.deep(b, DEEP_SHARE);
    await b.stage("bab", async () => {
      const e = await babRho(b.ctx, b.xStar, b.predicted, b.lower, b.best, Math.max(0.1, b.left()));
      b.offer(e.best);
      b.lower = Math.max(b.lower, e.lower);
      b.optimal = e.optimal;
      b.nodes = e.nodes;
      b.notes.push(
        `exact: ${e.decisions} branch-and-bound decisions, ${e.nodes} subdomains, ${e.lps} subdomain LPs${e.optimal ? "" : ", time limit reached"}`,
      );
    });
  },
  certify: async (b, eps) => {
    // The attack first (a quarter of the time): an example within eps falsifies; then branch and bound at eps.
    await STAGES.attack(b, 0.25);
    if (b.upper <= eps) return;
    await b.stage("bab", async () => {
      const r = await decideRho(b.ctx, b.xStar, b.predicted, eps, performance.now() + Math.max(0.1, b.left()) * 1000);
      b.nodes = r.nodes;
      if (r.status === "unsat") {
        b.lower = Math.max(b.lower, eps);
        b.verified = true;
      }
      b.offer(r.example);
      b.notes.push(
        `certify: ${r.status} after ${r.nodes} subdomains, ${r.lps} subdomain LPs${r.reason ? ` (${r.reason})` : ""}`,
      );
    });
  },
  milp: async (b, eps) => {
    if (await halfBracket(b, eps)) return;
    await b.stage("milp", async () => {
      const e = await exactRho(b.ctx, b.star, b.xStar, b.predicted, b.upper, b.best, {
        timeLimit: Math.max(0.1, b.left()),
        tighten: true,
        tMin: b.lower,
      });
      b.offer(e.best);
      b.lower = Math.max(b.lower, e.lower);
      b.optimal = e.optimal;
      b.notes.push(
        `milp: ${e.milps} MILPs (${e.pruned} labels excluded by the relaxation), ${e.binaries} binaries${e.optimal ? "" : ", time limit reached"}`,
      );
    });
  },
  bounds: async (b) => {
    await STAGES.restrict(b, Infinity, 0.5);
    await STAGES.lower(b, DEFAULT_LOWER);
  },
  walk: async (b) => {
    await STAGES.restrict(b, Infinity, 0.5);
    await STAGES.walkFromStar(b, rankLabels(b.star.logits)[1], boxRadius(b));
  },
};

/**
 * rho for one point in a mode: the seed's preamble (point/seed.ts), then modeForSeed. restrict is the paper's
 * rho_hat alone (restrict.ts); every other mode answers the bracket (`eps` in pixels sets its rho_hat ball).
 */
export async function rhoForPointMode(
  ctx: PointContext,
  mode: "restrict",
  index: number,
  xStar: Float64Array,
  label: number | null,
  eps?: number,
): Promise<LpPoint>;
export async function rhoForPointMode(
  ctx: PointContext,
  mode: BracketMode,
  index: number,
  xStar: Float64Array,
  label: number | null,
  eps?: number,
): Promise<BracketPoint>;
export async function rhoForPointMode(
  ctx: PointContext,
  mode: RhoMode,
  index: number,
  xStar: Float64Array,
  label: number | null,
  eps?: number,
): Promise<PointResult>;
export async function rhoForPointMode(
  ctx: PointContext,
  mode: RhoMode,
  index: number,
  xStar: Float64Array,
  label: number | null,
  eps = 20,
): Promise<PointResult> {
  const s = await openSeed(ctx, index, xStar, label);
  if ("refusal" in s) return refusedPoint(s.refusal, mode === "restrict" ? undefined : mode);
  return modeForSeed(ctx, mode, s.seed, eps);
}

/** rho for a seed in a mode (`eps` in pixels). */
export async function modeForSeed(ctx: PointContext, mode: "restrict", seed: Seed, eps?: number): Promise<LpPoint>;
export async function modeForSeed(
  ctx: PointContext,
  mode: BracketMode,
  seed: Seed,
  eps?: number,
): Promise<BracketPoint>;
export async function modeForSeed(ctx: PointContext, mode: RhoMode, seed: Seed, eps?: number): Promise<PointResult>;
export async function modeForSeed(ctx: PointContext, mode: RhoMode, seed: Seed, eps = 20): Promise<PointResult> {
  if (mode === "restrict") return restrictPoint(ctx, seed);
  const { index, label, predicted } = seed;
  const px = ctx.pixelScale;
  const b = new Bracket(ctx, seed, ctx.lazy?.timeLimit ?? 60);
  await MODES[mode](b, eps / px);
  const upper = b.best ? b.best.dist * px : null;
  const lower = b.lower * px;
  // Closed within the tolerance asked (relative to upper; 0: the absolute 1e-3 px), as exact.ts babRho stops.
  const tolerance = toleranceOf(ctx);
  const closed = closedWithin(lower, upper, tolerance, px);
  const status: PointStatus =
    mode === "certify"
      ? upper !== null && upper <= eps
        ? "falsified"
        : b.verified || lower === Infinity
          ? "verified"
          : "unknown"
      : closed
        ? "exact"
        : upper !== null
          ? "bracketed"
          : "not-found";
  return {
    index,
    label,
    predicted,
    mode,
    alpha: 0,
    status,
    target: b.best ? b.best.label : null,
    rho: upper,
    example: b.best?.example,
    // The check already measured it (point/check.ts: onnxruntime's float32 margin of the example).
    checkMargin: b.best?.margin32 ?? null,
    lower,
    upper,
    gap: upper !== null ? Math.max(0, upper - lower) : null,
    optimal: b.optimal,
    rhoHat: b.rhoHat === null ? null : b.rhoHat * px,
    rhoHatAbove: b.rhoHatAbove === null ? null : b.rhoHatAbove * px,
    stages: b.stages,
    seconds: secondsSince(seed.t0),
    ...(b.nodes !== null ? { nodes: b.nodes } : {}),
    // certify answers "rho > eps?", with no closure to decide: no tolerance.
    ...(mode !== "certify" ? { tolerance } : {}),
    ...(b.notes.length > 0 ? { message: b.notes.join("; ") } : {}),
  };
}
