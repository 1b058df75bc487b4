// The one rule that makes an example count (runtime/rho/types.ts checkExample): a label other than the seed's
// wins strictly in onnxruntime's float32 pass and in the float64 reference, both agreeing. On a 2-input
// network y = (x0, x1): a tie that argmax would hand to label 0 by index order does not count; a strict win
// counts with its label, L∞ distance and both margins; a win of the seed's own label does not count.

import assert from "node:assert/strict";
import { OnnxBuilder } from "../../../compiler/frontend/onnx/write.js";
import { loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import { networkMatrices } from "../../../compiler/ir/matrices.js";
import { OnnxRuntimeEvaluator } from "../../../runtime/evaluator/onnxruntime.js";
import { argmax } from "../../../runtime/evaluator/types.js";
import { checkExample, strictWinner } from "../../../runtime/point/check.js";
import { type PointContext } from "../../../runtime/point/context.js";

describe("runtime/rho/types: checkExample, the strict rule", function () {
  this.timeout(30_000);
  let ctx: PointContext;
  before(async () => {
    const b = new OnnxBuilder(13);
    b.input("x", [1, 2]).output("y", [1, 2]);
    b.initializer({ name: "W", dims: [2, 2], data: [1, 0, 0, 1] });
    b.initializer({ name: "b", dims: [2], data: [0, 0] });
    b.node("Gemm", ["x", "W", "b"], ["y"], { transB: 1 });
    const bytes = b.toBytes();
    const l = loadNetworkFromBytes(bytes);
    assert.ok(l.ok);
    const net = l.value.network;
    ctx = {
      net,
      matrices: networkMatrices(net),
      evaluator: await OnnxRuntimeEvaluator.create(bytes, net, { provider: "cpu" }),
      pixelScale: 1,
      pixelMin: 0,
      pixelMax: 1,
    };
  });
  after(() => ctx.evaluator.dispose());
  const xStar = Float64Array.of(0.2, 0.9);

  it("a tie does not count, although argmax hands it to label 0", async () => {
    const tie = Float32Array.of(0.5, 0.5);
    const [y] = await ctx.evaluator.logits([Float64Array.from(tie)]);
    assert.equal(argmax(y), 0, "the index-order rule the strict rule replaces");
    assert.equal(strictWinner(y), null);
    assert.equal(await checkExample(ctx, tie, xStar, 1), null);
  });

  it("a strict win of another label counts, with its label, distance and margins", async () => {
    const c = await checkExample(ctx, Float32Array.of(0.6, 0.5), xStar, 1);
    assert.ok(c);
    assert.equal(c.label, 0);
    assert.ok(Math.abs(c.dist - 0.4) < 1e-7, `dist ${c.dist}`);
    assert.ok(c.margin32! > 0 && c.margin64! > 0 && Math.abs(c.margin64! - 0.1) < 1e-6);
  });

  it("a win of the seed's own label does not count", async () => {
    assert.equal(await checkExample(ctx, Float32Array.of(0.4, 0.5), xStar, 1), null);
  });

  it("a margin one float32 ulp wide counts (both passes see it)", async () => {
    const a = Math.fround(0.5),
      up = Math.fround(0.5 + 2 ** -24);
    assert.ok(up > a);
    const c = await checkExample(ctx, Float32Array.of(up, a), xStar, 1);
    assert.ok(c && c.label === 0);
  });
});
