// `robustc merge` of augment outputs: the --out directories of `augment --shard K/N` (each with its run and
// shard in manifest.json) into one --out with the files one unsharded augment writes: the examples of every
// shard in index order (images.npy, labels.npy, index.npy and points.jsonl as one process writes them) and
// manifest.json's counts summed. Shards must be of one run and all N of them there, each once.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { diag, fail, ok, unwrap, type Result } from "../../compiler/index.js";
import { encodeNpy, readNpy, type NpyArray } from "../data/npy.js";
import { identityDifferences, parseIdentity, type RunIdentity } from "../run/out-dir.js";
import { parseShard, shardIndices, shardName, type Shard } from "../run/shard.js";
import { AUGMENT_ALGORITHMS, type AugmentAlgorithm, type AugmentCounts } from "../augment.js";
import { commitAugment, formatAugment, manifestText, prepareStaging, type AugmentMeta } from "./augment.js";

/** An augment output (manifest.json, no run.json): what merge tells from a measurement's --out. */
export const isAugmentDir = (dir: string): boolean =>
  existsSync(join(dir, "manifest.json")) && !existsSync(join(dir, "run.json"));

interface AugmentShard {
  readonly dir: string;
  readonly manifest: Record<string, unknown>;
  readonly identity: RunIdentity;
  readonly shard: Shard;
  readonly images: NpyArray;
  readonly labels: NpyArray;
  readonly index: NpyArray;
  /** points.jsonl's lines as written, with each one's index. */
  readonly lines: { index: number; text: string; kept: boolean; roundedRho: number }[];
}

function readAugmentShard(dir: string): Result<AugmentShard> {
  const path = join(dir, "manifest.json");
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return fail(diag("merge/corrupt", `${path}: not valid JSON`));
  }
  if (m === null || typeof m !== "object" || Array.isArray(m) || typeof m.run !== "object" || m.run === null)
    return fail(
      diag("merge/corrupt", `${path}: no run in manifest.json (not the --out of robustc augment --shard, or older)`),
    );
  if (typeof m.shard !== "string")
    return fail(
      diag("merge/not-a-shard", `${dir}: not a shard (augment without --shard): merge takes the shards of one run`),
    );
  const id = parseIdentity(JSON.stringify(m.run), `${path} (run)`);
  if (!id.ok) return id;
  const shard = parseShard(m.shard);
  if (!shard.ok) return fail(diag("merge/corrupt", `${path}: shard '${m.shard}' is not K/N`));
  const arrays: NpyArray[] = [];
  for (const f of ["images.npy", "labels.npy", "index.npy"]) {
    const a = readNpy(join(dir, f));
    if (!a.ok) return a;
    arrays.push(a.value);
  }
  const [images, labels, index] = arrays;
  const jsonl = join(dir, "points.jsonl");
  if (!existsSync(jsonl)) return fail(diag("merge/corrupt", `${dir}: no points.jsonl`));
  const lines: AugmentShard["lines"] = [];
  for (const [k, text] of readFileSync(jsonl, "utf8").split("\n").entries()) {
    if (text === "") continue;
    try {
      const r = JSON.parse(text) as { index: unknown; kept: unknown; rounded_rho: unknown };
      if (typeof r.index !== "number" || typeof r.kept !== "boolean" || typeof r.rounded_rho !== "number")
        throw new Error("fields");
      lines.push({ index: r.index, text, kept: r.kept, roundedRho: r.rounded_rho });
    } catch {
      return fail(diag("merge/corrupt", `${jsonl}:${k + 1}: not a line of robustc augment`));
    }
  }
  const kept = typeof m.kept === "number" ? m.kept : NaN;
  if (
    images.shape[0] !== kept ||
    labels.shape[0] !== kept ||
    index.shape[0] !== kept ||
    lines.filter((l) => l.kept).length !== kept ||
    lines.length !== m.found
  )
    return fail(
      diag("merge/corrupt", `${dir}: images.npy, labels.npy, index.npy and points.jsonl disagree with manifest.json`),
    );
  return ok({ dir, manifest: m, identity: id.value.identity, shard: shard.value, images, labels, index, lines });
}

