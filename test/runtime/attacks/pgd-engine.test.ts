// The minimum-norm PGD attack on the engine (issue 23): through either backend (onnxruntime's float32 graphs or
// the float64 reference) it returns an example that passes the one rule (point/check.ts checkExample) again in
// a fresh check, with another label than x*'s, on a few digits of mnist_mlp and mnist_lenet.

import assert from "node:assert/strict";
import { ENGINE_BACKENDS } from "../../../compiler/engine/types.js";
import { DEFAULT_PGD, minNormAttack } from "../../../runtime/attacks/pgd.js";
import { checkExample, linf } from "../../../runtime/point/check.js";
import { openSeed } from "../../../runtime/point/seed.js";
import { DEFAULT_LAZY } from "../../../runtime/lazy/lazy-loop.js";
import { disposeContext, localContext } from "../../../runtime/run/point-runner.js";
import { modelInput } from "../../../runtime/run/session.js";

describe("runtime/attacks/pgd on the engine", function () {
  this.timeout(120_000);
  for (const [model, digits] of [
    ["mnist_mlp", 4],
    ["mnist_lenet", 2],
  ] as const)
    for (const backend of ENGINE_BACKENDS)
      it(`${model}, --backend ${backend}: a checked example on the first ${digits} digits`, async () => {
        const { session, ctx } = await localContext({
          modelPath: `examples/models/${model}.onnx`,
          data: "mnist:test",
          pixelScale: 255,
          lazy: DEFAULT_LAZY,
          algorithm: "pgd",
          eps: 20,
          backend,
        });
        assert.equal(ctx.engine.backend, backend);
        try {
          for (let i = 0; i < digits; i++) {
            const o = await openSeed(ctx, i, modelInput(session, i), session.dataset.labels![i]);
            assert.ok("seed" in o, `digit ${i} has a seed`);
            const a = await minNormAttack(ctx, o.seed, { ...DEFAULT_PGD, timeLimit: 30 });
            assert.ok(a.best, `digit ${i}: an example`);
            assert.notEqual(a.best.label, o.seed.predicted);
            assert.ok(a.gradients > 0 && a.radii > 0);
            const again = await checkExample(ctx, a.best.example, o.seed.xStar, o.seed.predicted);
            assert.ok(again, `digit ${i}: the example passes the check again`);
            assert.equal(again.label, a.best.label);
            assert.equal(again.dist, linf(a.best.example, o.seed.xStar));
          }
        } finally {
          await disposeContext(ctx);
        }
      });
});
