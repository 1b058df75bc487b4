// The paper's Table 1 and Figure 3 from the files examples/table1.sh leaves in OUT: measure/<base>-<net>-<how>/
// (report.json, points.jsonl; how = bracket or lbfgsb) and <base>-<alg>/finetune.json + aug<t>/manifest.json.
// Every frequency with its 95% Wilson interval; the bracket's phi as [phi_lower, phi_upper] and the paper's
// phi_hat (its restricted LP, from the bracket run's rho_hat) beside it. Writes OUT/table1.md, OUT/table1.json and
// OUT/fig3{a,b,c}.svg (runtime/report/plot.ts; (b) and (c) with the bracket's band). Usage: npx tsx bench/table1.ts OUT

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../compiler/backend/write-file.js";
import { predict } from "../runtime/commands/predict.js";
import { cdfSvg, type CdfBand } from "../runtime/report/plot.js";
import { openSession } from "../runtime/run/session.js";
import { wilson } from "../runtime/run/measure.js";

const OUT = process.argv[2] ?? "out/table1";
const EPS = 20;
/** Figure 3's eps axis (pixels; FIG_XMAX): the whole pixel range, so that the L-BFGS-B examples far beyond eps show. */
const XMAX = Number(process.env.FIG_XMAX ?? 255);
const settings = existsSync(join(OUT, "settings.json"))
  ? JSON.parse(readFileSync(join(OUT, "settings.json"), "utf8"))
  : {};
const BASES: string[] = (settings.bases ?? "mnist_lenet_caffe mnist_lenet")
  .split(/\s+/)
  .filter((b: string) => b !== "");

interface Net {
  readonly key: string;
  readonly name: string;
  readonly model: string;
}
const netsOf = (base: string): Net[] => [
  { key: `${base}-original`, name: `${base} (original)`, model: `examples/models/${base}.onnx` },
  { key: `${base}-lbfgsb-t1`, name: "Baseline (T = 1)", model: join(OUT, `${base}-lbfgsb/round1.onnx`) },
  { key: `${base}-lbfgsb-t2`, name: "Baseline (T = 2)", model: join(OUT, `${base}-lbfgsb/round2.onnx`) },
  { key: `${base}-bracket-t1`, name: "Our algorithm (T = 1)", model: join(OUT, `${base}-bracket/round1.onnx`) },
  { key: `${base}-bracket-t2`, name: "Our algorithm (T = 2)", model: join(OUT, `${base}-bracket/round2.onnx`) },
];
const NIN: readonly Net[] = [
  { key: "mnist_nin-original", name: "mnist_nin (original)", model: "examples/models/mnist_nin.onnx" },
  {
    key: "mnist_nin-bracket-t1",
    name: "mnist_nin, fine-tuned by our algorithm (T = 1)",
    model: join(OUT, "mnist_nin-bracket/round1.onnx"),
  },
];

interface Freq {
  readonly k: number;
  readonly n: number;
  readonly frequency: number | null;
  readonly wilson: [number, number] | null;
}
const freq = (k: number, n: number): Freq => ({ k, n, frequency: n > 0 ? k / n : null, wilson: wilson(k, n) });

interface Points {
  readonly status: string;
  readonly rho: number | null;
  readonly upper?: number | null;
  readonly lower?: number | null;
  readonly rho_hat?: number | string | null;
}
const readPoints = (dir: string): Points[] =>
  readFileSync(join(dir, "points.jsonl"), "utf8")
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
const num = (v: unknown): number =>
  typeof v === "number" ? v : v === "inf" || v === null || v === undefined ? Infinity : Number(v);

/** A net measured by L-BFGS-B: frequency and severity at eps, every example's distance. */
function byLbfgsb(key: string) {
  const dir = join(OUT, "measure", `${key}-lbfgsb`);
  if (!existsSync(join(dir, "report.json"))) return null;
  const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
  const rhos = readPoints(dir)
    .filter((p) => p.status === "adversarial" && p.rho !== null)
    .map((p) => Number(p.rho));
  return {
    points: r.n,
    correct: r.correct,
    ...freq(r.adversarial_within_eps, r.correct),
    severity: r.severity,
    rhos,
    seconds: r.total_seconds,
  };
}

