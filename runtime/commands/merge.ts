// `robustc merge`: shard outputs (measure --shard K/N --out DIR, each with run.json and points.jsonl), or a
// queue's results, into one --out directory with the files a single measure run writes. Shards must be of
// one run (run.json equal but for its shard) and cover its points exactly once. The shards and queue runs of
// augment are merged the same way into augment's files (merge-augment.ts, writeAugment).

import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { diag, fail, ok, unwrap, UserError, type Diagnostic, type Result } from "../../compiler/index.js";
import {
  identityDataOptions,
  identityDifferences,
  parseIdentity,
  prepareOut,
  type RunIdentity,
} from "../run/out-dir.js";
import { readPoints, writePoints } from "../run/points-file.js";
import type { MeasuredRun } from "../report/json.js";
import { reportsLine, writeMeasurement } from "../report/write.js";
import { openSession } from "../run/session.js";
import {
  closeQueue,
  collect,
  guarded,
  missingDiagnostics,
  openQueue,
  readRun,
  type Collected,
  type QueueHandle,
  type QueuedRun,
} from "../run/queue/queue.js";
import { parseQueueUrl } from "../run/queue/redis-url.js";
import { type PointResult } from "../rho/result.js";
import { prepareStaging, writeAugment } from "./augment.js";
import { queueSettings } from "./on-queue.js";
import { isAugmentDir, mergeAugmentShards } from "./merge-augment.js";

interface ShardDir {
  readonly dir: string;
  readonly identity: RunIdentity;
  readonly shard: string | null;
  readonly points: PointResult[];
  readonly report: Record<string, unknown> | null;
}

function readShard(dir: string): Result<ShardDir> {
  const runPath = join(dir, "run.json"),
    jsonl = join(dir, "points.jsonl");
  if (!existsSync(runPath))
    return fail(diag("merge/not-a-run", `${dir}: no run.json (not the --out directory of robustc measure)`));
  const parsed = parseIdentity(readFileSync(runPath, "utf8"), runPath);
  if (!parsed.ok) return parsed;
  const { identity, shard } = parsed.value;
  const finished = existsSync(join(dir, "report.json"));
  // A shard with no points (more shards than points) finishes without a points.jsonl.
  if (!existsSync(jsonl) && !finished)
    return fail(
      diag(
        "merge/no-points",
        `${dir}: no points.jsonl (the measurement${shard ? ` of shard ${shard}` : ""} has not started)`,
      ),
    );
  // A last line cut by a kill is dropped, as --resume does.
  const read = readPoints(jsonl);
  if (!read.ok) return read;
  const points = read.value;
  let report: Record<string, unknown> | null = null;
  try {
    report = finished ? JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) : null;
  } catch {
    report = null;
  }
  return ok({ dir, identity, shard, points, report });
}

/** The run's index list, from run.json's first index and point count (selectIndices' contiguous range). */
const runIndices = (identity: RunIdentity): number[] =>
  Array.from({ length: Number(identity.points) }, (_, k) => Number(identity.first) + k);

/** Checks that the shards are one run and cover it exactly once; the points sorted by index. */
export function checkShards(shards: readonly ShardDir[]): Result<PointResult[]> {
  const first = shards[0];
  for (const s of shards.slice(1)) {
    const d = identityDifferences(first.identity, s.identity, (o, a, b) => `${o} ${a} vs ${b}`);
    if (d.length > 0) return fail(diag("merge/other-run", `${s.dir}: another run than ${first.dir} (${d.join("; ")})`));
  }
  const bySlot = new Map<string, string>();
  for (const s of shards) {
    const slot = s.shard ?? "the whole run";
    const other = bySlot.get(slot);
    if (other !== undefined)
      return fail(
        diag("merge/overlap", `${other} and ${s.dir} are both ${s.shard ? `shard ${slot}` : slot}: each shard once`),
      );
    bySlot.set(slot, s.dir);
  }
  const expected = runIndices(first.identity);
  const want = new Set(expected);
  const owner = new Map<number, string>();
  const points: PointResult[] = [];
  for (const s of shards) {
    for (const p of s.points) {
      if (!want.has(p.index))
        return fail(
          diag(
            "merge/foreign",
            `${s.dir}: point ${p.index} is not one of the run's points (${expected[0]}..${expected[expected.length - 1]})`,
          ),
        );
      const o = owner.get(p.index);
      if (o !== undefined)
        return fail(diag("merge/overlap", `point ${p.index} is in both ${o} and ${s.dir}: shards must not overlap`));
      owner.set(p.index, s.dir);
      points.push(p);
    }
  }
  const missing = expected.filter((i) => !owner.has(i));
  if (missing.length > 0) return fail(missingShards(shards, expected, missing));
  return ok(points.sort((a, b) => a.index - b.index));
}

function missingShards(
  shards: readonly ShardDir[],
  expected: readonly number[],
  missing: readonly number[],
): Diagnostic {
  const list = missing.length <= 8 ? missing.join(", ") : `${missing.slice(0, 8).join(", ")}, ...`;
  const ns = new Set(shards.map((s) => s.shard?.split("/")[1]));
  const incomplete = shards.filter((s) => s.report === null);
  if (incomplete.length > 0) {
    return diag(
      "merge/missing",
      `${missing.length} of ${expected.length} points are in no shard (${list}); unfinished: ${incomplete.map((s) => `${s.dir}${s.shard ? ` (shard ${s.shard})` : ""}`).join(", ")}: finish with measure ... --resume`,
    );
  }
  if (ns.size === 1 && !ns.has(undefined)) {
    const n = Number([...ns][0]);
    const have = new Set(shards.map((s) => Number(s.shard!.split("/")[0])));
    const absent = Array.from({ length: n }, (_, k) => k + 1)
      .filter((k) => !have.has(k))
      .map((k) => `${k}/${n}`);
    return diag(
      "merge/missing",
      `${missing.length} of ${expected.length} points are in no shard (${list}): shard${absent.length > 1 ? "s" : ""} ${absent.join(", ")} missing`,
    );
  }
  return diag("merge/missing", `${missing.length} of ${expected.length} points are in no shard (${list})`);
}

