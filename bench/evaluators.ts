// Prints forward-pass throughput of both evaluators on every example model over mnist:test
// (points per second; onnxruntime batched). A figure, never an assertion.

import { EVALUATORS } from "../runtime/evaluator/index.js";
import { modelInput, openEvaluator, openSession } from "../runtime/run/session.js";

const N = Number(process.env.BENCH_POINTS ?? 500);
console.log(`evaluator throughput on ${N} mnist:test points (node ${process.version})`);
console.log(`${"model".padEnd(14)} ${"evaluator".padEnd(12)} ${"points/s".padStart(10)} ${"ms/point".padStart(9)}`);
for (const name of ["mnist_mlp", "mnist_lenet", "mnist_cnn_bn", "mnist_nin"]) {
  const path = `examples/models/${name}.onnx`;
  const s = openSession(path, { data: "mnist:test", pixelScale: 255 });
  if (!s.ok) throw new Error(s.diagnostics.map((d) => d.message).join("; "));
  const xs = Array.from({ length: N }, (_, i) => modelInput(s.value, i));
  for (const ev of EVALUATORS) {
    const e = await openEvaluator(s.value, ev);
    await e.logits(xs.slice(0, 8)); // warm-up
    const t0 = performance.now();
    await e.logits(xs);
    const sec = (performance.now() - t0) / 1000;
    await e.dispose();
    console.log(
      `${name.padEnd(14)} ${ev.padEnd(12)} ${(N / sec).toFixed(0).padStart(10)} ${((1000 * sec) / N).toFixed(3).padStart(9)}`,
    );
  }
}
