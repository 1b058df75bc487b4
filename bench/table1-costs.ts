// Per-digit seconds of `robustc augment` (issue 25's cost model, docs/results/table1.md): the same runner path as
// runtime/commands/augment.ts (openRun, the margin, makeRunner, runPoints), one job, but each point's seconds
// kept (augment's points.jsonl has none) and nothing written. measure's points.jsonl already has them.
// Usage: npx tsx bench/table1-costs.ts MODEL ALGORITHM [LIMIT]    (ALGORITHM: bracket or lbfgsb; LIMIT 20)
// Prints one JSON line: per-point seconds, median, mean, total wall.

import { DEFAULT_MARGIN, type AugmentAlgorithm } from "../runtime/augment.js";
import { openRun } from "../runtime/commands/run-request.js";
import { DEFAULT_LAZY } from "../runtime/lazy/lazy-loop.js";
import { makeRunner } from "../runtime/run/point-runner.js";
import { progressBar, runPoints } from "../runtime/run/measure.js";

const [model, algorithm, limitArg] = process.argv.slice(2) as [string, AugmentAlgorithm, string | undefined];
if (!model || (algorithm !== "bracket" && algorithm !== "lbfgsb")) {
  process.stderr.write("usage: npx tsx bench/table1-costs.ts MODEL bracket|lbfgsb [LIMIT]\n");
  process.exit(2);
}
const limit = Number(limitArg ?? 20);
const t0 = performance.now();
const { session, indices, cfg } = await openRun(model, {
  data: "mnist:train",
  limit,
  jobs: 1,
  timeLimit: DEFAULT_LAZY.timeLimit,
  add: "all",
  algorithm: algorithm === "lbfgsb" ? "lbfgsb" : "lp",
  ...(algorithm === "lbfgsb" ? {} : { mode: "bracket" as const }),
});
const runner = await makeRunner({ ...cfg, margin: DEFAULT_MARGIN[algorithm] }, 1, session);
const tRun = performance.now();
let points;
try {
  points = await runPoints(runner, indices, 1, null, await progressBar(indices.length, false));
} finally {
  await runner.close();
}
const tEnd = performance.now();
const secs = points.map((p) => p.seconds);
const sorted = [...secs].sort((a, b) => a - b);
const median =
  sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const mean = secs.reduce((a, b) => a + b, 0) / secs.length;
const r3 = (v: number) => Math.round(v * 1000) / 1000;
console.log(
  JSON.stringify({
    model,
    algorithm,
    points: secs.length,
    statuses: points.map((p) => p.status),
    seconds: secs.map(r3),
    // Summed seconds per stage over the points (the bracket's: attack, walk, restrict, margin LP, lower...).
    stages: Object.fromEntries(
      Object.entries(
        points.reduce<Record<string, number>>((acc, p) => {
          for (const [k, v] of Object.entries((p as { stages?: Record<string, number> }).stages ?? {}))
            acc[k] = (acc[k] ?? 0) + v;
          return acc;
        }, {}),
      ).map(([k, v]) => [k, r3(v)]),
    ),
    median: r3(median),
    mean: r3(mean),
    points_wall: r3((tEnd - tRun) / 1000),
    wall_with_setup: r3((tEnd - t0) / 1000),
  }),
);
