// The bundled example models: each lowers, its reference logits agree with onnxruntime-node on real
// MNIST test digits (same argmax, max |diff| <= 1e-4·(1 + max|logit|)), and its accuracy is that of a
// trained classifier.

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { OnnxRuntimeEvaluator } from "../../runtime/evaluator/onnxruntime.js";
import { referenceLogits } from "../../runtime/evaluator/reference.js";
import { argmax } from "../../runtime/evaluator/types.js";
import { modelInput, openSession } from "../../runtime/run/session.js";

// The example models, and every fine-tuned net Table 1 names (examples/models/finetuned/: robustc reads them too).
const MODELS = [
  "mnist_mlp",
  "mnist_lenet",
  "mnist_lenet_caffe",
  "mnist_cnn_bn",
  "mnist_nin",
  ...readdirSync("examples/models/finetuned")
    .filter((f) => f.endsWith(".onnx"))
    .sort()
    .map((f) => `finetuned/${f.slice(0, -5)}`),
];
const N = 200;

describe("examples/models", function () {
  this.timeout(120_000);
  for (const name of MODELS) {
    it(`${name}: reference = onnxruntime on ${N} mnist:test digits, accuracy > 85%`, async () => {
      const path = `examples/models/${name}.onnx`;
      const s = openSession(path, { data: "mnist:test", pixelScale: 255 });
      assert.ok(s.ok, s.ok ? "" : s.diagnostics.map((d) => d.message).join());
      const xs = Array.from({ length: N }, (_, i) => modelInput(s.value, i));
      const ort = await OnnxRuntimeEvaluator.create(path, s.value.network);
      try {
        const got = await ort.logits(xs);
        let correct = 0;
        xs.forEach((x, i) => {
          const ref = referenceLogits(s.value.network, x);
          const scale = 1 + Math.max(...Array.from(ref, Math.abs));
          const diff = Math.max(...Array.from(ref, (v, j) => Math.abs(v - got[i][j])));
          assert.ok(diff <= 1e-4 * scale, `${name} point ${i}: max |diff| ${diff}`);
          assert.equal(argmax(ref), argmax(got[i]), `${name} point ${i}`);
          if (argmax(ref) === s.value.dataset.labels![i]) correct++;
        });
        assert.ok(correct > 0.85 * N, `${name}: ${correct}/${N} correct`);
      } finally {
        await ort.dispose();
      }
    });
  }
});
