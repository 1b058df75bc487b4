// The paper's Table 1 and Figure 3 from the files examples/table1.sh leaves in OUT: measure/<net>-<alg>/
// (report.json, points.jsonl) and <chain>/finetune.json + aug<t>/manifest.json. Writes OUT/table1.md,
// OUT/table1.json and OUT/fig3{a,b,c}.svg (vega-lite, runtime/report/plot.ts). Usage: npx tsx bench/table1.ts OUT

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../compiler/backend/write-file.js";
import { predict } from "../runtime/commands/predict.js";
import { cdfSvg } from "../runtime/report/plot.js";
import { openSession, selectIndices } from "../runtime/run/session.js";

const OUT = process.argv[2] ?? "out/table1";
const EPS = 20;
/** Figure 3's eps axis (pixels; FIG_XMAX): the whole pixel range, so that the L-BFGS-B examples far beyond eps show. */
const XMAX = Number(process.env.FIG_XMAX ?? 255);

interface Net { readonly key: string; readonly name: string; readonly model: string }
const NETS: readonly Net[] = [
  { key: "lenet-original", name: "LeNet (original)", model: "examples/models/mnist_lenet.onnx" },
  { key: "lenet-lbfgsb-t1", name: "Baseline (T = 1)", model: join(OUT, "lenet-lbfgsb/round1.onnx") },
  { key: "lenet-lbfgsb-t2", name: "Baseline (T = 2)", model: join(OUT, "lenet-lbfgsb/round2.onnx") },
  { key: "lenet-lp-t1", name: "Our algorithm (T = 1)", model: join(OUT, "lenet-lp/round1.onnx") },
  { key: "lenet-lp-t2", name: "Our algorithm (T = 2)", model: join(OUT, "lenet-lp/round2.onnx") },
];
const NIN: readonly Net[] = [
  { key: "nin-original", name: "mnist_nin (original)", model: "examples/models/mnist_nin.onnx" },
  { key: "nin-lp-t1", name: "mnist_nin, LP-fine-tuned (T = 1)", model: join(OUT, "nin-lp/round1.onnx") },
];

interface Measured {
  readonly frequency: number | null; readonly severity: number | null; readonly within: number; readonly correct: number;
  readonly n: number; readonly rhos: number[]; readonly medianSeconds: number; readonly totalSeconds: number;
}

function measured(key: string, alg: string): Measured | null {
  const dir = join(OUT, "measure", `${key}-${alg}`);
  if (!existsSync(join(dir, "report.json"))) return null;
  const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
  const rhos = readFileSync(join(dir, "points.jsonl"), "utf8").trim().split("\n").filter((l) => l !== "")
    .map((l) => JSON.parse(l)).filter((p) => p.status === "adversarial" && p.rho !== null).map((p) => Number(p.rho));
  return {
    frequency: r.frequency, severity: r.severity, within: r.adversarial_within_eps, correct: r.correct, n: r.n, rhos,
    medianSeconds: r.median_seconds, totalSeconds: r.total_seconds,
  };
}

async function testAccuracy(model: string): Promise<{ correct: number; n: number } | null> {
  if (!existsSync(model)) return null;
  const s = openSession(model, { data: "mnist:test", pixelScale: 255 });
  if (!s.ok) return null;
  const idx = selectIndices(s.value.dataset.count, undefined, undefined, "mnist:test");
  if (!idx.ok) return null;
  const r = await predict(s.value, idx.value, "onnxruntime");
  return { correct: r.correct, n: r.labelled };
}

/** Examples per fine-tuning chain and round: found, lost to rounding, kept (from the augment manifests). */
function chains(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const chain of ["lenet-lbfgsb", "lenet-lp", "nin-lp"]) {
    const dir = join(OUT, chain);
    if (!existsSync(dir)) continue;
    for (const sub of readdirSync(dir).filter((d) => /^aug\d+$/.test(d)).sort()) {
      const m = join(dir, sub, "manifest.json");
      if (!existsSync(m)) continue;
      const j = JSON.parse(readFileSync(m, "utf8"));
      rows.push({ chain, round: Number(sub.slice(3)), model: j.model, algorithm: j.algorithm, margin: j.margin, tried: j.points_tried,
        misclassified: j.misclassified, found: j.found, lost: j.lost_to_rounding, kept: j.kept, seconds: j.seconds });
    }
  }
  return rows;
}

interface Row extends Net { readonly accuracy: { correct: number; n: number } | null; readonly lbfgsb: Measured | null; readonly lp: Measured | null }

const pct = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : `${(100 * v).toFixed(1)}%`);
const px = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(2));

