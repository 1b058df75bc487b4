// A regression: the float64 bounds graph's answer on a linear network (two 1×1 stride-2 convs, a batch norm and a
// dense layer: fast-check's shrunk counterexample, found by test/properties/optimise.test.ts) is never above the
// exact minimum of G·y over the box. onnxruntime's extended graph optimisations fused a MatMul of this graph into
// com.microsoft's FusedMatMul, whose double result was 9.9e-11 above that minimum; the certifying session now runs
// the basic level only (runtime/engine/onnxruntime.ts engineSession). The network being affine, its minimum over the
// box is at the corner each input's coefficient points to, and the float64 trace computes it to ~1e-16.

import assert from "node:assert/strict";
import { trace } from "../../../compiler/analysis/trace.js";
import { loadNetwork } from "../../../compiler/frontend/onnx/lower.js";
import { networkMatrices } from "../../../compiler/ir/matrices.js";
import { sizeOf } from "../../../compiler/ir/network.js";
import { openEngine } from "../../../runtime/engine/index.js";

const MODEL = "test/fixtures/fused-matmul-linear.onnx";
const LOWER = Float64Array.from([
  -1.0070048006856813, -0.5611202371912077, -0.715259996210225, -0.07300864622462541, 0.08243387335445732,
  0.22283847679849714, 0.2903064675955102, -0.09564986682031304, 0.1547736432729289, -0.5151492319675163,
  -0.8119609024981037, 0.7991976165538653, -0.1912568467343226, 0.4329267964093015, 0.31214915591757747,
  0.6040527276089415,
]);
const UPPER = Float64Array.from([
  -0.9916762165119871, -0.5457916530175134, -0.6999314120365306, -0.05768006205093115, 0.09776245752815158,
  0.2381670609721914, 0.3056350517692044, -0.08032128264661878, 0.17010222744662315, -0.499820647793822,
  -0.7966323183244094, 0.8145262007275597, -0.17592826256062835, 0.4482553805829957, 0.3274777400912717,
  0.6193813117826358,
]);
/** Two rows over the two logits. */
const ROWS = Float64Array.from([0.2951822318136692, -0.9579418310895562, -0.2238831566646695, 0.9312756024301052]);

describe("runtime/engine: the certifying bounds graph on a linear network (FusedMatMul regression)", function () {
  this.timeout(60_000);
  it("is below the exact minimum of every row over the box, by at most its pad", async () => {
    const loaded = loadNetwork(MODEL);
    assert.ok(loaded.ok);
    const net = loaded.value.network;
    const m = networkMatrices(net);
    const n = sizeOf(net.inputShape),
      K = sizeOf(net.layers[net.output].shape);
    assert.equal(n, LOWER.length);
    const f = (x: Float64Array, r: number) => {
      const y = trace(net, x, { matrices: m }).logits;
      let v = 0;
      for (let k = 0; k < K; k++) v += ROWS[r * K + k] * y[k];
      return v;
    };
    const engine = openEngine(net, m, "onnxruntime");
    try {
      const got = await engine.bounds(LOWER, UPPER, ROWS, 2, 1);
      for (let r = 0; r < 2; r++) {
        // The coefficient of each input (the network is affine), then the minimising corner.
        const zero = new Float64Array(n);
        const corner = Float64Array.from(LOWER, (lo, j) => {
          const e = new Float64Array(n);
          e[j] = 1;
          return f(e, r) - f(zero, r) > 0 ? lo : UPPER[j];
        });
        const min = f(corner, r);
        assert.ok(
          got.lower[r] <= min + 1e-14 * (1 + Math.abs(min)),
          `row ${r}: bound ${got.lower[r]} above the minimum ${min}`,
        );
        assert.ok(got.lower[r] >= min - 1e-9, `row ${r}: bound ${got.lower[r]} far below the minimum ${min}`);
      }
    } finally {
      await engine.dispose();
    }
  });
});