/**
 * Writes a finished run into --out: run.json, points.jsonl (by index, with the examples, as --resume reads
 * them) and the report files (report/write.ts, the builder measure uses). Returns the text a measure prints.
 * `replace`: a finished --out of this same run (measure --queue --resume) is written again.
 */
export async function writeMerged(out: string, m: MeasuredRun, replace = false): Promise<Result<string>> {
  const id = m.identity;
  const s = openSession(id.model, identityDataOptions(id));
  if (!s.ok) return s;
  const prepared = prepareOut(out, id, replace);
  if (!prepared.ok) return prepared;
  const jsonl = writePoints(join(out, "points.jsonl"), m.points);
  if (!jsonl.ok) return jsonl;
  return writeMeasurement(out, s.value, m);
}

export interface MergeRequest {
  /** The shards' --out directories (or none, with queue). */
  readonly dirs: readonly string[];
  readonly queue?: string;
  readonly out: string;
}

/**
 * `robustc merge`: shard directories or a queue (one of the two) into --out; prints what measure (or, for the
 * shards or queue of augment, what augment) prints.
 */
export async function mergeCommand(r: MergeRequest, out: (line: string) => void): Promise<void> {
  if ((r.queue === undefined) === (r.dirs.length === 0))
    throw new UserError([diag("cli/merge", "merge takes shard directories or --queue URL (one of the two)")]);
  if (r.queue !== undefined) {
    const m = await mergeQueue(r.queue, r.out);
    out(m.text);
    if (!m.augment) out(reportsLine(r.out));
    return;
  }
  const augment = r.dirs.filter(isAugmentDir);
  if (augment.length > 0 && augment.length < r.dirs.length)
    throw new UserError([
      diag(
        "merge/other-run",
        `${augment[0]} is the --out of robustc augment, ${r.dirs.find((d) => !isAugmentDir(d))} not: merge the shards of one command`,
      ),
    ]);
  if (augment.length > 0) {
    out(mergeAugmentShards(r.dirs, r.out));
    return;
  }
  out(await mergeShards(r.dirs, r.out));
  out(reportsLine(r.out));
}

/** `robustc merge DIR... --out OUT`. */
export async function mergeShards(dirs: readonly string[], out: string): Promise<string> {
  const shards = dirs.map((d) => unwrap(readShard(d)));
  const points = unwrap(checkShards(shards));
  const num = (r: Record<string, unknown> | null, k: string) =>
    r && typeof r[k] === "number" ? (r[k] as number) : null;
  const table = unwrap(
    await writeMerged(out, {
      identity: shards[0].identity,
      points,
      jobs: shards.reduce((a, s) => a + (num(s.report, "jobs") ?? 1), 0),
      // The shards ran side by side: the run took as long as its longest shard.
      totalSeconds: Math.max(
        ...shards.map((s) => num(s.report, "total_seconds") ?? s.points.reduce((a, p) => a + p.seconds, 0)),
      ),
      settings: { shards: shards.map((s) => s.shard ?? "all"), merged_from: dirs },
    }),
  );
  return table;
}

/**
 * `robustc merge --queue URL --out OUT`: the finished points of the run stored under the queue name, written as
 * the command that enqueued it writes them (measure's reports, or augment's examples).
 */
export async function mergeQueue(url: string, out: string): Promise<{ text: string; augment: boolean }> {
  const h = unwrap(await openQueue(unwrap(parseQueueUrl(url))));
  try {
    // Redis going away while the results are read: one line (nothing is written to --out yet), not a hang.
    const read = await guarded(
      h,
      (async () => {
        const run = await readRun(h);
        return run === null ? null : { run, c: await collect(h, run, new Map(), true) };
      })(),
      "when Redis is back, run this merge again",
    );
    if (read === null)
      throw new UserError([
        diag(
          "queue/no-run",
          `--queue ${h.target.display}: no run under this name (enqueue one with robustc measure ... --queue or robustc augment ... --queue)`,
        ),
      ]);
    const { run, c } = read;
    const bad = missingDiagnostics(
      h,
      run,
      c,
      `rerun the ${run.augment ? "augment" : "measure"} --queue command to retry failed points, or wait for the workers`,
    );
    if (bad.length > 0) throw new UserError(bad);
    const merged = queueMerged(h, run, c);
    if (run.augment === undefined) return { text: unwrap(await writeMerged(out, merged)), augment: false };
    const session = unwrap(openSession(run.identity.model, identityDataOptions(run.identity)));
    const staging = unwrap(prepareStaging(out));
    const text = await writeAugment(out, staging, session, c.points, {
      ...run.augment,
      identity: run.identity,
      jobs: merged.jobs,
      seconds: merged.totalSeconds,
      settings: merged.settings,
    }).catch((e: unknown) => {
      rmSync(staging, { recursive: true, force: true });
      throw e;
    });
    return { text, augment: true };
  } finally {
    await closeQueue(h);
  }
}

/** The run of a queue as a MeasuredRun: wall time from the first enqueue to the last result. */
export function queueMerged(h: QueueHandle, run: QueuedRun, c: Collected): MeasuredRun {
  return {
    identity: run.identity,
    points: c.points,
    jobs: c.workers,
    totalSeconds: c.lastFinished === null ? 0 : Math.max(0, (c.lastFinished - run.started) / 1000),
    settings: queueSettings(h, run, c),
  };
}
