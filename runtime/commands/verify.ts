// `robustc verify MODEL.onnx PROP.vnnlib`: opens the model (any output size; the property names Y_j), parses
// the property, checks that their sizes agree, and runs the engine; prints and writes the VNN-COMP answer.

import { diag, fail, ok, unwrap, writeFileAtomic, type Result } from "../../compiler/index.js";
import type { VnnlibProperty } from "../../grammar/vnnlib/parse.js";
import { verifyProperty } from "../verify/engine.js";
import { openProperty, openVerifyModel, type OpenModel } from "../verify/open.js";
import { formatResult, type VerifyResult } from "../verify/result.js";

export interface VerifyRequest {
  readonly timeout: number;
  readonly out?: string;
  readonly verbose?: boolean;
}

export function validateVerify(r: VerifyRequest): Result<null> {
  if (!(r.timeout > 0))
    return fail(diag("cli/timeout", `--timeout must be a positive number of seconds, got ${r.timeout}`));
  return ok(null);
}

export async function runVerify(model: OpenModel, prop: VnnlibProperty, r: VerifyRequest): Promise<VerifyResult> {
  return verifyProperty(model.context, prop, {
    timeout: r.timeout,
    ...(r.verbose ? { log: (l: string) => process.stderr.write(`robustc: ${l}\n`) } : {}),
  });
}

/** Writes the result file (when asked) and returns the text printed on stdout. */
export function reportVerify(res: VerifyResult, r: VerifyRequest): Result<string> {
  const text = formatResult(res);
  if (r.out) {
    const w = writeFileAtomic(r.out, text);
    if (!w.ok) return w;
  }
  return ok(text.trimEnd());
}

/** One stderr line: how the answer was reached. */
export function describeVerify(res: VerifyResult): string {
  const parts = [
    `${res.status} (${res.stage}) in ${res.seconds.toFixed(2)} s`,
    `${res.milps} MILP(s), ${res.binaries} binaries`,
  ];
  if (res.counterexample)
    parts.push(
      `counterexample checked in float32: disjunct ${res.counterexample.disjunct}, margin ${res.counterexample.value.toPrecision(4)}`,
    );
  if (res.reason) parts.push(res.reason);
  return parts.join("; ");
}

/** `robustc verify MODEL PROPERTY`: the answer on stdout (and in --out), what it means on stderr. */
export async function verifyCommand(
  model: string,
  property: string,
  r: VerifyRequest,
  out: (line: string) => void,
): Promise<void> {
  unwrap(validateVerify(r));
  const m = unwrap(await openVerifyModel(model));
  try {
    for (const w of m.warnings) process.stderr.write(`robustc: warning: ${w}\n`);
    const prop = unwrap(openProperty(property, m.context.net, model));
    const res = await runVerify(m, prop, r);
    out(unwrap(reportVerify(res, r)));
    process.stderr.write(`robustc: ${describeVerify(res)}\n`);
  } finally {
    await m.close();
  }
}
