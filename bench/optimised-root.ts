// α-CROWN's root bounds (runtime/bab/root-bounds.ts optimisedRootBounds, from the reference's as proveSpec runs it)
// against the reference's back-substitution alone (deepRootBounds, what the batched search started from before) on
// VNN-COMP instances: per instance, the unstable
// ReLUs of each hidden layer and the worst row's bound minus its threshold (the engine's bounds of the rows with the
// root bounds as clamps; > 0 refutes the instance at once), with the seconds each took; then, with SECONDS > 0, the
// batched search (proveRows, the decision's own options) from each, SECONDS each: status, subdomains, lowest open
// bound. The first case of each property only. Prints figures only.
// Usage: npx tsx bench/optimised-root.ts   env: CASES (net:prop pairs of mnistfc_2021, default the five below),
// ITERATIONS (default 20, as proveSpec), SECONDS (default 0), BENCH (default ../shared/benchmarks/vnncomp)

import { DEFAULT_BATCHED_BAB, proveRows } from "../runtime/bab/batched.js";
import { specRows } from "../runtime/bab/decide.js";
import { deepRootBounds, optimisedRootBounds, type RootBounds } from "../runtime/bab/root-bounds.js";
import { specOf } from "../runtime/bab/spec.js";
import { openProperty, openVerifyModel } from "../runtime/verify/open.js";

const DIR = `${process.env.BENCH ?? "../shared/benchmarks/vnncomp"}/mnistfc_2021/`;
const CASES = (
  process.env.CASES ?? "256x2:prop_1_0.03,256x2:prop_3_0.03,256x4:prop_0_0.03,256x4:prop_3_0.03,256x6:prop_0_0.03"
).split(",");
const ITERATIONS = Number(process.env.ITERATIONS ?? 20),
  SECONDS = Number(process.env.SECONDS ?? 0);

const unstable = (b: RootBounds["relu"]) =>
  b
    .map((c) => {
      let u = 0;
      for (let j = 0; j < c.lower.length; j++) if (c.lower[j] < 0 && c.upper[j] > 0) u++;
      return u;
    })
    .join("/");

console.log(`mnistfc_2021: root bounds, the reference's against α-CROWN's (${ITERATIONS} steps a layer)`);
console.log(
  "| instance | engine alone: unstable | worst row | reference: unstable | worst row | s | α-CROWN: unstable | worst row | s |" +
    (SECONDS > 0 ? ` search from the reference, ${SECONDS} s | search from α-CROWN's |` : ""),
);
console.log(`|---|---|---|---|---|---|---|---|---|${SECONDS > 0 ? "---|---|" : ""}`);
for (const c of CASES) {
  const [name, prop] = c.split(":");
  const model = `${DIR}mnist-net_${name}.onnx`;
  const opened = await openVerifyModel(model);
  if (!opened.ok) throw new Error(opened.diagnostics[0].message);
  const { net, matrices, engine } = opened.value.context;
  const p = openProperty(`${DIR}${prop}.vnnlib`, net, model);
  if (!p.ok) throw new Error(p.diagnostics[0].message);
  const s = specOf((p.value.cases ?? [p.value])[0]);
  const spec = specRows(s, engine.outputSize)!,
    R = s.disjuncts.length;
  const worst = (lower: Float64Array) => Math.min(...Array.from(lower, (v, k) => v - spec.thresholds[k])).toFixed(3);
  const rowsWith = async (root?: RootBounds) =>
    (await engine.bounds(s.lower, s.upper, spec.rows, R, 1, undefined, root?.relu)).lower;
  const plain = await engine.bounds(s.lower, s.upper, spec.rows, R, 1);
  let t = performance.now();
  const deep = deepRootBounds(engine, net, matrices, s.lower, s.upper, Infinity)?.bounds;
  const deepS = (performance.now() - t) / 1000;
  t = performance.now();
  const opt = (await optimisedRootBounds(engine, net, s.lower, s.upper, {
    iterations: ITERATIONS,
    deadline: Infinity,
    // From the reference's, as proveSpec starts it.
    ...(deep ? { start: deep } : {}),
  }))!;
  const optS = (performance.now() - t) / 1000;
  const cells = [
    `${name} ${prop}`,
    unstable(plain.preActivation),
    worst(plain.lower),
    deep ? unstable(deep.relu) : "none",
    deep ? worst(await rowsWith(deep)) : "",
    deepS.toFixed(2),
    unstable(opt.relu),
    worst(await rowsWith(opt)),
    optS.toFixed(2),
  ];
  if (SECONDS > 0)
    for (const root of [deep, opt]) {
      const r = await proveRows(engine, net, s.lower, s.upper, spec.rows, R, {
        ...DEFAULT_BATCHED_BAB,
        thresholds: spec.thresholds,
        deadline: performance.now() + SECONDS * 1000,
        ...(root ? { rootBounds: root } : {}),
      });
      cells.push(
        `${r.status}, ${r.nodes}, ${r.status === "unsat" ? `${r.seconds.toFixed(1)} s` : r.openValue.toFixed(3)}`,
      );
    }
  console.log(`| ${cells.join(" | ")} |`);
  await opened.value.close();
}
process.exit(0);
