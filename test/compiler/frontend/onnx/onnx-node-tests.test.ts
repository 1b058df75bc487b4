// Runs the upstream ONNX operator test vectors (Debian's libonnx-testdata: data/node/test_*/model.onnx with
// test_data_set_*/input_N.pb, output_N.pb) through the front-end and the Float64 reference evaluator, for
// every case the op table covers, at ONNX's own tolerance (|actual − expected| <= 1e-7 + 1e-3·|expected|).
//
// A case applies when its opset is in OPSET_RANGE, every node's op is in SUPPORTED_OPS, the graph has one
// output, the first input and the output are float. Graph inputs after the first (Gemm's B and C, Conv's W,
// Reshape's shape, Pad's pads, Gather's indices, ...; int64 ones included) are bound as constants from the
// data set, moved from graph.input to graph.initializer, so the first input is the only computed tensor. A case the
// lowering then rejects with "onnx/unsupported-op" (the op is in the table but not
// in that form: two computed operands, 3-D windows, MaxPool Indices, ...), or whose output does not depend on
// the input, is "not applicable"; any other diagnostic is a failure.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { OPSET_RANGE, SUPPORTED_OPS, lowerModel } from "../../../../compiler/frontend/onnx/lower.js";
import {
  decodeModel,
  onnx,
  tensorFromProto,
  type ConstTensor,
  type TensorProto,
} from "../../../../compiler/frontend/onnx/load.js";
import { defaultOpset } from "../../../../compiler/frontend/onnx/graph.js";
import { inputSize, type Network } from "../../../../compiler/ir/network.js";
import { referenceLogits } from "../../../../runtime/evaluator/reference.js";

const NODE_DIR = "/usr/share/libonnx-testdata/data/node";
const RTOL = 1e-3,
  ATOL = 1e-7;

/**
 * The number of passing cases with libonnx-testdata 1.12.0 is PASSED_NOW; the floor leaves a little room
 * for other package versions but catches a change that silently makes cases inapplicable.
 */
const PASSED_NOW = 118;
const PASSED_FLOOR = PASSED_NOW - 5;

/**
 * Ops whose only schema from opset 1 through OPSET_RANGE.max is version 1 (their next is version 22). The
 * test generator stamps their models with opset 1, below lowerModel's range; lifting such a model to
 * OPSET_RANGE.min changes nothing about its meaning.
 */
const UNCHANGED_SINCE_1 = new Set(["GlobalAveragePool", "GlobalMaxPool"]);

const T = onnx.TensorProto.DataType;
const isFloatType = (t: number | null | undefined): boolean => t === T.FLOAT || t === T.DOUBLE;
const typeName = (t: number | null | undefined): string => T[t ?? 0] ?? String(t);

type Outcome =
  | { readonly kind: "pass"; readonly family: string }
  | { readonly kind: "fail"; readonly why: string }
  | { readonly kind: "na"; readonly why: string };

const readTensor = (path: string): TensorProto => onnx.TensorProto.decode(readFileSync(path));

function dataSets(dir: string): string[] {
  return readdirSync(dir)
    .filter((d) => d.startsWith("test_data_set_"))
    .sort()
    .map((d) => join(dir, d));
}

/** "Conv", or the distinct op types of a multi-node graph (expanded function bodies) in file order. */
function familyOf(ops: readonly string[]): string {
  return [...new Set(ops)].join("+");
}

/** The not-applicable reason with the op or type left out, for the one-line breakdown. */
function reasonGroup(why: string): string {
  if (/^op \S+ not in the op table$/.test(why)) return "op not in the op table";
  if (/^opset \d+ outside/.test(why)) return `opset outside ${OPSET_RANGE.min}..${OPSET_RANGE.max}`;
  if (/^(first input|output) is /.test(why)) return "non-float first input or output";
  return why;
}

