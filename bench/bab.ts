// Branch and bound on mnist_mlp, the two engines side by side on the same decisions: is there an input within eps of
// the digit with another label? eps = FACTOR × the certified lower bound of CROWN alone (so above what bounds alone
// prove, below the attack's upper where the bracket is not tight). Per digit, the batched branch and bound on the
// engine's bounds graph (runtime/bab/batched.ts proveRows: splits as clamps, optimised slopes and β multipliers,
// every child of a batch in one call) and the LP branch and bound (runtime/bab/search.ts decide: a subdomain LP
// each), SECONDS each: status, subdomains, subdomains per second. Prints figures only.
// Usage: npx tsx bench/bab.ts   env: POINTS (default 10), SECONDS (default 10), FACTOR (default 1.2), ITERATIONS
// (the batched search's optimisation steps per batch and at the root; default DEFAULT_BATCHED_BAB's), LP=0 (skip
// the LP search), STEER=0 (every optimisation call in float64: OptimiseOptions.steer), BRANCHING=babsr|fsb
// (BatchedBabOptions.branching)

import { radiusBox } from "../compiler/index.js";
import { DEFAULT_BATCHED_BAB, proveRows } from "../runtime/bab/batched.js";
import { decide, DEFAULT_BAB } from "../runtime/bab/search.js";
import { checkExample } from "../runtime/point/check.js";
import { rhoSpec } from "../runtime/rho/exact.js";
import { certifiedLowerEngine, marginRows } from "../runtime/rho/lower.js";
import { disposeContext } from "../runtime/run/point-runner.js";
import { mnistTestContext } from "./mnist-context.js";
import { modelInput } from "../runtime/run/session.js";

const POINTS = Number(process.env.POINTS ?? 10),
  SECONDS = Number(process.env.SECONDS ?? 10),
  FACTOR = Number(process.env.FACTOR ?? 1.2),
  LP = process.env.LP !== "0";
const MODEL = "examples/models/mnist_mlp.onnx";

const { session, ctx } = await mnistTestContext(MODEL);
const net = ctx.net;
console.log(`mnist_mlp, mnist:test 0..${POINTS - 1}: eps = ${FACTOR} × CROWN's certified radius, ${SECONDS} s each`);
console.log("| digit | eps px | batched: status | subdomains | per s | LP: status | subdomains | per s |");
console.log("|---|---|---|---|---|---|---|---|");
const K = 10;
for (let i = 0; i < POINTS; i++) {
  const x = Float64Array.from(modelInput(session, i));
  const y = await ctx.engine.forward(x, 1);
  const p = y.indexOf(Math.max(...y));
  if (p !== session.dataset.labels![i]) continue;
  const crown = await certifiedLowerEngine(ctx.engine, net, x, p, 60 / 255, { lo: 0, hi: 1 });
  const eps = crown.lower * FACTOR;
  const G = marginRows(p, K);
  const box = radiusBox(x, eps, 0, 1);
  const a = await proveRows(ctx.engine, net, box.lower, box.upper, G, K - 1, {
    ...DEFAULT_BATCHED_BAB,
    ...(process.env.ITERATIONS
      ? { iterations: Number(process.env.ITERATIONS), rootIterations: Number(process.env.ITERATIONS) }
      : {}),
    ...(process.env.STEER === "0" ? { steer: false } : {}),
    ...(process.env.BRANCHING ? { branching: process.env.BRANCHING as "babsr" | "fsb" } : {}),
    deadline: performance.now() + SECONDS * 1000,
  });
  const b = LP
    ? await decide(
        { net, matrices: ctx.matrices, refineWork: DEFAULT_BAB.refineWork },
        rhoSpec(ctx, x, p, eps),
        (z) => checkExample(ctx, Float32Array.from(z), x, p),
        { deadline: performance.now() + SECONDS * 1000, nodeLimit: DEFAULT_BAB.nodeLimit, nodeLp: DEFAULT_BAB.nodeLp },
      )
    : { status: "skipped", nodes: 0, seconds: 1 };
  console.log(
    `| ${i} | ${(eps * 255).toFixed(3)} | ${a.status} | ${a.nodes} | ${(a.nodes / a.seconds).toFixed(0)} | ${b.status} | ${b.nodes} | ${(b.nodes / b.seconds).toFixed(0)} |`,
  );
}
await disposeContext(ctx);
