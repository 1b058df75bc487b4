// The engine's backends side by side (issue 23): per example model, µs per input for a forward pass (logits)
// and a gradient (a vector–Jacobian product: logits and ∇_x of a margin y_a − y_b) at batch 1, 32 and 256, on
// the onnxruntime backend (the generated graphs, float32, one intra-op thread) and the reference backend (the
// float64 trace and the region backward pass, one input at a time), in the same run on mnist:test digits.
// Bounds: µs per box for the 9 margins y_l* − y_l (l* the reference's label) over the box of radius EPS
// (default 2/255) around each digit: CROWN with the intermediate layer bounds (Engine.bounds) — onnxruntime's
// float64 bounds graph where it covers the network (every example model), else not timed ("reference only":
// both backends' bounds are the reference's; the reason is printed). Figures, never assertions. Each cell
// repeats its batch until SECONDS have passed (at least once) after one warm-up run (session creation and
// first-run allocation are not timed).
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
const EPS = Number(process.env.EPS ?? 2 / 255);
/** The reference's bounds cost ~0.1 s per box on mnist_mlp: its cells run the batch once, and none above this batch. */
const REF_BOUNDS_MAX_BATCH = Number(process.env.REF_BOUNDS_MAX_BATCH ?? 256);

const ortVersion = (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;
console.log(
  `engine: µs per input, forward and gradient; µs per box, bounds (9 margins, radius ${(EPS * 255).toFixed(1)}/255); node ${process.version}, onnxruntime-node ${ortVersion} (CPU, ${THREADS} intra-op thread${THREADS === 1 ? "" : "s"}); ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
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

const cell = (v: number) =>
  (Number.isNaN(v) ? "—".padStart(9) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)).padStart(9);
const head = BATCHES.map((b) => `B=${b}`.padStart(9)).join(" ");
console.log(`\n${"model".padEnd(18)} ${"backend".padEnd(12)} forward ${head} | gradient ${head} | bounds ${head}`);

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
  // Boxes of radius EPS and the margins of each digit's reference label.
  const R = K - 1;
  const y64 = await engines.reference.forward(x, Bmax);
  const lower = new Float64Array(Bmax * n),
    upper = new Float64Array(Bmax * n),
    rows = new Float64Array(Bmax * R * K);
  for (let b = 0; b < Bmax; b++) {
    for (let j = 0; j < n; j++) {
      lower[b * n + j] = Math.max(0, x[b * n + j] - EPS);
      upper[b * n + j] = Math.min(1, x[b * n + j] + EPS);
    }
    const y = y64.subarray(b * K, (b + 1) * K);
    const p = y.indexOf(Math.max(...y));
    for (let l = 0, r = 0; l < K; l++)
      if (l !== p) {
        rows[(b * R + r) * K + p] = 1;
        rows[(b * R + r) * K + l] = -1;
        r++;
      }
  }
  const boundsOnOrt = engines.onnxruntime.boundsBackend === "onnxruntime";
  const figures: Record<EngineBackend, { forward: number[]; gradient: number[]; bounds: number[] }> = {
    reference: { forward: [], gradient: [], bounds: [] },
    onnxruntime: { forward: [], gradient: [], bounds: [] },
  };
  for (const backend of BACKENDS) {
    const e = engines[backend];
    for (const B of BATCHES) {
      const xb = x.subarray(0, B * n),
        wb = w.subarray(0, B * K);
      figures[backend].forward.push(await time(() => e.forward(xb, B), B));
      figures[backend].gradient.push(await time(() => e.vjp(xb, wb, B), B));
      const bounds = () =>
        e.bounds(lower.subarray(0, B * n), upper.subarray(0, B * n), rows.subarray(0, B * R * K), R, B);
      // A network the bounds graph does not cover: both backends' bounds are the reference's; not timed.
      if (!boundsOnOrt) figures[backend].bounds.push(NaN);
      else if (backend === "reference" && B > REF_BOUNDS_MAX_BATCH) figures[backend].bounds.push(NaN);
      else if (backend === "reference") {
        // Timed once, no warm-up: the reference bounds one box at a time (~0.1 s each on mnist_mlp).
        const t0 = performance.now();
        await bounds();
        figures[backend].bounds.push(((performance.now() - t0) * 1000) / B);
      } else figures[backend].bounds.push(await time(bounds, B));
    }
    await e.dispose();
  }
  for (const backend of BACKENDS) {
    const f = figures[backend];
    console.log(
      `${name.padEnd(18)} ${backend.padEnd(12)}         ${f.forward.map(cell).join(" ")} |          ${f.gradient.map(cell).join(" ")} |        ${f.bounds.map(cell).join(" ")}`,
    );
  }
  if (!boundsOnOrt)
    console.log(`${name.padEnd(18)} bounds not timed, reference only (${engines.onnxruntime.boundsFallback})`);
  const ratio = (k: "forward" | "gradient" | "bounds") =>
    figures.reference[k]
      .map((r, i) => {
        const q = r / figures.onnxruntime[k][i];
        return (Number.isNaN(q) ? "—" : `${q.toFixed(1)}×`).padStart(9);
      })
      .join(" ");
  console.log(
    `${name.padEnd(18)} ${"speedup".padEnd(12)}         ${ratio("forward")} |          ${ratio("gradient")} |        ${ratio("bounds")}`,
  );
}
