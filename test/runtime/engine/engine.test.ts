// The engine's backends (runtime/engine/) on the bundled example models and on hand-made max-pool ties:
// onnxruntime (the generated graphs, float32) against reference (the float64 trace and region backward pass),
// at batch 1 and 8, on logits and margin gradients; MaxPool ties (MNIST's blank background) follow the IR's
// rule — the first maximal element in row-major order — never an equality mask; the interface's checks.

import assert from "node:assert/strict";
import { trace } from "../../../compiler/analysis/trace.js";
import { OnnxBuilder } from "../../../compiler/frontend/onnx/write.js";
import { loadNetwork, loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import { layerWindows, networkMatrices } from "../../../compiler/ir/matrices.js";
import type { Network } from "../../../compiler/ir/network.js";
import { flip, type Flip } from "../../../compiler/ir/pattern.js";
import { logitCombinationGradient } from "../../../runtime/lazy/region.js";
import { engineProvider, openEngine } from "../../../runtime/engine/index.js";
import { cudaInstalled } from "../../../runtime/evaluator/onnxruntime.js";
import { modelInput, openSession } from "../../../runtime/run/session.js";

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const argmax = (a: ArrayLike<number>) => Array.from(a).reduce((b, v, i, all) => (v > all[b] ? i : b), 0);

function load(name: string): { net: Network; digits: Float64Array[] } {
  const s = openSession(`examples/models/${name}.onnx`, { data: "mnist:test", pixelScale: 255 });
  assert.ok(s.ok);
  return { net: s.value.network, digits: Array.from({ length: 8 }, (_, i) => modelInput(s.value, i)) };
}

/** Per digit, the margin weights e_pred − e_second of the reference logits. */
function marginWeights(logits: Float64Array, K: number, B: number): Float64Array {
  const w = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    const y = logits.subarray(b * K, (b + 1) * K);
    const top = argmax(y);
    const second = argmax(y.map((v, k) => (k === top ? -Infinity : v)));
    w[b * K + top] = 1;
    w[b * K + second] = -1;
  }
  return w;
}

describe("runtime/engine: onnxruntime = reference on the example models", function () {
  this.timeout(60_000);
  for (const name of ["mnist_mlp", "mnist_lenet", "mnist_lenet_caffe", "mnist_cnn_bn", "mnist_nin"]) {
    for (const B of [1, 8]) {
      it(`${name}, batch ${B}: logits and margin gradients agree`, async () => {
        const { net, digits } = load(name);
        const m = networkMatrices(net);
        const ref = openEngine(net, m, "reference");
        const ort = openEngine(net, m, "onnxruntime");
        const [n, K] = [ref.inputSize, ref.outputSize];
        assert.equal(ort.inputSize, n);
        assert.equal(ort.outputSize, K);
        const x = new Float32Array(B * n);
        digits.slice(0, B).forEach((d, b) => x.set(d, b * n));
        try {
          const y64 = await ref.forward(x, B),
            y32 = await ort.forward(x, B);
          assert.ok(maxDiff(y64, y32) <= 1e-4 * (1 + maxAbs(y64)), `logits: ${maxDiff(y64, y32)}`);
          const w = marginWeights(y64, K, B);
          const g64 = await ref.vjp(x, w, B),
            g32 = await ort.vjp(x, w, B);
          assert.deepEqual(g64.logits, y64);
          assert.ok(maxDiff(g32.logits, y64) <= 1e-4 * (1 + maxAbs(y64)));
          for (let b = 0; b < B; b++) {
            const a = g64.gradient.subarray(b * n, (b + 1) * n),
              c = g32.gradient.subarray(b * n, (b + 1) * n);
            assert.ok(maxAbs(a) > 0, `digit ${b}: a zero margin gradient`);
            assert.ok(maxDiff(a, c) <= 1e-4 * maxAbs(a), `digit ${b}: gradient differs by ${maxDiff(a, c)}`);
          }
        } finally {
          await ort.dispose();
        }
      });
    }
  }
});

