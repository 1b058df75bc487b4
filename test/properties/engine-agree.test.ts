// Property: on random networks of every layer kind the IR has (dense, conv, max-pool, average pool, batch
// norm / scale-shift, add, sub, reshapes of every sort), built by the project's ONNX writer, the engine's two
// backends agree — the onnxruntime backend (the generated graphs, float32) and the reference backend (the float64
// trace and the region backward pass):
//   forward    max |logit difference| ≤ 1e-4 · (1 + max |logit|)
//   gradient   max |difference| ≤ 1e-3 · (1 + max |reference gradient|), for inputs whose float64 pattern is
//              not within float32 noise of a pattern boundary (a ReLU pre-activation or a max-pool window's
//              runner-up within 1e-5 · (1 + max |value|)); exact ties (blank inputs) are kept: both backends
//              break them the same way
// and the reference gradient equals central finite differences of the float64 trace along a random direction
// (where the pattern is the same at both ends, the segment lies in one linear region: the difference quotient
// is the directional derivative up to rounding). The forward graph, lowered back by the project's own front-end,
// computes the same logits (its weights are float32: within 1e-5 · (1 + max |logit|)).

import assert from "node:assert/strict";
import fc from "fast-check";
import { forwardGraph } from "../../compiler/engine/forward-graph.js";
import { networkMatrices } from "../../compiler/ir/matrices.js";
import { sizeOf, type Network } from "../../compiler/ir/network.js";
import { samePattern } from "../../compiler/ir/pattern.js";
import { trace } from "../../compiler/analysis/trace.js";
import { loadNetworkFromBytes } from "../../compiler/frontend/onnx/lower.js";
import { openEngine } from "../../runtime/engine/index.js";
import { convArb, layerZooArb, mlpArb, prng, type RandomNet } from "../helpers/arbitraries.js";

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/**
 * How near x's float64 pattern is to a boundary: the smallest |pre-activation| of a ReLU and the smallest
 * nonzero gap between a max-pool window's maximum and another of its elements, relative to 1 + max |value|.
 */
function patternMargin(net: Network, x: Float64Array): number {
  const t = trace(net, x);
  let m = Infinity;
  for (const l of net.layers) {
    if (l.kind !== "relu" && l.kind !== "maxpool") continue;
    const u = t.values[l.input];
    const scale = 1 + maxAbs(u);
    if (l.kind === "relu") for (const v of u) m = v === 0 ? m : Math.min(m, Math.abs(v) / scale);
    else {
      const choice = t.pattern.layers.get(l.id)!;
      const g = l.geometry;
      for (let j = 0; j < choice.length; j++) {
        const best = u[choice[j]];
        const c = Math.floor(j / (g.outH * g.outW)),
          oy = Math.floor(j / g.outW) % g.outH,
          ox = j % g.outW;
        for (let ky = 0; ky < g.kernel[0]; ky++)
          for (let kx = 0; kx < g.kernel[1]; kx++) {
            const y = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0],
              xx = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
            if (y < 0 || y >= g.inH || xx < 0 || xx >= g.inW) continue;
            const gap = best - u[(c * g.inH + y) * g.inW + xx];
            if (gap !== 0) m = Math.min(m, Math.abs(gap) / scale);
          }
      }
    }
  }
  return m;
}

/** Three inputs in [0, 1]: uniform noise, a blank background with a bright patch (tied windows), all blank. */
function inputs(shape: readonly number[], seed: number): Float64Array[] {
  const r = prng(seed),
    n = sizeOf(shape);
  const noise = Float64Array.from({ length: n }, () => Math.fround(r()));
  const patch = new Float64Array(n);
  const start = Math.floor(r() * n);
  for (let i = start; i < Math.min(n, start + Math.ceil(n / 4)); i++) patch[i] = Math.fround(0.5 + 0.5 * r());
  return [noise, patch, new Float64Array(n)];
}

interface Stats {
  /** Inputs whose gradients were compared, and skipped as within float32 noise of a pattern boundary. */
  compared: number;
  skipped: number;
  /** Networks whose reference gradient met the finite differences. */
  fd: number;
}

