// Exact rho on mnist_mlp: --mode exact (branch and bound, runtime/bab/) against --mode milp (the big-M MILPs
// it replaced), the same digits in the same run, one thread: how many close (upper − lower ≤ 1e-3 px),
// seconds per point, and the bracket each leaves where it does not close. Prints figures only.
// Usage: npx tsx bench/exact.ts   env: POINTS (default 20) first test digits, SECONDS (default 60) per point and mode,
// MODES (default "exact,milp").

import { mnistTestContext } from "./mnist-context.js";
import { modelInput } from "../runtime/run/session.js";
import { rhoForPointMode } from "../runtime/rho/modes.js";
import { quantile } from "../runtime/run/measure.js";
import type { BracketMode, BracketPoint } from "../runtime/rho/result.js";

const POINTS = Number(process.env.POINTS ?? 20),
  SECONDS = Number(process.env.SECONDS ?? 60);
const MODES = (process.env.MODES ?? "exact,milp").split(",") as BracketMode[];
const q = (xs: number[], p: number) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    p,
  );
const f = (v: number | null | undefined, d = 3) =>
  v === null || v === undefined ? "n/a" : Number.isFinite(v) ? v.toFixed(d) : "inf";

const { session, ctx } = await mnistTestContext("examples/models/mnist_mlp.onnx", { timeLimit: SECONDS });
const rows: Record<string, BracketPoint[]> = Object.fromEntries(MODES.map((m) => [m, []]));
for (let i = 0; i < POINTS; i++) {
  const x = modelInput(session, i),
    label = session.dataset.labels![i];
  for (const m of MODES) {
    const r = await rhoForPointMode(ctx, m, i, x, label, 20);
    if (r.status !== "misclassified") rows[m].push(r);
    console.log(
      `digit ${i} ${m.padEnd(5)} ${r.status.padEnd(9)} lower ${f(r.lower)} upper ${f(r.upper)} px  ${f(r.seconds, 1)} s${r.nodes !== undefined ? `  ${r.nodes} subdomains` : ""}`,
    );
  }
}
console.log(`\nmnist_mlp, mnist:test 0..${POINTS - 1}, ${SECONDS} s per point, node ${process.version}, one thread`);
console.log(
  "| mode | closed (exact within 1e-3 px) | median s (all) | median s (closed) | median upper - lower where open (px) | median lower/upper |",
);
console.log("|---|---|---|---|---|---|");
for (const m of MODES) {
  const v = rows[m],
    closed = v.filter((r) => r.status === "exact");
  const open = v.filter((r) => r.status !== "exact" && r.upper != null && r.lower != null);
  console.log(
    `| ${m} | ${closed.length}/${v.length} | ${f(
      q(
        v.map((r) => r.seconds),
        0.5,
      ),
      2,
    )} | ${f(
      q(
        closed.map((r) => r.seconds),
        0.5,
      ),
      2,
    )} | ${f(
      q(
        open.map((r) => r.upper! - r.lower!),
        0.5,
      ),
    )} | ${f(
      q(
        v.filter((r) => r.upper).map((r) => r.lower! / r.upper!),
        0.5,
      ),
    )} |`,
  );
}
process.exit(0);