/** A net measured by the bracket: phi in [phi_lower, phi_upper], the paper's phi_hat from rho_hat, the three curves. */
function byBracket(key: string) {
  const dir = join(OUT, "measure", `${key}-bracket`);
  if (!existsSync(join(dir, "report.json"))) return null;
  const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
  const X = readPoints(dir).filter((p) => p.status !== "misclassified");
  const fc = r.frequency_counts as { surely_within: number; possibly_within: number; correct: number };
  return {
    n: r.n,
    correct: fc.correct,
    phiLower: freq(fc.surely_within, fc.correct),
    phiUpper: freq(fc.possibly_within, fc.correct),
    severityUpper: r.severity_upper,
    paperLp: { ...freq(r.adversarial_within_eps, fc.correct), severity: r.severity },
    upper: X.map((p) => num(p.upper)),
    lower: X.map((p) => (p.lower === null || p.lower === undefined ? 0 : num(p.lower))),
    rhoHat: X.map((p) => num(p.rho_hat)),
    seconds: r.total_seconds,
    counts: r.counts,
  };
}

/** index → the bracket's upper (pixels) over the correctly classified digits with one; null when not measured. */
function pairedUppers(key: string): Map<number, number> | null {
  const dir = join(OUT, "measure", `${key}-bracket`);
  if (!existsSync(join(dir, "report.json"))) return null;
  const pts = readFileSync(join(dir, "points.jsonl"), "utf8")
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
  return new Map(
    pts
      .filter((p) => p.status !== "misclassified" && typeof p.upper === "number")
      .map((p) => [p.index as number, p.upper as number]),
  );
}

/** The exact two-sided sign test: P(a count at least as far from n/2 as k) for n fair coin flips. */
export function signTest(k: number, n: number): number {
  if (n === 0) return 1;
  const far = Math.max(k, n - k);
  let tail = 0; // C(n, i) in log space: n may be 500
  const logC: number[] = [0];
  for (let i = 1; i <= n; i++) logC.push(logC[i - 1] + Math.log(n - i + 1) - Math.log(i));
  for (let i = far; i <= n; i++) tail += Math.exp(logC[i] - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

async function testAccuracy(model: string): Promise<{ correct: number; n: number } | null> {
  if (!existsSync(model)) return null;
  const s = openSession(model, { data: "mnist:test", pixelScale: 255 });
  if (!s.ok) return null;
  const r = await predict(
    s.value,
    Array.from({ length: s.value.dataset.count }, (_, i) => i),
    "onnxruntime",
  );
  return { correct: r.correct, n: r.labelled };
}

/** Examples per fine-tuning chain and round (augment manifests). */
function chains(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const chain of [...BASES.flatMap((b) => [`${b}-lbfgsb`, `${b}-bracket`]), "mnist_nin-bracket"]) {
    const dir = join(OUT, chain);
    if (!existsSync(dir)) continue;
    for (const sub of readdirSync(dir)
      .filter((d) => /^aug\d+$/.test(d))
      .sort()) {
      const m = join(dir, sub, "manifest.json");
      if (!existsSync(m)) continue;
      const j = JSON.parse(readFileSync(m, "utf8"));
      rows.push({
        chain,
        round: Number(sub.slice(3)),
        algorithm: j.algorithm,
        margin: j.margin,
        tried: j.points_tried,
        found: j.found,
        lost: j.lost_to_rounding,
        kept: j.kept,
        seconds: j.seconds,
      });
    }
  }
  return rows;
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : `${(100 * v).toFixed(1)}%`);
const ci = (f: Freq | null | undefined) =>
  !f || f.wilson === null ? "–" : `${pct(f.frequency)} (${f.k}/${f.n}; ${pct(f.wilson[0])}–${pct(f.wilson[1])})`;
const px = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(2));