async function agree(rn: RandomNet, seed: number, stats: Stats): Promise<void> {
  const loaded = loadNetworkFromBytes(rn.bytes, rn.description);
  assert.ok(loaded.ok, `${rn.description}: ${!loaded.ok ? loaded.diagnostics.map((d) => d.message).join("; ") : ""}`);
  const net = loaded.value.network;
  const m = networkMatrices(net);
  const [n, K] = [sizeOf(net.inputShape), sizeOf(net.layers[net.output].shape)];
  const xs = inputs(net.inputShape, seed);
  const B = xs.length;
  const x = new Float64Array(B * n);
  xs.forEach((v, b) => x.set(v, b * n));
  const r = prng(seed ^ 0x5eed);
  const w = Float64Array.from({ length: B * K }, () => 2 * r() - 1);
  const ref = openEngine(net, m, "reference");
  const ort = openEngine(net, m, "onnxruntime", { threads: 1 });
  try {
    const [y64, y32] = [await ref.forward(x, B), await ort.forward(x, B)];
    const [g64, g32] = [await ref.vjp(x, w, B), await ort.vjp(x, w, B)];
    for (let b = 0; b < B; b++) {
      const at = (a: Float64Array, width: number) => a.subarray(b * width, (b + 1) * width);
      const tolY = 1e-4 * (1 + maxAbs(at(y64, K)));
      assert.ok(maxDiff(at(y64, K), at(y32, K)) <= tolY, `${rn.description}: forward of input ${b}`);
      assert.ok(maxDiff(at(y64, K), at(g32.logits, K)) <= tolY, `${rn.description}: the gradient graph's logits, ${b}`);
      assert.deepEqual(at(g64.logits, K), at(y64, K), `${rn.description}: the reference's logits, ${b}`);
      if (patternMargin(net, xs[b]) < 1e-5) {
        stats.skipped++;
        continue;
      }
      stats.compared++;
      const ga = at(g64.gradient, n),
        gb = at(g32.gradient, n);
      const tolG = 1e-3 * (1 + maxAbs(ga));
      assert.ok(maxDiff(ga, gb) <= tolG, `${rn.description}: gradient of input ${b}: ${maxDiff(ga, gb)} > ${tolG}`);
    }
    // The reference gradient against central differences of the float64 trace, along a random direction.
    const x0 = xs[0];
    const d = Float64Array.from({ length: n }, () => 2 * r() - 1);
    const h = 1e-6;
    const plus = x0.map((v, i) => v + h * d[i]),
      minus = x0.map((v, i) => v - h * d[i]);
    const [tp, tm, t0] = [trace(net, plus), trace(net, minus), trace(net, x0)];
    if (samePattern(tp.pattern, t0.pattern) && samePattern(tm.pattern, t0.pattern)) {
      const w0 = w.subarray(0, K);
      const f = (y: Float64Array) => y.reduce((s, v, k) => s + w0[k] * v, 0);
      const fd = (f(tp.logits) - f(tm.logits)) / (2 * h);
      const dot = g64.gradient.subarray(0, n).reduce((s, v, i) => s + v * d[i], 0);
      // Rounding in f(x ± h·d) is ~1e-15 · (1 + Σ|w_k y_k|), divided by 2h: 1e-6 leaves a factor 1000.
      const size = 1 + t0.logits.reduce((a, v, k) => a + Math.abs(w0[k] * v), 0);
      stats.fd++;
      assert.ok(
        Math.abs(fd - dot) <= 1e-6 * (size + Math.abs(dot)),
        `${rn.description}: finite differences ${fd} vs ${dot}`,
      );
    }
  } finally {
    await ort.dispose();
  }
  // The forward graph in the project's own front-end: the same network up to float32 weights.
  const fg = forwardGraph(net);
  assert.ok(fg.ok, rn.description);
  const back = loadNetworkFromBytes(fg.value, `${rn.description} (forward graph)`);
  assert.ok(back.ok, `${rn.description}: ${!back.ok ? back.diagnostics.map((d) => d.message).join("; ") : ""}`);
  for (const v of xs) {
    const a = trace(net, v).logits,
      b = trace(back.value.network, v).logits;
    assert.ok(maxDiff(a, b) <= 1e-5 * (1 + maxAbs(a)), `${rn.description}: the forward graph's network differs`);
  }
}

describe("properties: the engine's onnxruntime backend = its reference backend", function () {
  this.timeout(120_000);
  const cases: [string, fc.Arbitrary<RandomNet>, number, number][] = [
    ["random MLPs (Gemm, MatMul+Add, Relu; rank-1 inputs)", mlpArb, 100, 2301],
    ["random conv nets (conv, relu, maxpool, avgpool, batchnorm, pad, residual add, flatten)", convArb, 150, 2302],
    [
      "random nets of every layer kind (grouped/dilated conv, ceil-mode pools, sub, neg, transpose, slice, repeated gather)",
      layerZooArb,
      200,
      2303,
    ],
  ];
  for (const [what, arb, numRuns, seed] of cases) {
    it(`on ${numRuns} ${what}`, async () => {
      const stats: Stats = { compared: 0, skipped: 0, fd: 0 };
      await fc.assert(
        fc.asyncProperty(arb, fc.integer(), (rn, s) => agree(rn, s, stats)),
        { numRuns, seed },
      );
      // Most inputs' gradients are compared (a skip is an input within float32 noise of a pattern boundary).
      assert.ok(stats.compared >= 2 * stats.skipped, `gradients compared ${stats.compared}, skipped ${stats.skipped}`);
      // ... and most networks' reference gradient meets the finite differences (else a pattern changed within h).
      assert.ok(stats.fd >= numRuns / 2, `finite differences on ${stats.fd} of ${numRuns} networks`);
    });
  }
});
