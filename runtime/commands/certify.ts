// `robustc certify MODEL --data D --eps E --out DIR`: verified robust accuracy at eps, the figure α,β-CROWN
// users report first. A measure run in --mode certify (the attack, then branch and bound at eps per point:
// verified | falsified with its checked example | unknown), with measure's files and resume, and one line
// with the three percentages over all points (misclassified points count as not verified, as is usual).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { measureCommand, type MeasureRequest } from "./measure.js";
import { unitShort } from "../data/input-map.js";

export type CertifyRequest = Omit<MeasureRequest, "mode" | "algorithm" | "add" | "shard" | "queue"> & {
  readonly eps: number;
};

export async function certifyCommand(model: string, r: CertifyRequest, out: (line: string) => void): Promise<void> {
  await measureCommand(model, { ...r, mode: "certify", algorithm: "lp", add: "all" }, out);
  const report = JSON.parse(readFileSync(join(r.out, "report.json"), "utf8")) as {
    counts: Record<string, number>;
    n?: number;
    settings: { pixel_scale: number };
  };
  out(certifyLine(report.counts, r.eps, report.settings.pixel_scale));
}

/** "verified robust accuracy at eps E: V% (v of n) verified, F% falsified, U% unknown (M misclassified)". */
export function certifyLine(counts: Readonly<Record<string, number>>, eps: number, scale = 255): string {
  const c = (k: string) => counts[k] ?? 0;
  const n = c("verified") + c("falsified") + c("unknown") + c("misclassified") + c("error");
  const pct = (k: number) => (n > 0 ? `${((100 * k) / n).toFixed(2)}%` : "n/a");
  return (
    `verified robust accuracy at eps ${eps} ${unitShort(scale)}: ${pct(c("verified"))} (${c("verified")} of ${n} points verified); ` +
    `falsified ${pct(c("falsified"))} (${c("falsified")}), unknown ${pct(c("unknown") + c("error"))} (${c("unknown") + c("error")}), misclassified ${pct(c("misclassified"))} (${c("misclassified")})`
  );
}
