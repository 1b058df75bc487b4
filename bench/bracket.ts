// The bracket per example model (issue 13's figures): median and p90 seconds per point and per stage, the
// bracket's median width, how often upper < rho_hat, upper against FGSM (at eps), L-BFGS-B and pgd alone on
// the same points in the same run, the full restricted LP (--mode restrict) beside the ball-pruned one, and on
// mnist_mlp upper and lower against the exact value where the MILPs finish. Prints figures only.
// Usage: npx tsx bench/bracket.ts [model ...]
// env: POINTS (default 100) test digits per model; EXACT_POINTS (default 0) mnist_mlp digits for the MILP
// comparison (--mode milp, EXACT_SECONDS each, default 120); BASELINES=0 skips L-BFGS-B/FGSM/pgd.

import { mnistTestContext } from "./mnist-context.js";
import { modelInput } from "../runtime/run/session.js";
import { DEFAULT_LAZY } from "../runtime/lazy/lazy-loop.js";
import { rhoForPointMode } from "../runtime/rho/modes.js";
import { attackPoint } from "../runtime/rho/baselines.js";
import { quantile } from "../runtime/run/measure.js";
import type { BracketPoint, LpPoint, PointResult } from "../runtime/rho/result.js";

const POINTS = Number(process.env.POINTS ?? 100);
const EXACT_POINTS = Number(process.env.EXACT_POINTS ?? 0);
const EXACT_SECONDS = Number(process.env.EXACT_SECONDS ?? 120);
const BASELINES = process.env.BASELINES !== "0";
const EPS = 20;
const models = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ["mnist_mlp", "mnist_lenet", "mnist_cnn_bn", "mnist_nin"];

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return quantile(s, p);
};
const f = (v: number | null | undefined, d = 3) =>
  v === null || v === undefined ? "n/a" : Number.isFinite(v) ? v.toFixed(d) : "inf";
const pct = (a: number, b: number) => `${a}/${b} (${b > 0 ? ((100 * a) / b).toFixed(1) : "n/a"}%)`;
const dist = (p: PointResult) => (p.status === "adversarial" && p.rho !== null ? p.rho : Infinity);

