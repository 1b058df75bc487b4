// The bracket's certified lower bound on the engine's bounds (rho/lower.ts, certifiedLowerEngine, ten bisection
// steps): on mnist_mlp's first digits, the bracket's lower bound is ≥ 0, ≤ its upper and ≥ the engine's bisection
// (the proof stage may raise it), and that bisection is within its resolution (upper/256) of the eight-step
// bisection on the reference bounds (certifiedLower with the same upper): both test radii with sound
// back-substitution bounds that agree up to the engine's tolerance.

import assert from "node:assert/strict";
import { networkMatrices } from "../../../compiler/ir/matrices.js";
import { openEngine } from "../../../runtime/engine/index.js";
import { OnnxRuntimeEvaluator } from "../../../runtime/evaluator/onnxruntime.js";
import { boxOf, type PointContext } from "../../../runtime/point/context.js";
import { engineLower, BRACKET_LOWER, certifiedLower, certifiedLowerEngine } from "../../../runtime/rho/lower.js";
import { rhoForPointMode } from "../../../runtime/rho/modes.js";
import { modelInput, openSession } from "../../../runtime/run/session.js";

const MODEL = "examples/models/mnist_mlp.onnx";
const DIGITS = 5;

describe("rho/lower.ts: the bracket's lower bound on the engine's batched bounds", function () {
  this.timeout(300_000);

  it(`mnist_mlp, ${DIGITS} digits: 0 ≤ lower ≤ upper, within upper/256 of the sequential bisection`, async () => {
    const s = openSession(MODEL, { data: "mnist:test", pixelScale: 255 });
    assert.ok(s.ok);
    const net = s.value.network,
      matrices = networkMatrices(net);
    const engine = openEngine(net, matrices, "onnxruntime", { threads: 1 });
    const ctx: PointContext = {
      net,
      matrices,
      evaluator: await OnnxRuntimeEvaluator.create(MODEL, net),
      engine,
      pixelScale: 255,
      pixelMin: 0,
      pixelMax: 255,
    };
    try {
      assert.equal(engine.boundsBackend, "onnxruntime");
      assert.ok(engineLower(engine, BRACKET_LOWER.method));
      assert.ok(!engineLower(engine, "lp"));
      let compared = 0;
      for (let i = 0; i < DIGITS; i++) {
        const xStar = modelInput(s.value, i);
        const p = await rhoForPointMode(ctx, "bracket", i, xStar, s.value.dataset.labels?.[i] ?? null);
        if (p.lower === null || p.lower === undefined || p.predicted === null || p.predicted === undefined) continue;
        const upper = p.upper === null || p.upper === undefined ? Infinity : p.upper;
        assert.ok(p.lower >= 0, `digit ${i}: lower ${p.lower} < 0`);
        assert.ok(p.lower <= upper, `digit ${i}: lower ${p.lower} > upper ${upper}`);
        if (!Number.isFinite(upper)) continue;
        // The same radius search both ways below the same upper (model units).
        const hi = upper / 255,
          opts = { ...BRACKET_LOWER, timeLimit: 120 };
        // The bracket runs the engine's search two bisection steps finer (modes.ts), the reference's eight.
        const batched = await certifiedLowerEngine(engine, net, xStar, p.predicted, hi, boxOf(ctx), {
          ...opts,
          steps: opts.steps + 2,
        });
        const bisected = await certifiedLower(net, matrices, xStar, p.predicted, hi, boxOf(ctx), opts);
        // The bracket's lower bound is this bisection's, raised where the proof stage (branch and bound) proves more.
        assert.ok(
          batched.lower * 255 <= p.lower + 1e-9 * (1 + p.lower),
          `digit ${i}: bracket's lower below the bisection's`,
        );
        assert.ok(batched.lower >= 0 && batched.lower <= hi);
        assert.ok(
          Math.abs(batched.lower - bisected.lower) <= hi / 2 ** BRACKET_LOWER.steps + 1e-12,
          `digit ${i}: batched ${batched.lower}, bisection ${bisected.lower}, resolution ${hi / 256}`,
        );
        compared++;
      }
      assert.ok(compared >= 3, `only ${compared} digits compared`);
    } finally {
      await ctx.evaluator.dispose();
      await engine.dispose();
    }
  });
});
