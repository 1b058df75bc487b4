// What "the same measurement" means between two --out directories: points.jsonl records by index and
// report.json, without timing fields and the fields that say how the run was spread (jobs, shards, queue).

import { readFileSync } from "node:fs";
import { join } from "node:path";

const TIMING = ["seconds", "solver_seconds", "stages"];

export const runPoints = (dir: string): Record<string, unknown>[] =>
  readFileSync(join(dir, "points.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map((p) => {
      for (const k of TIMING) delete p[k];
      return p;
    })
    .sort((a, b) => Number(a.index) - Number(b.index));

export const runReport = (dir: string): Record<string, unknown> => {
  const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as Record<string, unknown>;
  for (const k of [
    "total_seconds",
    "median_seconds",
    "p90_seconds",
    "median_stage_seconds",
    "p90_stage_seconds",
    "settings",
  ])
    delete r[k];
  const s = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")).settings as Record<string, unknown>;
  // Settings that describe the measurement stay compared.
  r.settings = {
    pixel_scale: s.pixel_scale,
    target: s.target,
    add: s.add,
    time_limit: s.time_limit,
    tolerance: s.tolerance,
  };
  return r;
};