function compare(actual: Float64Array, expected: ConstTensor): string | null {
  if (actual.length !== expected.data.length) return `${actual.length} elements, expected ${expected.data.length}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i],
      e = expected.data[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue; // infinities
    if (!(Math.abs(a - e) <= ATOL + RTOL * Math.abs(e))) return `element ${i}: ${a}, expected ${e}`;
  }
  return null;
}

function runCase(dir: string): Outcome {
  const bytes = readFileSync(join(dir, "model.onnx"));
  const decoded = decodeModel(bytes, dir);
  if (!decoded.ok) return { kind: "na", why: `model does not decode (${decoded.diagnostics[0].code})` };
  const model0 = decoded.value;
  const g0 = model0.graph!;
  const nodes = g0.node ?? [];
  const ops = nodes.map((n) => n.opType ?? "");
  const opset = defaultOpset(model0);
  const lift = opset < OPSET_RANGE.min && ops.every((o) => UNCHANGED_SINCE_1.has(o));
  if (!lift && (opset < OPSET_RANGE.min || opset > OPSET_RANGE.max))
    return { kind: "na", why: `opset ${opset} outside ${OPSET_RANGE.min}..${OPSET_RANGE.max}` };
  const foreign = nodes.find((n) => (n.domain ?? "") !== "" && n.domain !== "ai.onnx");
  if (foreign) return { kind: "na", why: `op domain ${foreign.domain}` };
  const missing = ops.find((o) => !SUPPORTED_OPS.includes(o));
  if (missing) return { kind: "na", why: `op ${missing} not in the op table` };
  if ((g0.output ?? []).length !== 1) return { kind: "na", why: "more than one graph output" };
  const outType = g0.output![0].type?.tensorType?.elemType;
  if (!g0.output![0].type?.tensorType) return { kind: "na", why: "output is not a tensor" };
  if (!isFloatType(outType)) return { kind: "na", why: `output is ${typeName(outType)}` };
  const initNames = new Set((g0.initializer ?? []).map((t) => t.name ?? ""));
  const inputs = (g0.input ?? []).filter((i) => !initNames.has(i.name ?? ""));
  if (inputs.length === 0) return { kind: "na", why: "no graph input" };
  if (!inputs[0].type?.tensorType) return { kind: "na", why: "first input is not a tensor" };
  const inType = inputs[0].type.tensorType.elemType;
  if (!isFloatType(inType)) return { kind: "na", why: `first input is ${typeName(inType)}` };

  const sets = dataSets(dir);
  if (sets.length === 0) return { kind: "na", why: "no test_data_set" };
  for (const set of sets) {
    // Decode afresh: each data set binds its own constants into the graph.
    const model = decodeModel(bytes, dir);
    if (!model.ok) throw new Error("unreachable");
    const g = model.value.graph!;
    if (lift) {
      for (const o of model.value.opsetImport ?? [])
        if (!o.domain || o.domain === "ai.onnx") o.version = OPSET_RANGE.min;
    }
    const x = tensorFromProto(readTensor(join(set, "input_0.pb")), `${set}/input_0.pb`);
    const y = tensorFromProto(readTensor(join(set, "output_0.pb")), `${set}/output_0.pb`);
    if (!x.ok || !y.ok) return { kind: "fail", why: `cannot read the data set ${set}` };
    // lowerModel reads a dim_value of 0 as a symbolic batch dimension: an empty input cannot be expressed.
    if (x.value.data.length === 0) return { kind: "na", why: "an empty input tensor (a dimension of size 0)" };
    const graphInputs = (g.input ?? []).filter((i) => !initNames.has(i.name ?? ""));
    const bound: TensorProto[] = [];
    for (let k = 1; k < graphInputs.length; k++) {
      const p = join(set, `input_${k}.pb`);
      if (!existsSync(p)) continue; // an optional input left out
      const t = readTensor(p);
      t.name = graphInputs[k].name ?? "";
      bound.push(t);
    }
    const boundNames = new Set(bound.map((t) => t.name));
    g.initializer = [...(g.initializer ?? []), ...bound] as typeof g.initializer;
    g.input = (g.input ?? []).filter((i) => !boundNames.has(i.name ?? ""));

    const lowered = lowerModel(model.value, dir);
    if (!lowered.ok) {
      const ds = lowered.diagnostics;
      if (ds.every((d) => d.code === "onnx/unsupported-op")) {
        // "…: unsupported op Mul at node 'y': multiplying two computed tensors (not linear)" → "Mul: multiplying …"
        const m = /unsupported op (\S+)[^:]*(?:: (.*))?$/.exec(ds[0].message);
        return { kind: "na", why: m ? `${m[1]}: ${m[2] ?? "unsupported"}` : ds[0].message };
      }
      if (ds.every((d) => d.code === "onnx/output" && d.message.includes("does not depend on the input"))) {
        return { kind: "na", why: "the output does not depend on the input" };
      }
      return { kind: "fail", why: ds.map((d) => `[${d.code}] ${d.message}`).join("; ") };
    }
    const net: Network = lowered.value.network;
    if (x.value.data.length !== inputSize(net)) {
      if (net.dynamicBatch) return { kind: "na", why: "a batch larger than 1 on a symbolic batch dimension" };
      return {
        kind: "fail",
        why: `input_0 has ${x.value.data.length} elements, the network expects [${net.inputShape}]`,
      };
    }
    const outShape = net.layers[net.output].shape;
    const expShape = y.value.shape;
    if (outShape.length !== expShape.length || outShape.some((d, i) => d !== expShape[i])) {
      return { kind: "fail", why: `output shape [${outShape}], expected [${expShape}]` };
    }
    const bad = compare(referenceLogits(net, x.value.data), y.value);
    if (bad) return { kind: "fail", why: `${set.slice(dir.length + 1)}: ${bad}` };
  }
  return { kind: "pass", family: familyOf(ops) };
}

describe("ONNX upstream node tests (libonnx-testdata) through the reference evaluator", () => {
  it("passes every applicable case at rtol 1e-3, atol 1e-7", () => {
    assert.ok(
      existsSync(NODE_DIR),
      `${NODE_DIR} is missing: install the upstream ONNX test vectors with 'apt-get install libonnx-testdata'`,
    );
    const cases = readdirSync(NODE_DIR)
      .filter((d) => d.startsWith("test_"))
      .sort();
    const families = new Map<string, string[]>();
    const reasons = new Map<string, string[]>();
    const failures: string[] = [];
    for (const name of cases) {
      const o = runCase(join(NODE_DIR, name));
      if (o.kind === "pass") families.set(o.family, [...(families.get(o.family) ?? []), name]);
      else if (o.kind === "na") reasons.set(o.why, [...(reasons.get(o.why) ?? []), name]);
      else failures.push(`${name}: ${o.why}`);
    }
    const passed = [...families.values()].reduce((a, l) => a + l.length, 0);
    const na = [...reasons.values()].reduce((a, l) => a + l.length, 0);
    console.log(
      `      ONNX node tests: ${passed} passed, ${failures.length} failed, ${na} not applicable (of ${cases.length})`,
    );
    for (const [f, names] of [...families].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))) {
      console.log(`        ${f} (${names.length}): ${names.map((n) => n.replace(/^test_/, "")).join(", ")}`);
    }
    const groups = new Map<string, number>();
    for (const [why, names] of reasons)
      groups.set(reasonGroup(why), (groups.get(reasonGroup(why)) ?? 0) + names.length);
    console.log(
      `        not applicable: ${[...groups]
        .sort((a, b) => b[1] - a[1])
        .map(([g, n]) => `${n} ${g}`)
        .join("; ")}`,
    );
    // ONNX_NODE_TESTS_VERBOSE=1 lists every not-applicable case under its exact reason.
    if (process.env.ONNX_NODE_TESTS_VERBOSE) {
      for (const [why, names] of [...reasons].sort((a, b) => b[1].length - a[1].length)) {
        console.log(`        n/a ${names.length}: ${why}: ${names.map((n) => n.replace(/^test_/, "")).join(", ")}`);
      }
    }
    for (const f of failures) console.log(`        FAIL ${f}`);
    assert.equal(failures.length, 0, `failing cases:\n${failures.join("\n")}`);
    assert.ok(
      passed >= PASSED_FLOOR,
      `only ${passed} cases passed (expected at least ${PASSED_FLOOR}): did cases become not applicable?`,
    );
  });
});
