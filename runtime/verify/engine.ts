// The verification engine: a lowered network + a parsed VNN-LIB property + a time limit → sat (with a
// float32-checked counterexample), unsat, timeout or unknown. Cheap sat first (centre, PGD, the restriction
// LP of the best attack point), then refutation (IBP, LP relaxation), then one big-M MILP per disjunct.

import {
  diag,
  fail,
  inputSize,
  ok,
  outputSize,
  patternAt,
  trace,
  type LpModel,
  type Network,
  type NetworkMatrices,
  type Result,
} from "../../compiler/index.js";
import type { VnnlibProperty } from "../../grammar/vnnlib/parse.js";
import type { NetContext, PointContext } from "../point/context.js";
import { createHighs } from "../solvers/highs.js";
import type { LpSolution } from "../solvers/types.js";
import { attack } from "./attack.js";
import { buildBase, disjunctModel, boundsRefute, inputOf, type BaseModel, type ModelKind } from "../bab/milp.js";
import { checkCandidate, type Counterexample, type Stage, type VerifyResult, type VerifyStatus } from "./result.js";
import { centre, specOf, type Spec } from "../bab/spec.js";
import { decideSpec, proveSpec } from "../bab/decide.js";
import { DEFAULT_BAB } from "../bab/search.js";

export interface VerifyOptions {
  /** Seconds for the whole property. */
  readonly timeout: number;
  readonly seed?: number;
  /** Progress notes (one line each), e.g. to stderr with --verbose. */
  readonly log?: (line: string) => void;
}

/** The property must name exactly the model's flattened input and output. */
export function checkShapes(net: Network, p: VnnlibProperty, model: string, prop: string): Result<null> {
  if (p.numInputs !== inputSize(net)) {
    return fail(
      diag(
        "vnnlib/model-mismatch",
        `${prop}: declares ${p.numInputs} inputs X_i, but ${model} has input '${net.inputName}' of shape [${net.inputShape}] (${inputSize(net)} values)`,
      ),
    );
  }
  if (p.numOutputs !== outputSize(net)) {
    return fail(
      diag(
        "vnnlib/model-mismatch",
        `${prop}: declares ${p.numOutputs} outputs Y_j, but ${model} has output '${net.outputName}' of ${outputSize(net)} values`,
      ),
    );
  }
  return ok(null);
}

interface CaseOutcome {
  status: VerifyStatus;
  stage: Stage;
  ce?: Counterexample;
  reason?: string;
  milps: number;
  binaries: number;
  nodes?: number;
}

/** What verification runs on: the network three ways and the engine (the batched branch and bound's bounds). */
export type VerifyContext = NetContext & Pick<PointContext, "engine">;

export async function verifyProperty(ctx: VerifyContext, p: VnnlibProperty, o: VerifyOptions): Promise<VerifyResult> {
  const t0 = performance.now(),
    deadline = t0 + o.timeout * 1000;
  const done = (c: Omit<CaseOutcome, "ce"> & { ce?: Counterexample }): VerifyResult => ({
    status: c.status,
    stage: c.stage,
    seconds: (performance.now() - t0) / 1000,
    milps: c.milps,
    binaries: c.binaries,
    nodes: c.nodes ?? 0,
    ...(c.ce ? { counterexample: c.ce } : {}),
    ...(c.reason ? { reason: c.reason } : {}),
  });
  if (p.inputConstraints.length > 0)
    return done({
      status: "unknown",
      stage: "none",
      reason: "input constraints other than a box are not supported",
      milps: 0,
      binaries: 0,
    });
  const cases = p.cases ?? [p];
  let milps = 0,
    binaries = 0,
    nodes = 0;
  const open: CaseOutcome[] = [];
  let stage: Stage = "none";
  for (const c of cases) {
    const r = await verifyCase(ctx, specOf(c), deadline, o);
    milps += r.milps;
    binaries = Math.max(binaries, r.binaries);
    nodes += r.nodes ?? 0;
    if (r.status === "sat") return done({ ...r, milps, binaries, nodes });
    if (r.status !== "unsat") open.push(r);
    else stage = r.stage;
  }
  if (open.length === 0) return done({ status: "unsat", stage, milps, binaries, nodes });
  const timedOut = open.find((r) => r.status === "timeout");
  return done({ ...(timedOut ?? open[0]), milps, binaries, nodes });
}

function solveWithin(lp: LpModel, deadline: number, share = 1): Promise<LpSolution> {
  const left = (deadline - performance.now()) / 1000;
  return createHighs().solve(lp, { timeLimit: Math.max(0.05, left * share) });
}

