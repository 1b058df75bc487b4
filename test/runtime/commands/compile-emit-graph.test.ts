// `robustc compile MODEL --emit forward|gradient|bounds -o FILE.onnx` (issue 23): writes the network's batched graph
// (no --data needed) that onnxruntime runs and, for the forward graph, the project's front-end lowers to the same
// network; the bounds graph of a conv net gives sound bounds; any data or LP option, a missing or non-.onnx -o and an unknown --emit are refused with one line and
// exit 2, nothing written; --emit ir and cf still need --data and --index. Runs the real CLI (built in dist/).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { trace } from "../../../compiler/analysis/trace.js";
import { loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import { networkMatrices } from "../../../compiler/ir/matrices.js";
import { logitCombinationGradient } from "../../../runtime/lazy/region.js";
import { marginRows } from "../../../runtime/rho/lower.js";
import { modelInput, openSession } from "../../../runtime/run/session.js";
import { refusedOneLine, robustc } from "../../helpers/cli.js";

const LENET = "examples/models/mnist_lenet.onnx";
const run = (args: string[]) => robustc(args, { timeout: 50_000 });
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("robustc compile --emit forward|gradient", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-emit-graph-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes both graphs of mnist_lenet without --data; onnxruntime runs them and they compute the model", async () => {
    const s = openSession(LENET, { data: "mnist:test", pixelScale: 255 });
    assert.ok(s.ok);
    const net = s.value.network;
    const xs = [0, 1].map((i) => modelInput(s.value, i));
    const x = new ort.Tensor("float32", Float32Array.from([...xs[0], ...xs[1]]), [2, 1, 28, 28]);
    const y = xs.map((v) => trace(net, v).logits);
    for (const kind of ["forward", "gradient"]) {
      const out = join(dir, `lenet.${kind}.onnx`);
      const r = await run(["compile", LENET, "--emit", kind, "-o", out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`wrote .*lenet\\.${kind}\\.onnx \\(the ${kind} graph of`));
      const session = await ort.InferenceSession.create(readFileSync(out), { logSeverityLevel: 3 });
      try {
        const W = Float32Array.from({ length: 20 }, (_, i) => (i === 3 ? 1 : i === 5 ? -1 : i === 17 ? 1 : 0));
        const feeds: Record<string, ort.Tensor> =
          kind === "forward" ? { x } : { x, weights: new ort.Tensor("float32", W, [2, 10]) };
        const res = await session.run(feeds);
        const logits = res.logits.data as Float32Array;
        for (let b = 0; b < 2; b++) {
          const got = logits.subarray(b * 10, (b + 1) * 10);
          assert.ok(maxDiff(got, y[b]) <= 1e-4 * (1 + maxAbs(y[b])), `${kind}: logits of digit ${b}`);
        }
        if (kind === "gradient") {
          assert.deepEqual(res.gradient.dims, [2, 1, 28, 28]);
          const m = networkMatrices(net);
          for (let b = 0; b < 2; b++) {
            const ref = logitCombinationGradient(
              net,
              m,
              trace(net, xs[b], { matrices: m }),
              W.subarray(b * 10, (b + 1) * 10),
            );
            const got = (res.gradient.data as Float32Array).subarray(b * 784, (b + 1) * 784);
            assert.ok(maxDiff(got, ref) <= 1e-4 * maxAbs(ref), `gradient of digit ${b}`);
          }
        } else {
          // The forward graph is a model robustc itself reads: the same network.
          const back = loadNetworkFromBytes(readFileSync(out), out);
          assert.ok(back.ok);
          assert.ok(maxDiff(trace(back.value.network, xs[0]).logits, y[0]) <= 1e-5 * (1 + maxAbs(y[0])));
        }
      } finally {
        await session.release();
      }
    }
  });

  it("writes mnist_lenet's bounds graph; onnxruntime runs it: sound bounds at or below the margins at the digit", async () => {
    const s = openSession(LENET, { data: "mnist:test", pixelScale: 255 });
    assert.ok(s.ok);
    const net = s.value.network;
    const out = join(dir, "lenet.bounds.onnx");
    const r = await run(["compile", LENET, "--emit", "bounds", "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote .*lenet\.bounds\.onnx \(the bounds graph of/);
    const session = await ort.InferenceSession.create(readFileSync(out), { logSeverityLevel: 3 });
    try {
      const x = Float64Array.from(modelInput(s.value, 0));
      const y = trace(net, x).logits;
      const p = y.indexOf(Math.max(...y));
      const rows = marginRows(p, 10);
      const eps = 1 / 255;
      const feeds: Record<string, ort.Tensor> = {
        lower: new ort.Tensor(
          "float64",
          x.map((v) => Math.max(0, v - eps)),
          [1, 784],
        ),
        upper: new ort.Tensor(
          "float64",
          x.map((v) => Math.min(1, v + eps)),
          [1, 784],
        ),
        rows: new ort.Tensor("float64", rows, [1, 9, 10]),
      };
      for (const name of session.inputNames) {
        if (name in feeds) continue;
        // A ReLU's inputs have its size; a max-pool's clamps are of its input (bounds-graph.ts).
        const l = net.layers[Number(name.split("_").pop())];
        const n = (l.kind === "maxpool" ? net.layers[l.input] : l).shape.reduce((a, b) => a * b, 1);
        const v = name.startsWith("slopes_") ? -1 : name.startsWith("clamp_lower_") ? -Infinity : Infinity;
        feeds[name] = new ort.Tensor("float64", new Float64Array(n).fill(v), [1, n]);
      }
      const bound = (await session.run(feeds)).bound.data as Float64Array;
      assert.equal(bound.length, 9);
      // Each margin's lower bound is at most its value at the digit itself (a point of the box), and at 1/255 the
      // bounds prove the digit's label (every margin positive), as the bracket's lower bound finds.
      for (let q = 0, l = 0; l < 10; l++)
        if (l !== p) {
          assert.ok(bound[q] <= y[p] - y[l], `margin ${p} − ${l}: bound ${bound[q]} above its value ${y[p] - y[l]}`);
          assert.ok(bound[q] > 0, `margin ${p} − ${l}: not proved at 1/255 (${bound[q]})`);
          q++;
        }
    } finally {
      await session.release();
    }
  });

  const refused: [string, string[], RegExp][] = [
    [
      "data and LP options",
      ["--emit", "gradient", "--data", "mnist:test", "--index", "0", "--target", "3", "-o", "G.onnx"],
      /--emit gradient writes the network's gradient graph, which depends on the model alone: leave out --data, --index, --target/,
    ],
    ["--solve", ["--emit", "forward", "--solve", "highs", "-o", "G.onnx"], /leave out --solve/],
    [
      "an output that is not .onnx",
      ["--emit", "forward", "-o", "G.lp"],
      /--emit forward writes an ONNX model: give -o FILE\.onnx \(got .*G\.lp\)/,
    ],
    ["no output", ["--emit", "gradient"], /--emit gradient writes an ONNX model: give -o FILE\.onnx$/m],
    [
      "an unknown --emit",
      ["--emit", "hessian", "-o", "G.onnx"],
      /--emit must be ir, cf, forward, gradient or bounds, got 'hessian'/,
    ],
    ["--emit ir without --data", ["--emit", "ir", "--index", "0"], /required option '--data <spec>' not specified/],
  ];
  for (const [what, args, re] of refused) {
    it(`refuses ${what}: one line, exit 2, nothing written`, async () => {
      const r = await run(["compile", LENET, ...args.map((a) => (/^G\./.test(a) ? join(dir, a) : a))]);
      refusedOneLine(r, re);
      assert.equal(existsSync(join(dir, "G.onnx")) || existsSync(join(dir, "G.lp")), false);
    });
  }
});
