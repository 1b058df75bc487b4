// `robustc vnncomp DIR/instances.csv --out results.csv`: runs a VNN-COMP benchmark folder (rows
// `onnx,vnnlib,timeout_seconds`, paths relative to the csv) through the verify engine, appends one row per
// instance as it finishes (`onnx,vnnlib,result,seconds,note`), and compares with ground_truth.csv beside it.

import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { diag, fail, ok, unwrap, type Result } from "../../compiler/index.js";
import { openProperty, openVerifyModel, type OpenModel } from "./verify.js";
import { verifyProperty } from "../verify/engine.js";

export interface Instance { readonly onnx: string; readonly vnnlib: string; readonly timeout: number }
export type Answer = "sat" | "unsat" | "timeout" | "unknown" | "unsupported";
export interface InstanceResult extends Instance { readonly result: Answer; readonly seconds: number; readonly note: string }

export interface VnncompRequest { readonly timeoutScale: number; readonly filter?: string; readonly out: string; readonly resume?: boolean }

/** Plain CSV as VNN-COMP writes it: no quoting, no header; blank lines and `#` lines skipped. */
export function readInstances(csv: string): Result<Instance[]> {
  let text: string;
  try { text = readFileSync(csv, "utf8"); } catch (e) { return fail(diag("io/read", `${csv}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`)); }
  const out: Instance[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(",").map((s) => s.trim());
    const t = Number(f[2]);
    if (f.length < 3 || !f[0] || !f[1] || !(t > 0)) return fail(diag("vnncomp/csv", `${csv}:${i + 1}:1: expected onnx,vnnlib,timeout_seconds, got '${line.slice(0, 200)}'`));
    out.push({ onnx: f[0], vnnlib: f[1], timeout: t });
  }
  return ok(out);
}

/** ground_truth.csv (`onnx,vnnlib,answer,tools_agreeing`) beside the instances, when present. */
export function readGroundTruth(csv: string): Map<string, string> | null {
  const p = join(dirname(csv), "ground_truth.csv");
  if (!existsSync(p)) return null;
  const m = new Map<string, string>();
  for (const line of readFileSync(p, "utf8").split(/\r?\n/)) {
    const f = line.split(",");
    if (f.length >= 3 && f[2] !== "answer") m.set(key(f[0], f[1]), f[2].trim());
  }
  return m;
}

/** `./specs/a.vnnlib` and `specs/a.vnnlib` name the same instance (instances.csv files differ in this). */
const key = (onnx: string, vnnlib: string) => `${posix.normalize(onnx)},${posix.normalize(vnnlib)}`;

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""').replace(/\n/g, " ")}"` : s);

export function validateVnncomp(r: VnncompRequest): Result<RegExp | null> {
  if (!(r.timeoutScale > 0)) return fail(diag("cli/timeout-scale", `--timeout-scale must be positive, got ${r.timeoutScale}`));
  if (r.filter === undefined) return ok(null);
  try { return ok(new RegExp(r.filter)); } catch { return fail(diag("cli/filter", `--filter '${r.filter}' is not a regular expression`)); }
}