async function verifyCase(ctx: VerifyContext, s: Spec, deadline: number, o: VerifyOptions): Promise<CaseOutcome> {
  const { net, matrices: m, evaluator: ev } = ctx;
  const log = o.log ?? (() => undefined);
  const out = (status: VerifyStatus, stage: Stage, extra: Partial<CaseOutcome> = {}): CaseOutcome => ({
    status,
    stage,
    milps: 0,
    binaries: 0,
    ...extra,
  });
  if (s.disjuncts.length === 0) return out("unsat", "none", { reason: "the unsafe set is empty" });
  for (let i = 0; i < s.lower.length; i++) {
    if (!Number.isFinite(s.lower[i]) || !Number.isFinite(s.upper[i]))
      return out("unknown", "none", { reason: `X_${i} has no finite bounds` });
    if (s.lower[i] > s.upper[i]) return out("unsat", "none", { reason: `the box is empty at X_${i}` });
  }
  const timeLeft = () => (deadline - performance.now()) / 1000;

  // 1. The centre, then PGD from it and from random points (at most 10% of the time, 10 s: on the VNN-COMP
  // benchmarks every counterexample PGD finds comes within 0.3 s; the rest of the time goes to refutation).
  const c = centre(s);
  const ce0 = await checkCandidate(ev, s, c);
  if (ce0) return out("sat", "centre", { ce: ce0 });
  const yc = trace(net, c, { matrices: m }).logits;
  const delta = 1e-5 * (1 + Math.max(...Array.from(yc, Math.abs)));
  const att = await attack(net, m, ev, s, {
    deadline: performance.now() + Math.min(10, 0.1 * timeLeft()) * 1000,
    restarts: 12,
    steps: 60,
    seed: o.seed ?? 1,
  });
  log(`attack: best margin ${att.bestValue.toPrecision(4)} (disjunct ${att.bestDisjunct})`);
  if (att.counterexample) return out("sat", "attack", { ce: att.counterexample });
  if (timeLeft() <= 0) return out("timeout", "attack", { reason: "time limit during the attack" });

  // 2. Sound interval bounds: the base MILP, and disjuncts they alone refute.
  const base = await buildBase(net, m, s);
  const binaries = base.binaries;
  let pending = s.disjuncts.map((_, i) => i).filter((i) => !boundsRefute(net, m, base, s.disjuncts[i]));
  log(
    `bounds: ${s.disjuncts.length - pending.length} of ${s.disjuncts.length} disjuncts refuted; ${binaries} binaries`,
  );
  if (pending.length === 0) return out("unsat", "bounds", { binaries });

  // 3. The restriction LP: the best attack point's linear region ∩ box ∩ its disjunct (margin δ, then 0).
  const region: ModelKind = { kind: "restrict", pattern: patternAt(trace(net, att.best, { matrices: m })) };
  if (pending.includes(att.bestDisjunct)) {
    for (const margin of [delta, 0]) {
      const r = await solveWithin(
        disjunctModel(net, base, s.disjuncts[att.bestDisjunct], region, margin),
        deadline,
        0.2,
      );
      if (r.status !== "optimal" || !r.x) break;
      const ce = await checkCandidate(ev, s, inputOf(base, s.lower.length, r.x));
      if (ce) return out("sat", "restrict", { ce, binaries });
    }
  }

  // 4. LP relaxation per disjunct: infeasible refutes it.
  const relaxed: number[] = [];
  for (const i of pending) {
    if (timeLeft() <= 0) return out("timeout", "lp", { binaries, reason: "time limit during the LP relaxations" });
    const r = await solveWithin(disjunctModel(net, base, s.disjuncts[i], { kind: "relax" }, 0), deadline, 0.5);
    if (r.status !== "infeasible") relaxed.push(i);
  }
  log(`lp: ${pending.length - relaxed.length} of ${pending.length} remaining disjuncts refuted`);
  pending = relaxed;
  if (pending.length === 0) return out("unsat", "lp", { binaries });

  // 5. ReLU networks: branch and bound (runtime/bab/decide.ts) over the disjuncts still open: the LP one (every
  // subdomain bounded by back-substitution and its LP; it keeps the deadline to a subdomain's work), then the
  // batched one for a proof where it applies.
  const open: Spec = { ...s, disjuncts: pending.map((i) => s.disjuncts[i]) };
  const babNet = { net, matrices: m, refineWork: DEFAULT_BAB.refineWork };
  if (!net.layers.some((l) => l.kind === "maxpool")) {
    const r = await decideSpec(ctx.engine, babNet, open, (x) => checkCandidate(ev, s, x), {
      deadline,
      nodeLimit: DEFAULT_BAB.nodeLimit,
      nodeLp: DEFAULT_BAB.nodeLp,
    });
    log(`bab: ${r.status} after ${r.nodes} subdomains, ${r.lps} LPs, depth ${r.depth}, in ${r.seconds.toFixed(2)} s`);
    const extra = { binaries, nodes: r.nodes, ...(r.reason ? { reason: r.reason } : {}) };
    if (r.status === "sat" && r.example) return out("sat", "bab", { ...extra, ce: r.example });
    return out(r.status === "sat" ? "unknown" : r.status, "bab", extra);
  }

  // 5'. Networks with max-pool: the batched branch and bound (ReLUs and max-pool windows split) for a proof in half
  // the time left, where it applies; then the big-M MILP per disjunct, the most
  // promising (smallest attack margin) first; time shared evenly. The
  // disjuncts whose MILP ran out of its share run again, in later rounds, on whatever time the others left.
  const r = await proveSpec(ctx.engine, babNet, open, performance.now() + (timeLeft() * 1000) / 2);
  if (r) {
    log(`batched bab: ${r.status} after ${r.nodes} subdomains, depth ${r.depth}, in ${r.seconds.toFixed(2)} s`);
    if (r.status === "unsat") return out("unsat", "bab", { binaries, nodes: r.nodes });
  }
  pending.sort((a, b) => att.perDisjunct[a] - att.perDisjunct[b]);
  let milps = 0,
    timedOut = 0;
  const unresolved: string[] = [];
  let round = pending;
  while (round.length > 0) {
    const again: number[] = [];
    for (let k = 0; k < round.length; k++) {
      const i = round[k];
      if (timeLeft() <= 0) {
        again.push(...round.slice(k));
        break;
      }
      milps++;
      const r = await solveWithin(
        disjunctModel(net, base, s.disjuncts[i], { kind: "milp" }, 0),
        deadline,
        1 / (round.length - k),
      );
      log(`milp disjunct ${i}: ${r.status} in ${r.seconds.toFixed(2)} s`);
      if (r.status === "infeasible") continue;
      if (r.status === "timeout") {
        again.push(i);
        continue;
      }
      if (r.status !== "optimal" || !r.x) {
        unresolved.push(`disjunct ${i}: ${r.message ?? r.status}`);
        continue;
      }
      const found = await confirm(ctx, base, s, i, r.x, delta, deadline);
      if (found) return out("sat", "milp", { ce: found, binaries, milps });
      unresolved.push(
        `disjunct ${i}: the MILP's point fails the float32 check (within solver tolerance of the boundary)`,
      );
    }
    timedOut = again.length;
    // Another round only when it has clearly more time per disjunct than its last share had.
    if (again.length === 0 || timeLeft() < 1) break;
    round = again;
  }
  if (timedOut === 0 && unresolved.length === 0) return out("unsat", "milp", { binaries, milps });
  if (unresolved.length > 0 && timedOut === 0)
    return out("unknown", "milp", { binaries, milps, reason: unresolved.join("; ") });
  return out("timeout", "milp", { binaries, milps, reason: `${timedOut} MILP(s) hit the time limit` });
}

