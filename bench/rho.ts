// rho_hat speed on fixed points: the lazy loop (add all violated rows, or the k most violated) against the
// all-rows restricted LP in its reduced and layered forms (in-process HiGHS), with the paper's figures
// beside them. Prints figures only. Usage: npx tsx bench/rho.ts [model ...]
// env: POINTS (default 50) lazy points per model; FULL_POINTS (default 10) points for the all-rows LPs.

import { compileOptions } from "../compiler/passes/options.js";
import { compilePoint } from "../compiler/passes/pipeline.js";
import { solveLazy, DEFAULT_LAZY, type LazyOptions } from "../runtime/lazy/lazy-loop.js";
import { quantile } from "../runtime/run/measure.js";
import { Region } from "../runtime/lazy/region.js";
import { modelInput, openSession } from "../runtime/run/session.js";
import { createHighs } from "../runtime/solvers/highs.js";
import { rankLabels } from "../compiler/passes/target-label.js";
import { networkMatrices } from "../compiler/ir/matrices.js";
import { trace } from "../compiler/analysis/trace.js";

const POINTS = Number(process.env.POINTS ?? 50);
const FULL = Number(process.env.FULL_POINTS ?? 10);
const models = process.argv.slice(2).length ? process.argv.slice(2) : ["mnist_mlp", "mnist_lenet"];
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${quantile(s, 0.5)!.toFixed(3)} s, p90 ${quantile(s, 0.9)!.toFixed(3)} s`;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

console.log(
  `rho_hat per point (restricted LP, target = second most probable), node ${process.version}, one core per solve`,
);
console.log(
  "paper (Bastani et al. 2016, LeNet on MNIST): 1.5 s per point with iterative solving; > 2 minutes without it",
);
for (const name of models) {
  const s = openSession(`examples/models/${name}.onnx`, { data: "mnist:test", pixelScale: 255 });
  if (!s.ok) throw new Error(s.diagnostics[0].message);
  const net = s.value.network;
  const matrices = networkMatrices(net);
  const points = Array.from({ length: POINTS }, (_, i) => i);
  console.log(`\n== ${name}: ${POINTS} points (mnist:test 0..${POINTS - 1}); all-rows on the first ${FULL}`);
  const lazyRuns: [string, LazyOptions][] = [
    ["lazy (default: earliest layer, add all)", DEFAULT_LAZY],
    ["lazy, add 200 most violated", { ...DEFAULT_LAZY, add: 200 }],
    ["lazy, all layers at once", { ...DEFAULT_LAZY, scope: "all-layers" }],
    ["lazy, dual simplex only (no IPM)", { ...DEFAULT_LAZY, ipmRows: Infinity }],
  ];
  const lazySecs: Record<string, number[]> = {};
  for (const [label, opts] of lazyRuns) {
    const secs: number[] = [],
      its: number[] = [],
      added: number[] = [];
    const status: Record<string, number> = {};
    for (const i of points) {
      const x = modelInput(s.value, i);
      const t0 = performance.now();
      const star = trace(net, x);
      const target = rankLabels(star.logits)[1];
      const r = await solveLazy(
        { region: new Region(net, matrices, star.pattern), xStar: x, target, margin: 0, lower: 0, upper: 1 },
        opts,
      );
      secs.push((performance.now() - t0) / 1000);
      its.push(r.iterations);
      added.push(r.rowsAdded);
      status[r.status] = (status[r.status] ?? 0) + 1;
    }
    lazySecs[label] = secs;
    console.log(
      `${label.padEnd(30)} ${stats(secs)}; mean iterations ${mean(its).toFixed(1)}, mean rows added ${mean(added).toFixed(0)}; ${JSON.stringify(status)}`,
    );
  }
  for (const form of FULL > 0 ? (["reduced", "layered"] as const) : []) {
    const o = compileOptions({ form });
    if (!o.ok) throw new Error("options");
    const secs: number[] = [],
      build: number[] = [];
    let rows = 0,
      nnz = 0;
    for (const i of points.slice(0, FULL)) {
      const x = modelInput(s.value, i);
      const t0 = performance.now();
      const c = compilePoint(net, x, o.value, { name: "b", header: () => [] });
      const t1 = performance.now();
      await createHighs().solve(c.targets[0].lp, { timeLimit: 600 });
      secs.push((performance.now() - t0) / 1000);
      build.push((t1 - t0) / 1000);
      rows = c.targets[0].lp.rowNames.length;
      nnz = c.targets[0].lp.indptr[rows];
    }
    const ratio =
      quantile(
        [...secs].sort((a, b) => a - b),
        0.5,
      )! /
      quantile(
        [...lazySecs["lazy (default: earliest layer, add all)"].slice(0, FULL)].sort((a, b) => a - b),
        0.5,
      )!;
    console.log(
      `${`all rows, ${form}`.padEnd(30)} ${stats(secs)} (building the LP: median ${quantile(
        [...build].sort((a, b) => a - b),
        0.5,
      )!.toFixed(3)} s); ${rows} rows, ${nnz} nonzeros; all-rows / lazy (median, same points) = ${ratio.toFixed(1)}x`,
    );
  }
}