/** Runs the instances in order, one model open at a time; each row is appended (and flushed) when done. */
export async function runVnncomp(csv: string, instances: readonly Instance[], r: VnncompRequest, tick: (x: InstanceResult) => void,
  done: readonly InstanceResult[] = []): Promise<InstanceResult[]> {
  const dir = dirname(csv);
  if (done.length === 0) writeFileSync(r.out, "");
  const results: InstanceResult[] = [...done];
  let open = null as { path: string; model: Result<OpenModel> } | null;
  try {
    for (const inst of instances) {
      const t0 = performance.now();
      const modelPath = join(dir, inst.onnx), propPath = join(dir, inst.vnnlib);
      if (open?.path !== modelPath) {
        if (open?.model.ok) await open.model.value.close();
        open = { path: modelPath, model: await openVerifyModel(modelPath) };
      }
      let result: Answer, note = "";
      if (!open.model.ok) {
        result = "unsupported";
        note = open.model.diagnostics.map((d) => d.message).join("; ");
      } else {
        const prop = openProperty(propPath, open.model.value.context.net, modelPath);
        if (!prop.ok) {
          result = "unsupported";
          note = prop.diagnostics.map((d) => d.message).join("; ");
        } else {
          try {
            const res = await verifyProperty(open.model.value.context, prop.value, { timeout: inst.timeout * r.timeoutScale });
            result = res.status;
            note = `${res.stage}${res.reason ? `: ${res.reason}` : ""}`;
          } catch (e) {
            // One instance's internal failure (e.g. the WebAssembly heap) must not end the benchmark run.
            result = "unknown";
            note = `internal error: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
          }
        }
      }
      const x: InstanceResult = { ...inst, result, seconds: (performance.now() - t0) / 1000, note: note.split("\n")[0] };
      appendFileSync(r.out, `${csvField(x.onnx)},${csvField(x.vnnlib)},${x.result},${x.seconds.toFixed(3)},${csvField(x.note)}\n`);
      results.push(x);
      tick(x);
    }
  } finally {
    if (open?.model.ok) await open.model.value.close();
  }
  return results;
}

export interface Summary { readonly counts: Record<Answer, number>; readonly seconds: number; readonly contradictions: string[]; readonly agree: number; readonly truthKnown: number }

/** Rows of an earlier results.csv (resume): `onnx,vnnlib,result,seconds,note`, the note possibly quoted. */
export function readResults(path: string): Result<InstanceResult[]> {
  if (!existsSync(path)) return ok([]);
  const out: InstanceResult[] = [];
  const lines = readFileSync(path, "utf8").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const f = lines[i].split(",");
    const result = f[2] as Answer, seconds = Number(f[3]);
    if (f.length < 4 || !["sat", "unsat", "timeout", "unknown", "unsupported"].includes(result) || !Number.isFinite(seconds)) {
      return fail(diag("vnncomp/resume", `${path}:${i + 1}: not a results row (onnx,vnnlib,result,seconds,note): '${lines[i].slice(0, 200)}'`));
    }
    out.push({ onnx: f[0], vnnlib: f[1], timeout: NaN, result, seconds, note: f.slice(4).join(",") });
  }
  return ok(out);
}

export function summariseVnncomp(results: readonly InstanceResult[], truth: Map<string, string> | null): Summary {
  const counts: Record<Answer, number> = { sat: 0, unsat: 0, timeout: 0, unknown: 0, unsupported: 0 };
  const contradictions: string[] = [];
  let agree = 0, truthKnown = 0;
  for (const x of results) {
    counts[x.result]++;
    const t = truth?.get(key(x.onnx, x.vnnlib));
    if (t === "sat" || t === "unsat") {
      truthKnown++;
      if (x.result === t) agree++;
      else if (x.result === "sat" || x.result === "unsat") contradictions.push(`${x.onnx},${x.vnnlib}: robustc says ${x.result}, ground truth ${t}`);
    }
  }
  return { counts, seconds: results.reduce((a, x) => a + x.seconds, 0), contradictions, agree, truthKnown };
}

export function formatSummary(s: Summary, n: number, truth: boolean): string[] {
  const c = s.counts;
  const lines = [`${n} instances: ${c.sat} sat, ${c.unsat} unsat, ${c.timeout} timeout, ${c.unknown} unknown, ${c.unsupported} unsupported; ${s.seconds.toFixed(1)} s`];
  if (truth) {
    lines.push(`ground truth: ${s.agree} of ${s.truthKnown} answered instances solved alike; ${s.contradictions.length} contradiction(s)`);
    for (const x of s.contradictions) lines.push(`CONTRADICTION ${x}`);
  }
  return lines;
}

export const formatInstance = (x: InstanceResult): string =>
  `${x.result.padEnd(11)} ${x.seconds.toFixed(2).padStart(8)} s  ${x.onnx} ${x.vnnlib}${x.result === "unsupported" || x.result === "unknown" ? `  (${x.note})` : ""}`;

/** `robustc vnncomp INSTANCES.csv`: one line per instance as it finishes, then the summary. */
export async function vnncompCommand(csv: string, r: VnncompRequest, out: (line: string) => void): Promise<void> {
  const re = unwrap(validateVnncomp(r));
  const all = unwrap(readInstances(csv));
  const todo = re ? all.filter((x) => re.test(`${x.onnx},${x.vnnlib}`)) : all;
  const truth = readGroundTruth(csv);
  // --resume: the rows already written count as they are; only the instances missing there run.
  const done = r.resume ? unwrap(readResults(r.out)).filter((x) => todo.some((t) => key(t.onnx, t.vnnlib) === key(x.onnx, x.vnnlib))) : [];
  const finished = new Set(done.map((x) => key(x.onnx, x.vnnlib)));
  if (done.length > 0) out(`resuming: ${done.length} of ${todo.length} instances already in ${r.out}`);
  const results = await runVnncomp(csv, todo.filter((t) => !finished.has(key(t.onnx, t.vnnlib))), r, (x) => out(formatInstance(x)), done);
  for (const line of formatSummary(summariseVnncomp(results, truth), todo.length, truth !== null)) out(line);
}