/**
 * A MILP point that fails the float32 check sits on the boundary: polish it by a short PGD, then re-solve
 * with margin δ (so float32 rounding cannot undo it). Never `sat` without a checked point.
 */
async function confirm(
  ctx: NetContext,
  base: BaseModel,
  s: Spec,
  i: number,
  sol: Float64Array,
  delta: number,
  deadline: number,
): Promise<Counterexample | null> {
  const x = inputOf(base, s.lower.length, sol);
  const direct = await checkCandidate(ctx.evaluator, s, x);
  if (direct) return direct;
  const one: Spec = { ...s, disjuncts: [s.disjuncts[i]] };
  const pol = await attack(ctx.net, ctx.matrices, ctx.evaluator, one, {
    deadline: Math.min(deadline, performance.now() + 2000),
    restarts: 1,
    steps: 30,
    seed: 7,
    starts: [x],
    stepScale: 0.005,
  });
  if (pol.counterexample) return checkCandidate(ctx.evaluator, s, pol.counterexample.x);
  if (deadline - performance.now() <= 0) return null;
  const r = await solveWithin(disjunctModel(ctx.net, base, s.disjuncts[i], { kind: "milp" }, delta), deadline);
  return r.status === "optimal" && r.x ? checkCandidate(ctx.evaluator, s, inputOf(base, s.lower.length, r.x)) : null;
}
