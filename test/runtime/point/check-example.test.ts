// The one rule that makes an example count (runtime/point/check.ts checkExample): a label other than the seed's
// wins in onnxruntime's float32 pass by more than rounding could reverse, and strictly in the float64 reference,
// both agreeing, on the example in the form it is saved. On a 2-input
// network y = (x0, x1): a tie that argmax would hand to label 0 by index order does not count; a strict win
// counts with its label, L∞ distance and both margins; a win of the seed's own label does not count.

import assert from "node:assert/strict";
import { OnnxBuilder } from "../../../compiler/frontend/onnx/write.js";
import { loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import { networkMatrices } from "../../../compiler/ir/matrices.js";
import { OnnxRuntimeEvaluator } from "../../../runtime/evaluator/onnxruntime.js";
import { openEngine } from "../../../runtime/engine/index.js";
import { argmax } from "../../../runtime/evaluator/types.js";
import { checkExample, FLOAT32_MARGIN, savedForm, strictWinner } from "../../../runtime/point/check.js";
import { type PointContext } from "../../../runtime/point/context.js";

describe("runtime/point/check: checkExample, the strict rule", function () {
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
      engine: openEngine(net, networkMatrices(net), "reference"),
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
    assert.ok(c.margin32 > 0 && c.margin64 > 0 && Math.abs(c.margin64 - 0.1) < 1e-6);
  });

  it("a win of the seed's own label does not count", async () => {
    assert.equal(await checkExample(ctx, Float32Array.of(0.4, 0.5), xStar, 1), null);
  });

  it("a margin within a few float32 ulps does not count (issue 22: rounding could reverse it); one above FLOAT32_MARGIN does", async () => {
    const a = Math.fround(0.5),
      up = Math.fround(0.5 + 2 ** -24);
    assert.ok(up > a);
    assert.equal(await checkExample(ctx, Float32Array.of(up, a), xStar, 1), null);
    // FLOAT32_MARGIN relative to the larger of the two logits (0.5 here, whose ulp is 2^-24): two ulps are not
    // enough, four (twice FLOAT32_MARGIN · 0.5) win.
    const two = Math.fround(0.5 + 2 * 2 ** -24);
    assert.equal(await checkExample(ctx, Float32Array.of(two, a), xStar, 1), null);
    const wide = Math.fround(0.5 + 2 * 0.5 * FLOAT32_MARGIN);
    const c = await checkExample(ctx, Float32Array.of(wide, a), xStar, 1);
    assert.ok(c && c.label === 0);
    assert.ok(c.margin32 > FLOAT32_MARGIN * 0.5);
  });

  it("the example is checked and returned in the form it is saved (pixels × scale as float32, read back)", async () => {
    const c255 = { ...ctx, pixelScale: 255, pixelMax: 255 };
    // A float32 value that does not survive the round trip through 0-255 pixels stored as float32.
    let v = 0.6;
    const trip = (u: number) => Math.fround(Math.fround(u * 255) / 255);
    while (trip(Math.fround(v)) === Math.fround(v)) v += 1e-7;
    const e = Float32Array.of(Math.fround(v), 0.25);
    const { model32, read64 } = savedForm(e, 255);
    assert.notEqual(model32[0], e[0], "the round trip moves this value");
    // A fixed point: saving the returned example gives the same pixels, which read back to it.
    model32.forEach((m, i) => {
      const px = Math.fround(m * 255);
      assert.equal(Math.fround(px / 255), m);
      assert.equal(px / 255, read64[i]);
    });
    const c = await checkExample(c255, e, xStar, 1);
    assert.ok(c);
    assert.deepEqual(Array.from(c.example), Array.from(model32));
    assert.equal(c.dist, Math.max(Math.abs(model32[0] - xStar[0]), Math.abs(model32[1] - xStar[1])));
  });
});
