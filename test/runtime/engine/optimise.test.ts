// The optimisable bounds graph's gradient (bounds-graph.ts "Optimisable"): on mnist_mlp and mnist_lenet, around a
// test digit, the derivative of a margin's bound in an unstable neuron's row slope (coefficient⁺·ẑ) and in a split
// neuron's multiplier (ẑ) matches a finite difference of the bound itself (the intermediate bounds passed back as
// clamps, refine = false, as the optimisation's steps run it); a few optimisation steps raise the bound.

import assert from "node:assert/strict";
import { radiusBox, sizeOf } from "../../../compiler/index.js";
import { networkMatrices } from "../../../compiler/ir/matrices.js";
import { openEngine } from "../../../runtime/engine/index.js";
import { optimisedBounds } from "../../../runtime/engine/optimise.js";
import { marginRows } from "../../../runtime/rho/lower.js";
import { modelInput, openSession } from "../../../runtime/run/session.js";

describe("runtime/engine: the optimisable bounds' gradient", function () {
  this.timeout(120_000);
  for (const [model, eps] of [
    ["mnist_mlp", 12 / 255],
    ["mnist_lenet", 3 / 255],
  ] as const)
    it(`${model}: slope and multiplier derivatives equal finite differences; optimising raises the bound`, async () => {
      const s = openSession(`examples/models/${model}.onnx`, { data: "mnist:test", pixelScale: 255 });
      assert.ok(s.ok);
      const net = s.value.network;
      const engine = openEngine(net, networkMatrices(net), "onnxruntime");
      try {
        const x = Float64Array.from(modelInput(s.value, 0));
        const y = await engine.forward(x, 1);
        const p = y.indexOf(Math.max(...y));
        const K = engine.outputSize,
          R = K - 1,
          G = marginRows(p, K);
        const box = radiusBox(x, eps, 0, 1);
        const widths = engine.slopeLayers.map((id) => sizeOf(net.layers[id].shape));
        const base = await engine.bounds(box.lower, box.upper, G, R, 1, undefined, undefined, {
          coefficients: true,
          relaxed: true,
        });
        const pre = base.preActivation;
        const clamps = pre.map((q) => ({ lower: q.lower, upper: q.upper }));
        const probe = async (li: number, j: number, r: number, kind: "slope" | "multiplier", value: number) => {
          const given = widths.map((w) => new Float64Array(R * w).fill(kind === "slope" ? -1 : 0));
          given[li][r * widths[li] + j] = value;
          const b = await engine.bounds(box.lower, box.upper, G, R, 1, undefined, clamps, {
            refine: false,
            ...(kind === "slope" ? { rowSlopes: given } : { multipliers: given }),
          });
          return b.lower[r];
        };
        let slopes = 0,
          multipliers = 0;
        for (let li = 0; li < widths.length; li++) {
          const w = widths[li];
          for (let j = 0; j < w; j++) {
            const l = pre[li].lower[j],
              u = pre[li].upper[j];
            const r = j % R,
              k = r * w + j;
            const coef = base.coefficients![li][k],
              zhat = base.relaxed![li][k];
            if (l < 0 && u > 0 && coef > 1e-3 && slopes < 4) {
              // From DeepPoly's slope a ∈ {0, 1}, a step of h into [0, 1].
              const a = u >= -l ? 1 : 0,
                h = a === 1 ? -1e-4 : 1e-4;
              const fd = ((await probe(li, j, r, "slope", a + h)) - base.lower[r]) / h;
              const grad = coef * zhat;
              assert.ok(Math.abs(fd - grad) <= 1e-3 * Math.abs(grad) + 1e-9, `slope ${li}/${j}: ${fd} vs ${grad}`);
              slopes++;
            } else if ((l >= 0 || u <= 0) && Math.abs(zhat) > 1e-3 && multipliers < 4) {
              // A stable neuron stands for a split one: γ of the sign its bounds allow.
              const h = l >= 0 ? -1e-4 : 1e-4;
              const fd = ((await probe(li, j, r, "multiplier", h)) - base.lower[r]) / h;
              assert.ok(Math.abs(fd - zhat) <= 1e-3 * Math.abs(zhat) + 1e-9, `multiplier ${li}/${j}: ${fd} vs ${zhat}`);
              multipliers++;
            }
          }
        }
        assert.ok(slopes >= 3 && multipliers >= 3, `${slopes} slopes and ${multipliers} multipliers probed`);
        const opt = await optimisedBounds(engine, net, box.lower, box.upper, G, R, 1, { iterations: 10 });
        const sum = (v: Float64Array) => v.reduce((a, b) => a + b, 0);
        assert.ok(sum(opt.lower) > sum(base.lower), `optimised ${sum(opt.lower)} vs DeepPoly's ${sum(base.lower)}`);
      } finally {
        await engine.dispose();
      }
    });
});
