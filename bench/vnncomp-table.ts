// The README's VNN-COMP table from bench/vnncomp.sh's result files: per network, the instances run (of the
// benchmark's), sat, unsat, timeout/unknown, median seconds of the answered ones, and answers that contradict
// the ground truth ("wrong"). Usage: npx tsx bench/vnncomp-table.ts BENCH_DIR OUT_DIR SET...
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { readGroundTruth, readInstances, readResults } from "../runtime/commands/vnncomp.js";
import { unwrap } from "../compiler/index.js";

const [bench, out, ...sets] = process.argv.slice(2);
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
console.log(
  "| benchmark | network | run / instances | sat | unsat | timeout or unknown | median s (answered) | wrong | with a known answer (of those run) | a-b-CROWN answered (of those run, VNN-COMP, GPU) |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const set of sets) {
  const csv = join(bench, set, "instances.csv");
  const all = unwrap(readInstances(csv)),
    truth = readGroundTruth(csv);
  // α,β-CROWN's published results for the same rows (results/a-b-CROWN.csv, organisers' paths), when present.
  const abPath = join(bench, set, "results", "a-b-CROWN.csv");
  const ab = new Map<string, string>();
  if (existsSync(abPath))
    for (const line of readFileSync(abPath, "utf8").split(/\r?\n/)) {
      const f = line.split(",");
      if (f.length >= 5) ab.set(`${basename(f[1])},${basename(f[2])}`, f[4].trim().toLowerCase());
    }
  const rows = readdirSync(out)
    .filter((f) => f.startsWith(`${set}.`) && f.endsWith(".csv"))
    .flatMap((f) => unwrap(readResults(join(out, f))));
  for (const net of [...new Set(all.map((i) => i.onnx))]) {
    const r = rows.filter((x) => x.onnx === net),
      n = all.filter((i) => i.onnx === net).length;
    const answered = r.filter((x) => x.result === "sat" || x.result === "unsat");
    const wrong = answered.filter((x) => {
      const t = truth?.get(`${x.onnx},${x.vnnlib}`);
      return (t === "sat" || t === "unsat") && t !== x.result;
    });
    const known = r.filter((x) => {
      const t = truth?.get(`${x.onnx},${x.vnnlib}`);
      return t === "sat" || t === "unsat";
    }).length;
    const abAnswered = r.filter((x) =>
      ["sat", "unsat"].includes(ab.get(`${basename(x.onnx)},${basename(x.vnnlib)}`) ?? ""),
    ).length;
    console.log(
      `| ${set} | ${net} | ${r.length} / ${n} | ${r.filter((x) => x.result === "sat").length} | ${r.filter((x) => x.result === "unsat").length} | ${r.length - answered.length} | ${answered.length ? median(answered.map((x) => x.seconds)).toFixed(1) : "n/a"} | ${wrong.length} | ${known} | ${ab.size ? abAnswered : "n/a"} |`,
    );
  }
}