describe("runtime/engine: max-pool ties go to the first maximal element", function () {
  this.timeout(60_000);

  it("mnist_lenet on a digit: tied windows over the blank background, and the tie rule decides the gradient", async () => {
    const { net, digits } = load("mnist_lenet");
    const m = networkMatrices(net);
    const x = digits[0];
    const t = trace(net, x, { matrices: m });
    // Windows of the first max-pool whose maximum is positive (the ReLU before it active) and tied.
    const pool = net.layers.find((l) => l.kind === "maxpool")!;
    assert.ok(pool.kind === "maxpool");
    const win = layerWindows(pool),
      u = t.values[pool.input],
      choice = t.pattern.layers.get(pool.id)!;
    const toLast: Flip[] = [];
    for (let j = 0; j < choice.length; j++) {
      const best = u[choice[j]];
      let last = choice[j];
      for (let k = win.indptr[j]; k < win.indptr[j + 1]; k++) if (u[win.indices[k]] === best) last = win.indices[k];
      if (best > 0 && last !== choice[j]) toLast.push({ layer: pool.id, j, to: last });
    }
    assert.ok(toLast.length > 100, `only ${toLast.length} tied windows with a positive maximum`);
    const K = t.logits.length;
    const w = marginWeights(t.logits, K, 1);
    const first = logitCombinationGradient(net, m, t, w);
    // The same region with every tie given to the last maximal element instead: another gradient.
    const last = logitCombinationGradient(net, m, { ...t, pattern: flip(t.pattern, toLast) }, w);
    assert.ok(maxDiff(first, last) > 1e-2 * maxAbs(first), "the tie rule does not change this gradient");
    const ort = openEngine(net, m, "onnxruntime");
    try {
      const g = (await ort.vjp(Float32Array.from(x), w, 1)).gradient;
      assert.ok(maxDiff(g, first) <= 1e-4 * maxAbs(first), `onnxruntime differs from the first-element rule`);
    } finally {
      await ort.dispose();
    }
  });

  // x [1, 1, 3, 3] → MaxPool 2×2, stride 1 (four overlapping windows) → Gemm to 2 logits.
  function tinyPool(): Network {
    const b = new OnnxBuilder(13);
    b.input("x", ["N", 1, 3, 3]);
    b.node("MaxPool", ["x"], ["p"], { kernel_shape: [2, 2], strides: [1, 1] });
    b.node("Flatten", ["p"], ["f"], { axis: 1 });
    b.initializer({ name: "W", dims: [2, 4], data: [1, 2, 3, 4, -1, -1, -1, -1] });
    b.initializer({ name: "c", dims: [2], data: [0, 0] });
    b.node("Gemm", ["f", "W", "c"], ["y"], { transB: 1 });
    b.output("y", ["N", 2]);
    const r = loadNetworkFromBytes(b.toBytes());
    assert.ok(r.ok);
    return r.value.network;
  }

  it("a blank input: each window's gradient goes to its first element (an equality mask would spread it)", async () => {
    const net = tinyPool();
    const m = networkMatrices(net);
    const w = Float64Array.of(1, 0);
    const x = new Float64Array(9);
    // Windows (0,0), (0,1), (1,0), (1,1) start at 0, 1, 3, 4 and weigh 1, 2, 3, 4.
    const expected = [1, 2, 0, 3, 4, 0, 0, 0, 0];
    for (const backend of ["reference", "onnxruntime"] as const) {
      const e = openEngine(net, m, backend);
      try {
        assert.deepEqual(Array.from((await e.vjp(x, w, 1)).gradient), expected, backend);
      } finally {
        await e.dispose();
      }
    }
  });

  it("one bright pixel that every window picks: the gradients of overlapping windows add up", async () => {
    const net = tinyPool();
    const m = networkMatrices(net);
    // Two inputs in one batch: the centre pixel bright (every window picks element 4), then blank.
    const x = new Float64Array(18);
    x[4] = 1;
    const w = Float64Array.of(1, 0, 0, 1);
    const expected = [0, 0, 0, 0, 10, 0, 0, 0, 0, -1, -1, 0, -1, -1, 0, 0, 0, 0];
    for (const backend of ["reference", "onnxruntime"] as const) {
      const e = openEngine(net, m, backend);
      try {
        const r = await e.vjp(x, w, 2);
        assert.deepEqual(Array.from(r.gradient), expected, backend);
        assert.deepEqual(Array.from(r.logits), [10, -4, 0, 0], backend);
      } finally {
        await e.dispose();
      }
    }
  });
});

