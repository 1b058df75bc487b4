// --backend (issue 23): the engine behind the attacks. onnxruntime (the default, float32 graphs) and reference
// (the float64 loops) give the same per-point statuses on every example model's first 20 digits (mnist_lenet: 6) with the bracket; the
// upper bounds may differ (float32 steers the attack to other examples) but each is the distance of an example
// that passes the one rule (point/check.ts) with another label than x*'s; the lower bound does not use the
// engine's bounds on both (batched rounds on the bounds graph, a bisection on the reference loops) and is within
// upper/256 wherever the uppers are the same (it runs below the upper), or above the reference's on onnxruntime where
// its proof stage ran (rho/lower.ts provedLower). run.json records the backend:
// --resume with another one names --backend. --threads sets onnxruntime's intra-op threads and changes no answer.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_LAZY } from "../../../runtime/lazy/lazy-loop.js";
import { checkExample, linf } from "../../../runtime/point/check.js";
import { disposeContext, localContext } from "../../../runtime/run/point-runner.js";
import { modelInput } from "../../../runtime/run/session.js";
import { refusedOneLine, robustc, robustcOk } from "../../helpers/cli.js";

type Rec = Record<string, unknown> & { example?: { target: number; pixels: number[] } | null };
const MODEL = "examples/models/mnist_mlp.onnx";
/**
 * The models and digits compared. mnist_lenet on 6: its reference attack computes each of its thousands of gradients
 * in the float64 loops (~15 ms each), ~45 s a digit; all 20 passed once (452 s: docs/testing.md).
 */
const MODELS = [
  ["mnist_mlp", 20],
  ["mnist_lenet", 6],
  ["mnist_lenet_caffe", 20],
  ["mnist_cnn_bn", 20],
  ["mnist_nin", 20],
] as const;

const bracket = async (backend: string, model = MODEL, limit = 20): Promise<Rec[]> =>
  (
    await robustcOk([
      "rho",
      model,
      "--data",
      "mnist:test",
      "--limit",
      String(limit),
      "--json",
      "--examples",
      "--jobs",
      "2",
      "--time-limit",
      "600",
      "--backend",
      backend,
      // The absolute 1e-3 px rule: the proof stage (onnxruntime only) may bring lower within 1% of upper.
      "--tolerance",
      "0",
    ])
  ).stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Rec)
    .sort((a, b) => Number(a.index) - Number(b.index));

describe("robustc --backend onnxruntime | reference", function () {
  this.timeout(600_000);
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-backend-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, limit] of MODELS)
    it(`${name}, ${limit} digits: the same statuses, lower bounds within upper/256; every upper a checked example`, async () => {
      const model = `examples/models/${name}.onnx`;
      const [ort, ref] = [await bracket("onnxruntime", model, limit), await bracket("reference", model, limit)];
      assert.equal(ort.length, limit);
      assert.equal(ref.length, limit);
      const { session, ctx } = await localContext({
        modelPath: model,
        data: "mnist:test",
        pixelScale: 255,
        lazy: DEFAULT_LAZY,
        algorithm: "lp",
        eps: 20,
        backend: "reference",
      });
      try {
        for (let i = 0; i < limit; i++) {
          const [a, b] = [ort[i], ref[i]];
          assert.equal(a.index, b.index);
          assert.equal(a.status, b.status, `digit ${i}: status`);
          assert.equal(a.predicted, b.predicted);
          // The lower bound runs below the point's upper bound (rho/lower.ts): on onnxruntime by bisection on the
          // engine's bounds graph (ten steps, upper/1024), on reference by bisection (eight, upper/256) with the same
          // back-substitution bounds up to the engine's tolerance: within upper/256 of each other where the uppers
          // are the same, except that on onnxruntime the proof stage (branch and bound on the bounds graph, where
          // lower ≥ 0.2·upper) may raise it further; elsewhere each certified lower is still at or below the other
          // backend's checked upper (on mnist_lenet digit 9 a smaller float32 upper moved it).
          if (a.upper === b.upper && typeof a.lower === "number" && typeof b.lower === "number") {
            const res = (typeof a.upper === "number" ? a.upper : 255) / 256 + 1e-9;
            const proved = (a.stages as Record<string, number> | undefined)?.prove !== undefined;
            const what = `digit ${i}: lower ${a.lower} (onnxruntime), ${b.lower} (reference), upper ${String(a.upper)}`;
            assert.ok(a.lower >= b.lower - res, what);
            assert.ok(proved || a.lower <= b.lower + res, `${what}, no proof stage`);
          } else if (a.upper === b.upper) assert.equal(a.lower, b.lower, `digit ${i}: lower`);
          else
            for (const l of [a.lower, b.lower])
              for (const u of [a.upper, b.upper])
                if (typeof l === "number" && typeof u === "number")
                  assert.ok(l <= u, `digit ${i}: lower ${l} > upper ${u}`);
          for (const r of [a, b]) {
            if (r.upper === null || r.upper === undefined) continue;
            assert.ok(r.example, `digit ${i}: upper ${String(r.upper)} has its example`);
            const x = Float32Array.from(r.example.pixels, (p) => p / 255);
            const xStar = modelInput(session, i);
            const c = await checkExample(ctx, x, xStar, Number(r.predicted));
            assert.ok(c, `digit ${i}: the example of upper passes the check`);
            assert.notEqual(c.label, r.predicted);
            assert.equal(c.label, r.example.target);
            assert.ok(Math.abs(linf(x, xStar) * 255 - Number(r.upper)) <= 1e-6 * Number(r.upper), `digit ${i}: upper`);
          }
        }
      } finally {
        await disposeContext(ctx);
      }
    });

  it("run.json and report.json record the backend; --resume with another backend names --backend", async () => {
    const out = join(dir, "m");
    const args = ["measure", MODEL, "--data", "mnist:test", "--limit", "2", "--time-limit", "60", "--out", out];
    await robustcOk([...args, "--backend", "reference"]);
    assert.equal(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).backend, "reference");
    const settings = JSON.parse(readFileSync(join(out, "report.json"), "utf8")).settings;
    assert.equal(settings.backend, "reference");
    assert.equal(settings.execution_provider, null);
    refusedOneLine(await robustc([...args, "--resume"]), /--backend was "reference" in run\.json, now "onnxruntime"/);
  });

  it("--threads N: onnxruntime's intra-op threads per job, in report.json; the same answers as one thread; 0 refused", async () => {
    const args = ["rho", MODEL, "--data", "mnist:test", "--limit", "3", "--json", "--time-limit", "600"];
    const strip = (t: string) =>
      t
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => {
          const { seconds: _s, stages: _t, ...r } = JSON.parse(l) as Rec;
          return r;
        });
    // mnist_mlp is Gemm and Relu: onnxruntime's CPU GEMM splits its output, not a dot product, across threads, so
    // the float32 values (and the answers they steer) are the same whatever the thread count.
    const one = strip((await robustcOk(args)).stdout);
    const two = strip((await robustcOk([...args, "--threads", "2"])).stdout);
    assert.deepEqual(two, one);
    const out = join(dir, "t");
    await robustcOk(["measure", MODEL, "--data", "mnist:test", "--limit", "1", "--threads", "2", "--out", out]);
    assert.equal(JSON.parse(readFileSync(join(out, "report.json"), "utf8")).settings.threads, 2);
    refusedOneLine(await robustc([...args, "--threads", "0"]), /--threads must be a positive integer, got 0/);
  });
});