async function main(): Promise<void> {
  const write = (name: string, data: string) => {
    const w = writeFileAtomic(join(OUT, name), data);
    if (!w.ok) throw new Error(w.diagnostics[0].message);
  };
  const md: string[] = [
    `# Table 1: adversarial fine-tuning (eps = ${EPS} px)`,
    "",
    `Settings: ${JSON.stringify(settings)}. Accuracy on all 1,996 mnist:test digits (onnxruntime). Frequencies over the correctly`,
    "classified measured test digits, with 95% Wilson intervals; severities in pixels. The bracket: phi(eps) lies in",
    "[phi_lower, phi_upper] (a checked example within eps; not certified beyond eps); the paper's LP: phi_hat from rho_hat",
    "(the restricted LP in x*'s region, from the same bracket run).",
    "",
  ];
  const json: Record<string, unknown>[] = [];
  const figB: { name: string; rhos: number[] }[] = [],
    bands: CdfBand[] = [],
    figA: { name: string; rhos: number[] }[] = [];
  for (const base of BASES) {
    md.push(
      `## ${base}`,
      "",
      "| Neural net | Accuracy | L-BFGS-B: frequency | severity | paper's LP: frequency | severity | bracket: phi_lower | phi_upper | mu from upper |",
      "|---|---|---|---|---|---|---|---|---|",
    );
    for (const net of netsOf(base)) {
      const acc = await testAccuracy(net.model),
        lb = byLbfgsb(net.key),
        br = byBracket(net.key);
      md.push(
        `| ${net.name} | ${acc ? `${((100 * acc.correct) / acc.n).toFixed(2)}%` : "–"} | ${lb ? ci(lb) : "–"} | ${lb ? px(lb.severity) : "–"} | ${br ? ci(br.paperLp) : "–"} | ${br ? px(br.paperLp.severity) : "–"} | ${br ? ci(br.phiLower) : "–"} | ${br ? ci(br.phiUpper) : "–"} | ${br ? px(br.severityUpper) : "–"} |`,
      );
      json.push({
        base,
        ...net,
        accuracy: acc,
        lbfgsb: lb && { ...lb, rhos: undefined },
        bracket: br && { ...br, upper: undefined, lower: undefined, rhoHat: undefined },
      });
      if (lb) figA.push({ name: `${base}: ${net.name}`, rhos: lb.rhos });
      if (br) {
        figB.push({ name: `${base}: ${net.name} (rho_hat)`, rhos: br.rhoHat });
        bands.push({ name: `${base}: ${net.name} (bracket)`, upper: br.upper, lower: br.lower });
      }
    }
    md.push("");
  }
  const nin = [];
  for (const net of NIN) {
    const br = byBracket(net.key),
      acc = await testAccuracy(net.model);
    nin.push({ ...net, accuracy: acc, bracket: br });
    json.push({
      base: "mnist_nin",
      ...net,
      accuracy: acc,
      bracket: br && { ...br, upper: undefined, lower: undefined, rhoHat: undefined },
    });
  }
  md.push(
    "## Figure 3(c) stand-in: mnist_nin (MNIST; the paper's is NiN on CIFAR-10)",
    "",
    "| Neural net | Accuracy | paper's LP: frequency | bracket: phi_lower | phi_upper |",
    "|---|---|---|---|---|",
    ...nin.map(
      (r) =>
        `| ${r.name} | ${r.accuracy ? `${((100 * r.accuracy.correct) / r.accuracy.n).toFixed(2)}%` : "–"} | ${r.bracket ? ci(r.bracket.paperLp) : "–"} | ${r.bracket ? ci(r.bracket.phiLower) : "–"} | ${r.bracket ? ci(r.bracket.phiUpper) : "–"} |`,
    ),
    "",
  );
  // Paired, on the same digits: does fine-tuning move the bracket's upper bound (the closest checked example)?
  md.push(
    "Paired on the same test digits (the bracket's upper bound, i.e. the closest checked example's distance): digits where",
    "it grew / shrank, the median change, and the exact two-sided sign test's p.",
    "",
    "| comparison | digits | grew | shrank | median change (px) | sign test p |",
    "|---|---|---|---|---|---|",
  );
  for (const base of BASES) {
    const upper = (key: string) => pairedUppers(key);
    const pairs: [string, string, string][] = [
      [`${base}-lbfgsb-t1`, `${base}-original`, "Baseline (T = 1) vs original"],
      [`${base}-bracket-t1`, `${base}-original`, "Our algorithm (T = 1) vs original"],
      [`${base}-bracket-t1`, `${base}-lbfgsb-t1`, "Our algorithm (T = 1) vs Baseline (T = 1)"],
      [`${base}-lbfgsb-t2`, `${base}-original`, "Baseline (T = 2) vs original"],
      [`${base}-bracket-t2`, `${base}-original`, "Our algorithm (T = 2) vs original"],
      [`${base}-bracket-t2`, `${base}-lbfgsb-t2`, "Our algorithm (T = 2) vs Baseline (T = 2)"],
    ];
    for (const [a, b, name] of pairs) {
      const A = upper(a),
        B = upper(b);
      if (!A || !B) continue;
      const d = [...A.keys()].filter((i) => B.has(i)).map((i) => A.get(i)! - B.get(i)!);
      const grew = d.filter((x) => x > 0).length,
        shrank = d.filter((x) => x < 0).length;
      const med = [...d].sort((x, y) => x - y)[Math.floor(d.length / 2)];
      md.push(
        `| ${base}: ${name} | ${d.length} | ${grew} | ${shrank} | ${med === undefined ? "n/a" : med.toFixed(2)} | ${signTest(grew, grew + shrank).toPrecision(2)} |`,
      );
    }
  }
  md.push("");
  const ch = chains();
  if (ch.length > 0) {
    md.push(
      "Adversarial examples for fine-tuning (robustc augment on the first training digits, per round):",
      "",
      "| chain | round | algorithm (margin) | digits tried | found | lost to rounding | kept | seconds |",
      "|---|---|---|---|---|---|---|---|",
      ...ch.map(
        (c) =>
          `| ${c.chain} | ${c.round} | ${c.algorithm} (${c.margin}) | ${c.tried} | ${c.found} | ${c.lost} | ${c.kept} | ${c.seconds} |`,
      ),
      "",
    );
  }
  write("table1.md", md.join("\n"));
  write(
    "table1.json",
    JSON.stringify(
      { settings, eps: EPS, confidence: 0.95, interval: "Wilson score", nets: json, augment: ch },
      null,
      2,
    ) + "\n",
  );
  write(
    "fig3a.svg",
    await cdfSvg(figA, { title: "Figure 3(a): measured by L-BFGS-B", xMax: XMAX, eps: EPS, legend: "net" }),
  );
  write(
    "fig3b.svg",
    await cdfSvg(figB, {
      title: "Figure 3(b): measured by the paper's LP (rho_hat) with the bracket's band",
      xMax: XMAX,
      eps: EPS,
      legend: "net",
      bands,
    }),
  );
  const ninB = nin.filter((r) => r.bracket);
  write(
    "fig3c.svg",
    await cdfSvg(
      ninB.map((r) => ({ name: `${r.name} (rho_hat)`, rhos: r.bracket!.rhoHat })),
      {
        title: "Figure 3(c) stand-in: mnist_nin measured by the paper's LP with the bracket's band",
        xMax: XMAX,
        eps: EPS,
        legend: "net",
        bands: ninB.map((r) => ({ name: `${r.name} (bracket)`, upper: r.bracket!.upper, lower: r.bracket!.lower })),
      },
    ),
  );
  console.log(md.join("\n"));
}

await main();
