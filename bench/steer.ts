// The bounds graph's float64 (certifying) and float32 (steering: BoundsAsk.steer, no rows' pad, onnxruntime's own
// Conv and ConvTranspose) variants side by side, as the optimisation calls them (runtime/engine/optimise.ts): per
// example model, ms per box of the optimisable graph with the intermediate layers back-substituted (refine, a first
// call) and without (the rows' pass alone, an iteration; with intervals, and with the first call's intermediate
// bounds as clamps taken as they are, BoundsAsk.intervals = false, as optimise.ts's iterations now run it), R = 9
// margins over boxes of radius EPS around mnist:test digits, B boxes per session.run, one intra-op thread, and the largest relative difference of the bounds. Figures,
// never assertions. Each cell repeats until SECONDS have passed after one warm-up run.
//
//   npx tsx bench/steer.ts
//   MODELS=mnist_mlp B=32 SECONDS=2 R=1 npx tsx bench/steer.ts   (R: rows per box, default 9)

import * as ort from "onnxruntime-node";
import { cpus, loadavg } from "node:os";
import { BOUNDS_IO, boundsGraph, poolLayers, reluLayers, sizeOf, unwrap, type Network } from "../compiler/index.js";
import { networkMatrices } from "../compiler/ir/matrices.js";
import { engineSession } from "../runtime/engine/onnxruntime.js";
import { modelInput, openSession } from "../runtime/run/session.js";

const MODELS = (process.env.MODELS ?? "mnist_mlp,mnist_lenet,mnist_lenet_caffe,mnist_nin").split(",");
const B = Number(process.env.B ?? 32),
  R = Number(process.env.R ?? 9),
  SECONDS = Number(process.env.SECONDS ?? 2),
  EPS = Number(process.env.EPS ?? 2 / 255);

type Precision = "float64" | "float32";

/** The feeds of B boxes around digits 0..B-1 (DeepPoly's slopes, no clamps, margins of label 0 against the rest). */
function feeds(net: Network, x: Float64Array, precision: Precision): Record<string, ort.Tensor> {
  const n = sizeOf(net.inputShape),
    K = sizeOf(net.layers[net.output].shape);
  const T = (d: Float64Array, dims: number[]) =>
    new ort.Tensor(precision, precision === "float64" ? d : Float32Array.from(d), dims);
  const rows = new Float64Array(B * R * K);
  for (let b = 0; b < B; b++)
    for (let r = 0; r < R; r++) {
      rows[(b * R + r) * K] = 1;
      rows[(b * R + r) * K + r + 1] = -1;
    }
  const f: Record<string, ort.Tensor> = {
    [BOUNDS_IO.lower]: T(
      x.map((v) => Math.max(0, v - EPS)),
      [B, n],
    ),
    [BOUNDS_IO.upper]: T(
      x.map((v) => Math.min(1, v + EPS)),
      [B, n],
    ),
    [BOUNDS_IO.rows]: T(rows, [B, R, K]),
  };
  for (const id of reluLayers(net)) {
    const w = sizeOf(net.layers[id].shape);
    f[BOUNDS_IO.slopes(id)] = T(new Float64Array(B * w).fill(-1), [B, w]);
    f[BOUNDS_IO.clampLower(id)] = T(new Float64Array(B * w).fill(-Infinity), [B, w]);
    f[BOUNDS_IO.clampUpper(id)] = T(new Float64Array(B * w).fill(Infinity), [B, w]);
    f[BOUNDS_IO.rowSlopes(id)] = T(new Float64Array(B * R * w).fill(-1), [B, R, w]);
    f[BOUNDS_IO.multipliers(id)] = T(new Float64Array(B * R * w), [B, R, w]);
  }
  for (const id of poolLayers(net)) {
    const w = sizeOf(net.layers[(net.layers[id] as { input: number }).input].shape);
    f[BOUNDS_IO.clampLower(id)] = T(new Float64Array(B * w).fill(-Infinity), [B, w]);
    f[BOUNDS_IO.clampUpper(id)] = T(new Float64Array(B * w).fill(Infinity), [B, w]);
    f[BOUNDS_IO.multipliers(id)] = T(new Float64Array(B * R * w), [B, R, w]);
  }
  return f;
}

console.log(
  `bounds graph, float64 vs float32 steering: ms per box, B = ${B}, R = ${R}, eps = ${(EPS * 255).toFixed(1)}/255, ` +
    `1 thread; ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`,
);
console.log("| model | pass | float64 ms/box | float32 ms/box | speed-up | largest relative difference |");
console.log("|---|---|---|---|---|---|");
for (const name of MODELS) {
  const session = unwrap(openSession(`examples/models/${name}.onnx`, { data: "mnist:test", pixelScale: 255 }));
  const net = session.network;
  const m = networkMatrices(net);
  const n = sizeOf(net.inputShape);
  const x = new Float64Array(B * n);
  for (let b = 0; b < B; b++) x.set(modelInput(session, b), b * n);
  // The first call's intermediate bounds (float64), the clamps of the "clamps as bounds" pass.
  const first = await engineSession(unwrap(boundsGraph(net, m, { optimisable: true })), 1, true);
  const firstOut = await first.run(feeds(net, x, "float64"));
  await first.release();
  for (const pass of ["refine", "rows", "given"] as const) {
    const refine = pass === "refine",
      intervals = pass !== "given";
    const ms: Record<string, number> = {},
      bound: Record<string, Float64Array> = {};
    for (const precision of ["float64", "float32"] as const) {
      const s = await engineSession(
        unwrap(boundsGraph(net, m, { optimisable: true, refine, intervals, precision })),
        1,
        precision === "float64",
      );
      const f = feeds(net, x, precision);
      if (pass !== "refine")
        for (const id of [...reluLayers(net), ...poolLayers(net)]) {
          const T = (name: string) => {
            const d = firstOut[name].data as Float64Array;
            return new ort.Tensor(precision, precision === "float64" ? d : Float32Array.from(d), firstOut[name].dims);
          };
          f[BOUNDS_IO.clampLower(id)] = T(BOUNDS_IO.preLower(id));
          f[BOUNDS_IO.clampUpper(id)] = T(BOUNDS_IO.preUpper(id));
        }
      bound[precision] = Float64Array.from((await s.run(f))[BOUNDS_IO.bound].data as Float64Array);
      const t0 = performance.now();
      let k = 0;
      while (performance.now() - t0 < SECONDS * 1000) {
        await s.run(f);
        k++;
      }
      ms[precision] = (performance.now() - t0) / k / B;
      await s.release();
    }
    let worst = 0;
    bound.float64.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - bound.float32[i]) / (1 + Math.abs(v)))));
    console.log(
      `| ${name} | ${{ refine: "intermediate layers and rows", rows: "rows alone", given: "rows alone, clamps as bounds" }[pass]} | ${ms.float64.toFixed(3)} | ` +
        `${ms.float32.toFixed(3)} | ${(ms.float64 / ms.float32).toFixed(2)}× | ${worst.toExponential(1)} |`,
    );
  }
}
