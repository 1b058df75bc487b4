// Input gradients from the Network IR: against central finite differences (where the linear region does
// not change), against the rows of the `reduced` form (the same linear map), and FGSM's box and step.

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import { compileOptions } from "../../../compiler/passes/options.js";
import { compilePoint } from "../../../compiler/passes/pipeline.js";
import { conjunctionBlocks } from "../../../compiler/passes/eliminate.js";
import { crossEntropyGradient } from "../../../runtime/attacks/gradient.js";
import { logitCombinationGradient } from "../../../runtime/lazy/region.js";
import { ReferenceEngine } from "../../../runtime/engine/index.js";
import { trace, type Trace } from "../../../compiler/analysis/trace.js";
import { samePattern } from "../../../compiler/ir/pattern.js";
import type { Network } from "../../../compiler/ir/network.js";
import type { NetworkMatrices } from "../../../compiler/ir/matrices.js";
import { fgsmExample } from "../../../runtime/attacks/fgsm.js";
import { referenceLogits } from "../../../runtime/evaluator/reference.js";
import { networkArb, prng, randomInputs } from "../../helpers/arbitraries.js";
import { networkMatrices } from "../../../compiler/ir/matrices.js";

const samePhases = (a: Trace, b: Trace) => samePattern(a.pattern, b.pattern);
const fastTrace = (net: Network, m: NetworkMatrices, x: Float64Array) => trace(net, x, { matrices: m });

describe("runtime/attacks/gradient", function () {
  this.timeout(120_000);
  it("the CSR trace computes the reference logits", () => {
    fc.assert(
      fc.property(networkArb, fc.integer(), (r, seed) => {
        const l = loadNetworkFromBytes(r.bytes);
        assert.ok(l.ok);
        const net = l.value.network,
          m = networkMatrices(net);
        for (const x of randomInputs(net.inputShape, 2, seed)) {
          const a = fastTrace(net, m, x).logits,
            b = referenceLogits(net, x);
          a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-9 * (1 + Math.abs(b[i]))));
        }
      }),
      { numRuns: 100, seed: 31 },
    );
  });

  it("logit and cross-entropy gradients match central finite differences along random directions", () => {
    let checked = 0;
    fc.assert(
      fc.property(networkArb, fc.integer(), (r, seed) => {
        const l = loadNetworkFromBytes(r.bytes);
        assert.ok(l.ok);
        const net = l.value.network,
          m = networkMatrices(net);
        const [x] = randomInputs(net.inputShape, 1, seed);
        const rand = prng(seed);
        const d = x.map(() => 2 * rand() - 1);
        const h = 1e-6;
        const xp = x.map((v, i) => v + h * d[i]),
          xm = x.map((v, i) => v - h * d[i]);
        const t = fastTrace(net, m, x),
          tp = fastTrace(net, m, xp),
          tm = fastTrace(net, m, xm);
        if (!samePhases(t, tp) || !samePhases(t, tm)) return; // a region boundary within h: no derivative
        checked++;
        const label = (seed >>> 0) % t.logits.length;
        for (let k = 0; k < t.logits.length; k++) {
          const w = t.logits.map((_, j) => (j === k ? 1 : 0));
          const g = logitCombinationGradient(net, m, t, w);
          const fd = (tp.logits[k] - tm.logits[k]) / (2 * h);
          const an = g.reduce((a, v, i) => a + v * d[i], 0);
          assert.ok(Math.abs(fd - an) <= 1e-5 * (1 + Math.abs(an)), `${r.description}: logit ${k}: ${fd} vs ${an}`);
        }
        const ce = crossEntropyGradient(net, m, x, label);
        const fd =
          (crossEntropyGradient(net, m, xp, label).loss - crossEntropyGradient(net, m, xm, label).loss) / (2 * h);
        const an = ce.grad.reduce((a, v, i) => a + v * d[i], 0);
        assert.ok(Math.abs(fd - an) <= 1e-5 * (1 + Math.abs(an)), `${r.description}: loss: ${fd} vs ${an}`);
      }),
      { numRuns: 150, seed: 32 },
    );
    assert.ok(checked >= 100, `only ${checked} networks checked`);
  });

  it("∇(y_l − y_l') equals the C_out row of the reduced form at x* (the same linear map)", () => {
    fc.assert(
      fc.property(networkArb, fc.integer(), (r, seed) => {
        const l = loadNetworkFromBytes(r.bytes);
        assert.ok(l.ok);
        const net = l.value.network,
          m = networkMatrices(net);
        const [x] = randomInputs(net.inputShape, 1, seed);
        const o = compileOptions({ form: "reduced", pixelScale: 1, pixelMax: 1 });
        assert.ok(o.ok);
        const c = compilePoint(net, x, o.value, { name: "g", header: () => [] });
        const target = c.targets[0].label;
        const out = conjunctionBlocks(c.targets[0].problem.constraint).find((b) => b.name === `out_y${target}`)!;
        const t = fastTrace(net, m, x);
        let row = 0;
        for (let k = 0; k < t.logits.length; k++) {
          if (k === target) continue;
          const g = logitCombinationGradient(
            net,
            m,
            t,
            t.logits.map((_, j) => (j === target ? 1 : j === k ? -1 : 0)),
          );
          const dense = new Float64Array(x.length);
          for (let q = out.indptr[row]; q < out.indptr[row + 1]; q++) dense[out.cols[q]] = out.vals[q];
          g.forEach((v, i) =>
            assert.ok(Math.abs(v - dense[i]) <= 1e-9 * (1 + Math.abs(v)), `${r.description}: row ${row} col ${i}`),
          );
          row++;
        }
      }),
      { numRuns: 100, seed: 33 },
    );
  });

  it("FGSM steps eps along the sign of the loss gradient and stays in the box", async () => {
    await fc.assert(
      fc.asyncProperty(
        networkArb,
        fc.integer(),
        fc.double({ min: 0.001, max: 0.5, noNaN: true }),
        async (r, seed, eps) => {
          const l = loadNetworkFromBytes(r.bytes);
          assert.ok(l.ok);
          const net = l.value.network,
            m = networkMatrices(net);
          const [x] = randomInputs(net.inputShape, 1, seed);
          const y = await fgsmExample(new ReferenceEngine(net, m), x, 0, eps, 0, 1);
          const { grad } = crossEntropyGradient(net, m, x, 0);
          y.forEach((v, i) => {
            assert.ok(v >= 0 && v <= 1);
            assert.ok(Math.abs(v - x[i]) <= eps + 1e-15);
            if (grad[i] !== 0 && v > 0 && v < 1)
              assert.ok(Math.abs(Math.abs(v - x[i]) - eps) < 1e-12 && Math.sign(v - x[i]) === Math.sign(grad[i]));
          });
        },
      ),
      { numRuns: 100, seed: 34 },
    );
  });
});