describe("runtime/engine: the interface", function () {
  this.timeout(60_000);

  it("a batch of 256 gives row by row what batch 1 gives; 2 threads the same; Float64Array inputs too", async () => {
    const r = loadNetwork("examples/models/mnist_lenet.onnx");
    assert.ok(r.ok);
    const net = r.value.network,
      m = networkMatrices(net);
    const { digits } = load("mnist_lenet");
    const B = 256,
      n = 784,
      K = 10;
    const x = new Float64Array(B * n);
    for (let b = 0; b < B; b++) x.set(digits[b % 8], b * n);
    const w = Float64Array.from({ length: B * K }, (_, i) => ((i * 7) % 5) - 2);
    const one = openEngine(net, m, "onnxruntime");
    const two = openEngine(net, m, "onnxruntime", { threads: 2 });
    try {
      const big = await one.vjp(x, w, B);
      const par = await two.vjp(x, w, B);
      assert.ok(maxDiff(big.gradient, par.gradient) <= 1e-5 * maxAbs(big.gradient));
      for (const b of [0, 7, 255]) {
        const single = await one.vjp(x.subarray(b * n, (b + 1) * n), w.subarray(b * K, (b + 1) * K), 1);
        const g = big.gradient.subarray(b * n, (b + 1) * n);
        assert.ok(maxDiff(single.gradient, g) <= 1e-5 * maxAbs(g), `row ${b}`);
        const y = await one.forward(x.subarray(b * n, (b + 1) * n), 1);
        assert.ok(maxDiff(y, big.logits.subarray(b * K, (b + 1) * K)) <= 1e-5 * (1 + maxAbs(y)), `row ${b}`);
      }
    } finally {
      await one.dispose();
      await two.dispose();
    }
  });

  it("runs on CUDA exactly where its provider libraries are installed (report.json's execution_provider), else the CPU", async () => {
    // This machine has no CUDA libraries beside onnxruntime-node's binding (the install skips them): the CPU.
    assert.equal(engineProvider(), cudaInstalled() ? "cuda" : "cpu");
    const r = loadNetwork("examples/models/mnist_mlp.onnx");
    assert.ok(r.ok);
    const e = openEngine(r.value.network, networkMatrices(r.value.network), "onnxruntime");
    try {
      const y = await e.forward(new Float32Array(784), 1);
      assert.equal(y.length, 10);
    } finally {
      await e.dispose();
    }
  });

  it("refuses a batch whose data does not fit (internal errors: the callers size them)", async () => {
    const r = loadNetwork("examples/models/mnist_mlp.onnx");
    assert.ok(r.ok);
    const net = r.value.network,
      m = networkMatrices(net);
    for (const backend of ["reference", "onnxruntime"] as const) {
      const e = openEngine(net, m, backend);
      try {
        await assert.rejects(
          e.forward(new Float32Array(784 * 2 - 1), 2),
          /input of 1567 values for a batch of 2 × 784/,
        );
        await assert.rejects(e.vjp(new Float32Array(784), new Float32Array(9), 1), /weights of 9 values/);
        await assert.rejects(e.forward(new Float32Array(0), 0), /batch of 0/);
        assert.equal(e.backend, backend);
        assert.equal(e.dtype, backend === "reference" ? "float64" : "float32");
      } finally {
        await e.dispose();
      }
    }
  });
});