console.log(
  `the bracket per point (rho --mode bracket, eps ${EPS} px), node ${process.version}, one thread, mnist:test 0..${POINTS - 1}`,
);
for (const name of models) {
  const { session, ctx } = await mnistTestContext(`examples/models/${name}.onnx`, { eps: EPS });
  const rows: { b: BracketPoint; r: LpPoint; fgsm?: LpPoint; lbfgsb?: LpPoint; pgd?: LpPoint }[] = [];
  const t0 = performance.now();
  for (let i = 0; i < POINTS; i++) {
    const x = modelInput(session, i),
      label = session.dataset.labels![i];
    const b = await rhoForPointMode(ctx, "bracket", i, x, label, EPS);
    if (b.status === "misclassified") continue;
    const r = await rhoForPointMode(ctx, "restrict", i, x, label, EPS);
    const row: (typeof rows)[number] = { b, r };
    if (BASELINES) {
      row.fgsm = await attackPoint(ctx, "fgsm", EPS, i, x, label);
      row.lbfgsb = await attackPoint(ctx, "lbfgsb", EPS, i, x, label);
      row.pgd = await attackPoint(ctx, "pgd", EPS, i, x, label);
    }
    rows.push(row);
    if (process.stderr.isTTY) process.stderr.write(`\r${name}: ${i + 1}/${POINTS}`);
  }
  if (process.stderr.isTTY) process.stderr.write("\n");
  const n = rows.length;
  console.log(
    `\n== ${name}: ${n} correctly classified of ${POINTS} (${((performance.now() - t0) / 1000).toFixed(0)} s for everything below)`,
  );
  const secs = rows.map((x) => x.b.seconds);
  console.log(`bracket seconds per point: median ${f(q(secs, 0.5))}, p90 ${f(q(secs, 0.9))}`);
  for (const st of ["attack", "walk", "restrict", "lower"]) {
    const v = rows.map((x) => x.b.stages?.[st] ?? 0);
    console.log(`  stage ${st.padEnd(8)} median ${f(q(v, 0.5))} s, p90 ${f(q(v, 0.9))} s`);
  }
  const rs = rows.map((x) => x.r.seconds);
  console.log(
    `full restricted LP (--mode restrict, the paper's rho_hat): median ${f(q(rs, 0.5))} s, p90 ${f(q(rs, 0.9))} s`,
  );
  const withUpper = rows.filter((x) => x.b.upper !== null);
  console.log(`checked upper bound: ${pct(withUpper.length, n)}`);
  const widths = withUpper.map((x) => x.b.upper! - x.b.lower!);
  console.log(
    `bracket width (upper - lower): median ${f(q(widths, 0.5))} px, p90 ${f(q(widths, 0.9))} px; median lower/upper ${f(
      q(
        withUpper.map((x) => x.b.lower! / x.b.upper!),
        0.5,
      ),
    )}`,
  );
  const hatFinite = rows.filter((x) => x.r.status === "adversarial");
  console.log(
    `full rho_hat finite on ${pct(hatFinite.length, n)}; upper < rho_hat on ${pct(hatFinite.filter((x) => x.b.upper != null && x.b.upper < x.r.rho! - 1e-9).length, hatFinite.length)}; median rho_hat/upper ${f(
      q(
        hatFinite.filter((x) => x.b.upper).map((x) => x.r.rho! / x.b.upper!),
        0.5,
      ),
    )}`,
  );
  const ballOk = rows.filter((x) => x.r.status === "adversarial" && x.r.rho! <= Math.max(x.b.upper ?? 0, EPS));
  console.log(
    `ball-pruned rho_hat equals the full one where that lies inside the ball: ${pct(ballOk.filter((x) => x.b.rhoHat !== null && Math.abs(x.b.rhoHat! - x.r.rho!) <= 1e-6 * (1 + x.r.rho!)).length, ballOk.length)}`,
  );
  const phiHat = rows.filter((x) => x.r.status === "adversarial" && x.r.rho! <= EPS).length;
  const phiLo = rows.filter((x) => x.b.upper != null && x.b.upper <= EPS).length,
    phiHi = rows.filter((x) => x.b.lower! <= EPS).length;
  console.log(`phi(${EPS}) in [${pct(phiLo, n)}, ${pct(phiHi, n)}]; the paper's phi_hat(${EPS}) ${pct(phiHat, n)}`);
  if (BASELINES) {
    const up = (x: (typeof rows)[number]) => x.b.upper ?? Infinity;
    for (const k of ["fgsm", "lbfgsb", "pgd"] as const) {
      const found = rows.filter((x) => dist(x[k]!) < Infinity);
      console.log(
        `  vs ${k.padEnd(6)}: it found an example on ${pct(found.length, n)}; upper <= its distance on ${pct(rows.filter((x) => up(x) <= dist(x[k]!) + 1e-9).length, n)}${k === "fgsm" ? `; FGSM within eps on ${pct(found.filter((x) => dist(x.fgsm!) <= EPS).length, n)}` : ""}; median seconds ${f(
          q(
            rows.map((x) => x[k]!.seconds),
            0.5,
          ),
        )}`,
      );
    }
    const all = rows.filter((x) => up(x) <= Math.min(dist(x.fgsm!), dist(x.lbfgsb!), dist(x.pgd!)) + 1e-9).length;
    console.log(`  upper <= min(FGSM, L-BFGS-B, pgd) on ${pct(all, n)}`);
  }
  if (name === "mnist_mlp" && EXACT_POINTS > 0) {
    const exact: { e: BracketPoint; b: BracketPoint }[] = [];
    for (const x of rows.slice(0, EXACT_POINTS)) {
      const c = { ...ctx, lazy: { ...DEFAULT_LAZY, timeLimit: EXACT_SECONDS } };
      const e = await rhoForPointMode(c, "milp", x.b.index, modelInput(session, x.b.index), x.b.label, EPS);
      exact.push({ e, b: x.b });
    }
    const closed = exact.filter((x) => x.e.status === "exact" && x.e.upper !== null);
    // Where the MILPs did not finish, their proven lower bound still bounds the bracket's excess from above.
    const proven = exact.filter((x) => x.b.upper != null && x.e.lower != null && x.e.lower > 0);
    const excess = proven.map((x) => (x.b.upper! - x.e.lower!) / x.e.lower!);
    console.log(
      `bracket upper against the MILPs' proven lower bound (all ${proven.length} points): (upper - milp lower)/milp lower median ${f(q(excess, 0.5), 4)}, p90 ${f(q(excess, 0.9), 4)} (an upper bound on (upper - exact)/exact)`,
    );
    console.log(
      `exact (MILP, ${EXACT_SECONDS} s each) closed on ${pct(closed.length, exact.length)}; there: median (upper - exact)/exact ${f(
        q(
          closed.map((x) => (x.b.upper! - x.e.upper!) / x.e.upper!),
          0.5,
        ),
        4,
      )}, p90 ${f(
        q(
          closed.map((x) => (x.b.upper! - x.e.upper!) / x.e.upper!),
          0.9,
        ),
        4,
      )}; median lower/exact ${f(
        q(
          closed.map((x) => x.b.lower! / x.e.upper!),
          0.5,
        ),
      )}`,
    );
  }
  await ctx.evaluator.dispose();
}
