// The batched search's root bounds on max-pool and conv networks (runtime/bab/root-bounds.ts): per model, digit and
// radius, the reference's back-substitution of the layers the engine leaves to intervals (estimated and measured
// seconds), and the batched search on the box with the engine's bounds alone and with the root bounds (status,
// subdomains, the lowest open bound), SECONDS each. Prints figures only.
// Usage: npx tsx bench/root-bounds.ts   env: MODELS (default mnist_lenet,mnist_lenet_caffe), DIGITS (default 0,1),
// EPS (radii in pixels, default 2,4,6), SECONDS (default 10)

import { networkMatrices } from "../compiler/ir/matrices.js";
import { radiusBox } from "../compiler/index.js";
import { DEFAULT_BATCHED_BAB, proveRows } from "../runtime/bab/batched.js";
import { deepRootBounds } from "../runtime/bab/root-bounds.js";
import { marginRows } from "../runtime/rho/lower.js";
import { disposeContext } from "../runtime/run/point-runner.js";
import { mnistTestContext } from "./mnist-context.js";
import { modelInput } from "../runtime/run/session.js";

const MODELS = (process.env.MODELS ?? "mnist_lenet,mnist_lenet_caffe").split(","),
  DIGITS = (process.env.DIGITS ?? "0,1").split(",").map(Number),
  EPS = (process.env.EPS ?? "2,4,6").split(",").map(Number),
  SECONDS = Number(process.env.SECONDS ?? 10);

console.log(`the batched search without and with root bounds, ${SECONDS} s each`);
console.log(
  "| model | digit | eps px | root bounds: estimated s | taken s | engine alone: status | subdomains | open | with root bounds: status | subdomains | open |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const name of MODELS) {
  const { session, ctx } = await mnistTestContext(`examples/models/${name}.onnx`);
  const net = ctx.net,
    m = networkMatrices(net),
    K = ctx.engine.outputSize;
  for (const digit of DIGITS) {
    const x = Float64Array.from(modelInput(session, digit));
    const y = await ctx.engine.forward(x, 1);
    const p = y.indexOf(Math.max(...y));
    for (const px of EPS) {
      const box = radiusBox(x, px / 255, 0, 1);
      const t0 = performance.now();
      const root = deepRootBounds(ctx.engine, net, m, box.lower, box.upper, Infinity);
      const taken = (performance.now() - t0) / 1000;
      const run = (withRoot: boolean) =>
        proveRows(ctx.engine, net, box.lower, box.upper, marginRows(p, K), K - 1, {
          ...DEFAULT_BATCHED_BAB,
          deadline: performance.now() + SECONDS * 1000,
          ...(withRoot && root ? { rootBounds: root.bounds } : {}),
        });
      const a = await run(false),
        b = await run(true);
      const cell = (r: typeof a) =>
        `${r.status} | ${r.nodes} | ${Number.isFinite(r.openValue) ? r.openValue.toFixed(3) : "—"}`;
      console.log(
        `| ${name} | ${digit} | ${px} | ${root ? root.estimate.toFixed(2) : "—"} | ${taken.toFixed(2)} | ${cell(a)} | ${cell(b)} |`,
      );
    }
  }
  await disposeContext(ctx);
}
