// `robustc report DIR [--eps E[,E...]] [--images IMG]`: consumes a finished (or merged, or interrupted) measure
// run's run.json and points.jsonl; prints its table again at each eps without solving anything, and with
// --images writes Figure 2's PNGs. Writes nothing into DIR: the run's report.json stays the run's own.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError, diag, unwrap } from "../../compiler/index.js";
import { formatMeasureReport, measureReport } from "../report/json.js";
import { writeImages } from "../report/images.js";
import { reportedExamples } from "../report/write.js";
import { epsWarning } from "../data/input-map.js";
import { identityDataOptions, parseIdentity, type RunIdentity } from "../run/out-dir.js";
import { readPoints } from "../run/points-file.js";
import { openSession } from "../run/session.js";

export interface ReportRequest {
  /** The eps (data units) to report at; absent: the run's own. */
  readonly eps?: readonly number[];
  /** A directory for one PNG per reported example (as measure --images). */
  readonly images?: string;
}

export async function reportCommand(dir: string, r: ReportRequest, out: (line: string) => void): Promise<void> {
  const runPath = join(dir, "run.json");
  if (!existsSync(runPath))
    throw new UserError([
      diag("report/not-a-run", `${dir}: no run.json (not the --out directory of robustc measure, certify or merge)`),
    ]);
  const { identity, shard } = unwrap(parseIdentity(readFileSync(runPath, "utf8"), runPath));
  const points = unwrap(readPoints(join(dir, "points.jsonl")));
  if (points.length === 0)
    throw new UserError([diag("report/no-points", `${dir}: no finished point in points.jsonl yet`)]);
  const epsList = r.eps ?? [identity.eps];
  const bad = epsList.find((e) => !(e > 0) || !Number.isFinite(e));
  if (bad !== undefined) throw new UserError([diag("cli/eps", `--eps must be positive numbers, got ${bad}`)]);
  for (const e of r.eps ?? []) {
    const w = epsWarning(e, identity.pixel_scale);
    if (w) process.stderr.write(`robustc: warning: ${w}\n`);
  }
  // FGSM's example is a step of the run's eps: at any other eps nothing was measured.
  const other = epsList.find((e) => e !== identity.eps);
  if (identity.algorithm === "fgsm" && other !== undefined) {
    throw new UserError([
      diag(
        "report/fgsm-eps",
        `${dir}: an FGSM run answers only at its own eps ${identity.eps} (its step); measure again with --algorithm fgsm --eps ${other}`,
      ),
    ]);
  }
  const runReport = readReport(join(dir, "report.json"));
  const expected = shard === null ? identity.points : null;
  if (expected !== null && points.length < expected) {
    process.stderr.write(
      `robustc: note: ${dir} holds ${points.length} of the run's ${expected} points (unfinished: measure ... --resume continues it); reporting those\n`,
    );
  }
  if (shard !== null)
    process.stderr.write(
      `robustc: note: ${dir} is shard ${shard} of its run: its points alone (robustc merge combines the shards)\n`,
    );
  epsList.forEach((eps, k) => {
    const id: RunIdentity = { ...identity, eps };
    const report = measureReport({
      identity: id,
      points,
      jobs: typeof runReport?.settings?.jobs === "number" ? runReport.settings.jobs : 1,
      totalSeconds:
        typeof runReport?.total_seconds === "number"
          ? runReport.total_seconds
          : points.reduce((a, p) => a + p.seconds, 0),
      settings: {},
    });
    if (k > 0) out("");
    out(`eps ${eps}${eps === identity.eps ? " (the run's own)" : ` (the run's was ${identity.eps})`}`);
    out(formatMeasureReport(report));
  });
  if (r.images !== undefined) {
    const s = unwrap(openSession(identity.model, identityDataOptions(identity)));
    const n = unwrap(writeImages(r.images, s, reportedExamples(points, identity.mode !== undefined)));
    out(
      `images in ${r.images}: ${n} PNG (x*, the example, the perturbation stretched to ±m in the data's units, m in each name) and images.csv`,
    );
  }
}

/** The run's own report.json (for its jobs and wall time), or null where it has none yet. */
function readReport(path: string): { settings?: { jobs?: unknown }; total_seconds?: unknown } | null {
  try {
    return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : null;
  } catch {
    return null;
  }
}