/** The shards are one run, one split of it, each shard once and all there; their examples are their own points'. */
function checkAugmentShards(shards: readonly AugmentShard[]): Result<void> {
  const first = shards[0];
  for (const s of shards.slice(1)) {
    const d = identityDifferences(first.identity, s.identity, (o, a, b) => `${o} ${a} vs ${b}`);
    if (d.length > 0) return fail(diag("merge/other-run", `${s.dir}: another run than ${first.dir} (${d.join("; ")})`));
    if (s.shard.n !== first.shard.n)
      return fail(
        diag(
          "merge/other-run",
          `${s.dir} is shard ${shardName(s.shard)}, ${first.dir} shard ${shardName(first.shard)}: shards of one --shard K/N split`,
        ),
      );
  }
  const bySlot = new Map<number, string>();
  for (const s of shards) {
    const other = bySlot.get(s.shard.k);
    if (other !== undefined)
      return fail(diag("merge/overlap", `${other} and ${s.dir} are both shard ${shardName(s.shard)}: each shard once`));
    bySlot.set(s.shard.k, s.dir);
  }
  const n = first.shard.n;
  const absent = Array.from({ length: n }, (_, k) => k + 1).filter((k) => !bySlot.has(k));
  if (absent.length > 0)
    return fail(
      diag(
        "merge/missing",
        `shard${absent.length > 1 ? "s" : ""} ${absent.map((k) => `${k}/${n}`).join(", ")} missing`,
      ),
    );
  const all = Array.from({ length: Number(first.identity.points) }, (_, k) => Number(first.identity.first) + k);
  for (const s of shards) {
    const mine = new Set(shardIndices(all, s.shard));
    const foreign = s.lines.find((l) => !mine.has(l.index));
    if (s.manifest.points_tried !== mine.size || foreign !== undefined)
      return fail(
        diag(
          "merge/foreign",
          `${s.dir}: its points are not those of shard ${shardName(s.shard)} of the run (${mine.size} points${foreign ? `; point ${foreign.index} is not one of them` : `, ${String(s.manifest.points_tried)} tried`})`,
        ),
      );
  }
  return ok(undefined);
}

const countsOf = (m: Record<string, unknown>): AugmentCounts => ({
  tried: Number(m.points_tried),
  misclassified: Number(m.misclassified),
  found: Number(m.found),
  lostToRounding: Number(m.lost_to_rounding),
  kept: Number(m.kept),
  other: (m.other_statuses ?? {}) as Record<string, number>,
});

function sumCounts(cs: readonly AugmentCounts[]): AugmentCounts {
  const other: Record<string, number> = {};
  for (const c of cs) for (const [k, v] of Object.entries(c.other)) other[k] = (other[k] ?? 0) + v;
  const sum = (f: (c: AugmentCounts) => number) => cs.reduce((a, c) => a + f(c), 0);
  return {
    tried: sum((c) => c.tried),
    misclassified: sum((c) => c.misclassified),
    found: sum((c) => c.found),
    lostToRounding: sum((c) => c.lostToRounding),
    kept: sum((c) => c.kept),
    other,
  };
}

/** `robustc merge DIR... --out OUT` of augment shards; returns the lines augment prints. */
export function mergeAugmentShards(dirs: readonly string[], out: string): string {
  const shards = dirs.map((d) => unwrap(readAugmentShard(d)));
  unwrap(checkAugmentShards(shards));
  const tail = shards[0].images.shape.slice(1);
  const odd = shards.find((s) => JSON.stringify(s.images.shape.slice(1)) !== JSON.stringify(tail));
  if (odd) unwrap(fail(diag("merge/other-run", `${odd.dir}: images of another shape than ${shards[0].dir}'s`)));
  const size = tail.reduce((a, b) => a * b, 1);
  // The kept examples of every shard, in index order: the order of one process (its points sorted by index).
  const kept = shards
    .flatMap((s) =>
      Array.from({ length: s.index.shape[0] }, (_, k) => ({
        index: s.index.data[k],
        label: s.labels.data[k],
        pixels: s.images.data.subarray(k * size, (k + 1) * size),
      })),
    )
    .sort((a, b) => a.index - b.index);
  const images = new Uint8Array(kept.length * size);
  kept.forEach((e, k) => images.set(e.pixels, k * size));
  const lines = shards.flatMap((s) => s.lines).sort((a, b) => a.index - b.index);
  const m0 = shards[0].manifest;
  const num = (m: Record<string, unknown>, k: string) => (typeof m[k] === "number" ? (m[k] as number) : 0);
  const meta: AugmentMeta = {
    model: String(m0.model),
    data: String(m0.data),
    algorithm: (AUGMENT_ALGORITHMS as readonly unknown[]).includes(m0.algorithm)
      ? (m0.algorithm as AugmentAlgorithm)
      : unwrap(fail(diag("merge/corrupt", `${dirs[0]}/manifest.json: algorithm '${String(m0.algorithm)}'`))),
    margin: Number(m0.margin),
    identity: shards[0].identity,
    jobs: shards.reduce((a, s) => a + num(s.manifest, "jobs"), 0),
    // The shards ran side by side: the run took as long as its longest shard.
    seconds: Math.max(...shards.map((s) => num(s.manifest, "seconds"))),
    settings: {
      shards: [...shards].sort((a, b) => a.shard.k - b.shard.k).map((s) => shardName(s.shard)),
      merged_from: dirs,
    },
  };
  const counts = sumCounts(shards.map((s) => countsOf(s.manifest)));
  const staging = unwrap(prepareStaging(out));
  commitAugment(
    staging,
    out,
    encodeNpy([kept.length, ...tail], "uint8", images),
    kept,
    lines.map((l) => l.text + "\n").join(""),
    manifestText(meta, counts, lines),
  );
  return formatAugment(meta, out, counts);
}
