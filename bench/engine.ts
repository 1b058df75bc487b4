// The engine's backends side by side (issue 23): per example model, µs per input for a forward pass (logits)
// and a gradient (a vector–Jacobian product: logits and ∇_x of a margin y_a − y_b) at batch 1, 32 and 256, on
// the onnxruntime backend (the generated graphs, float32, one intra-op thread) and the reference backend (the
// float64 trace and the region backward pass, one input at a time), in the same run on mnist:test digits.
// Figures, never assertions. Each cell repeats its batch until SECONDS have passed (at least once) after
// one warm-up run (session creation and first-run allocation are not timed).
//
//   npx tsx bench/engine.ts                      every model, batches 1,32,256
//   MODELS=mnist_mlp,mnist_lenet BATCHES=1,32 SECONDS=0.5 THREADS=1 npx tsx bench/engine.ts

import { cpus, loadavg } from "node:os";
import { createRequire } from "node:module";
import { networkMatrices, type Engine, type EngineBackend } from "../compiler/index.js";
import { openEngine } from "../runtime/engine/index.js";
import { modelInput, openSession } from "../runtime/run/session.js";

const MODELS = (process.env.MODELS ?? "mnist_mlp,mnist_lenet,mnist_lenet_caffe,mnist_cnn_bn,mnist_nin").split(",");
const BATCHES = (process.env.BATCHES ?? "1,32,256").split(",").map(Number);
const SECONDS = Number(process.env.SECONDS ?? 1);
const THREADS = Number(process.env.THREADS ?? 1);
const BACKENDS: EngineBackend[] = ["reference", "onnxruntime"];

const ortVersion = (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;
console.log(
  `engine: µs per input, forward and gradient; node ${process.version}, onnxruntime-node ${ortVersion} (CPU, ${THREADS} intra-op thread${THREADS === 1 ? "" : "s"}); ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}; ≥ ${SECONDS} s per cell`,
);

/** µs per input of `f` over a batch of B (repeated until SECONDS have passed; one untimed warm-up run). */
async function time(f: () => Promise<unknown>, B: number): Promise<number> {
  await f();
  let reps = 0;
  const t0 = performance.now();
  do {
    await f();
    reps++;
  } while (performance.now() - t0 < SECONDS * 1000);
  return ((performance.now() - t0) * 1000) / (reps * B);
}

const cell = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)).padStart(9);
const head = BATCHES.map((b) => `B=${b}`.padStart(9)).join(" ");
console.log(`\n${"model".padEnd(18)} ${"backend".padEnd(12)} forward ${head} | gradient ${head}`);

for (const name of MODELS) {
  const s = openSession(`examples/models/${name}.onnx`, { data: "mnist:test", pixelScale: 255 });
  if (!s.ok) throw new Error(s.diagnostics.map((d) => d.message).join("; "));
  const net = s.value.network,
    m = networkMatrices(net);
  const Bmax = Math.max(...BATCHES);
  const engines: Record<EngineBackend, Engine> = {
    reference: openEngine(net, m, "reference"),
    onnxruntime: openEngine(net, m, "onnxruntime", { threads: THREADS }),
  };
  const [n, K] = [engines.reference.inputSize, engines.reference.outputSize];
  const x = new Float32Array(Bmax * n);
  for (let b = 0; b < Bmax; b++) x.set(modelInput(s.value, b), b * n);
  // A margin per input: label (b mod K) against label (b + 1 mod K).
  const w = new Float32Array(Bmax * K);
  for (let b = 0; b < Bmax; b++) {
    w[b * K + (b % K)] = 1;
    w[b * K + ((b + 1) % K)] = -1;
  }
  const figures: Record<EngineBackend, { forward: number[]; gradient: number[] }> = {
    reference: { forward: [], gradient: [] },
    onnxruntime: { forward: [], gradient: [] },
  };
  for (const backend of BACKENDS) {
    const e = engines[backend];
    for (const B of BATCHES) {
      const xb = x.subarray(0, B * n),
        wb = w.subarray(0, B * K);
      figures[backend].forward.push(await time(() => e.forward(xb, B), B));
      figures[backend].gradient.push(await time(() => e.vjp(xb, wb, B), B));
    }
    await e.dispose();
  }
  for (const backend of BACKENDS) {
    const f = figures[backend];
    console.log(
      `${name.padEnd(18)} ${backend.padEnd(12)}         ${f.forward.map(cell).join(" ")} |          ${f.gradient.map(cell).join(" ")}`,
    );
  }
  const ratio = (k: "forward" | "gradient") =>
    figures.reference[k].map((r, i) => `${(r / figures.onnxruntime[k][i]).toFixed(1)}×`.padStart(9)).join(" ");
  console.log(`${name.padEnd(18)} ${"speedup".padEnd(12)}         ${ratio("forward")} |          ${ratio("gradient")}`);
}