async function main(): Promise<void> {
  const settings = existsSync(join(OUT, "settings.json")) ? JSON.parse(readFileSync(join(OUT, "settings.json"), "utf8")) : {};
  const rows: Row[] = [];
  for (const net of [...NETS, ...NIN]) {
    rows.push({ ...net, accuracy: await testAccuracy(net.model), lbfgsb: measured(net.key, "lbfgsb"), lp: measured(net.key, "lp") });
  }
  const cell = (m: Measured | null) => (m === null ? "– | –" : `${pct(m.frequency)} (${m.within}/${m.correct}) | ${px(m.severity)}`);
  const acc = (a: { correct: number; n: number } | null) => (a === null ? "–" : `${(100 * a.correct / a.n).toFixed(2)}%`);
  const lenet = rows.slice(0, NETS.length), nin = rows.slice(NETS.length);
  const md: string[] = [
    `# Table 1: adversarial fine-tuning of mnist_lenet (eps = ${EPS} px)`, "",
    `Settings: ${JSON.stringify(settings)}. Accuracy on all 1,996 mnist:test digits (onnxruntime); frequency`,
    `phi_hat(${EPS}) and severity mu_hat(${EPS}) (pixels) on the first test points, each measured by both algorithms;`,
    "frequency = points with rho_hat ≤ eps / correctly classified points.", "",
    "| Neural net | Accuracy | Baseline (L-BFGS-B): frequency | severity | Our algorithm (LP): frequency | severity |",
    "|---|---|---|---|---|---|",
    ...lenet.map((r) => `| ${r.name} | ${acc(r.accuracy)} | ${cell(r.lbfgsb)} | ${cell(r.lp)} |`),
    "", "Figure 3(c) stand-in (mnist_nin measured by the LP; the paper's is NiN on CIFAR-10):", "",
    "| Neural net | Accuracy | Our algorithm (LP): frequency | severity |", "|---|---|---|---|",
    ...nin.map((r) => `| ${r.name} | ${acc(r.accuracy)} | ${cell(r.lp)} |`),
  ];
  const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)].toFixed(2) : "n/a"; };
  const any = (m: Measured | null) => (m === null ? "– | –" : `${m.rhos.length}/${m.correct} | ${med(m.rhos)}`);
  md.push("", "Every checked example at any distance (not only rho_hat ≤ eps): count / correctly classified, median rho_hat (px):", "",
    "| Neural net | L-BFGS-B: examples | median rho_hat | LP: examples | median rho_hat |", "|---|---|---|---|---|",
    ...[...lenet, ...nin].map((r) => `| ${r.name} | ${any(r.lbfgsb)} | ${any(r.lp)} |`));
  const ch = chains();
  if (ch.length > 0) {
    md.push("", "Adversarial examples for fine-tuning (robustc augment on the first training points, per round):", "",
      "| chain | round | algorithm (margin) | points tried | found | lost to rounding | kept | seconds |", "|---|---|---|---|---|---|---|---|",
      ...ch.map((c) => `| ${c.chain} | ${c.round} | ${c.algorithm} (${c.margin}) | ${c.tried} | ${c.found} | ${c.lost} | ${c.kept} | ${c.seconds} |`));
    const found = ch.reduce((a, c) => a + Number(c.found), 0), lost = ch.reduce((a, c) => a + Number(c.lost), 0);
    md.push("", `Lost to rounding overall: ${lost} of ${found} found examples (${found > 0 ? (100 * lost / found).toFixed(1) : "n/a"}%; the paper: 8.3%).`);
  }
  const timing = rows.flatMap((r) => (["lp", "lbfgsb"] as const).flatMap((a) => (r[a] ? [`${r.key}-${a}: ${r[a]!.totalSeconds.toFixed(0)} s (median ${r[a]!.medianSeconds.toFixed(2)} s/point)`] : [])));
  md.push("", "Measurement times: " + timing.join("; ") + ".", "");
  const write = (name: string, data: string) => { const w = writeFileAtomic(join(OUT, name), data); if (!w.ok) throw new Error(w.diagnostics[0].message); };
  write("table1.md", md.join("\n"));
  write("table1.json", JSON.stringify({ settings, eps: EPS, nets: rows.map(({ lbfgsb, lp, ...r }) => ({ ...r, lbfgsb: lbfgsb && { ...lbfgsb, rhos: undefined }, lp: lp && { ...lp, rhos: undefined } })), augment: ch }, null, 2) + "\n");
  const fig = async (name: string, title: string, nets: readonly Row[], alg: "lp" | "lbfgsb") => {
    const series = nets.filter((r) => r[alg] !== null).map((r) => ({ name: r.name, rhos: r[alg]!.rhos }));
    write(name, await cdfSvg(series, { title, xMax: XMAX, eps: EPS, legend: "net" }));
  };
  const n = (settings as { test_points?: number }).test_points ?? "?";
  await fig("fig3a.svg", `Figure 3(a): mnist_lenet nets measured by L-BFGS-B (first ${n} mnist:test points)`, lenet, "lbfgsb");
  await fig("fig3b.svg", `Figure 3(b): mnist_lenet nets measured by the LP (first ${n} mnist:test points)`, lenet, "lp");
  await fig("fig3c.svg", `Figure 3(c), stand-in: mnist_nin (MNIST, not CIFAR-10) measured by the LP`, nin, "lp");
  console.log(md.join("\n"));
}

await main();
