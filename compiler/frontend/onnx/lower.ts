// Lowers a decoded ONNX model to the Network IR through one op table (one file per op family); a final
// Softmax/LogSoftmax is left out (final-softmax.ts). Every unsupported op is reported together, each with its
// node name and op type; nothing is half-built: the result is a Network only when there is no diagnostic
// (loadPartial gives inspect the layers that did lower).

import { diag, fail, ok, type Diagnostic, type Result } from "../../diagnostics.js";
import type { Layer, Network } from "../../ir/network.js";
import { LowerContext, type OpLowering } from "./context.js";
import { findFinalSoftmax, removedSoftmax, softmaxAxisProblem } from "./final-softmax.js";
import { defaultOpset, topoNodes, type Node } from "./graph.js";
import { MAX_ELEMENTS, onnx, readModelFile, decodeModel, tensorFromProto, toNumber, type ModelProto } from "./load.js";
import { convOps } from "./ops/conv.js";
import { elementwiseOps } from "./ops/elementwise.js";
import { indexingOps } from "./ops/indexing.js";
import { linearOps } from "./ops/linear.js";
import { poolOps } from "./ops/pool.js";
import { shapeOps } from "./ops/shape.js";

export const OP_TABLE: Readonly<Record<string, OpLowering>> = {
  ...linearOps,
  ...convOps,
  ...poolOps,
  ...elementwiseOps,
  ...shapeOps,
  ...indexingOps,
};

export const SUPPORTED_OPS: readonly string[] = Object.keys(OP_TABLE).sort();

/** Opsets whose semantics the op table implements (attribute-vs-input forms included). */
export const OPSET_RANGE = { min: 7, max: 21 } as const;

export interface LoadedModel {
  readonly network: Network;
  /** Non-fatal notes (e.g. an opset outside the tested range). */
  readonly warnings: readonly string[];
}

export function loadNetwork(path: string): Result<LoadedModel> {
  const m = readModelFile(path);
  return m.ok ? lowerModel(m.value, path) : m;
}

export function loadNetworkFromBytes(bytes: Uint8Array, file = "<bytes>"): Result<LoadedModel> {
  const m = decodeModel(bytes, file);
  return m.ok ? lowerModel(m.value, file) : m;
}

/** What became of one ONNX node, in lowering order: the layers it built, or why it built none. */
export interface NodeOutcome {
  readonly node: string;
  readonly op: string;
  /** skipped: an input comes from a node already reported; removed: the final Softmax. */
  readonly status: "lowered" | "unsupported" | "error" | "skipped" | "removed";
  /** Ids of the layers it added (none for constants folded away and aliases). */
  readonly layers: readonly number[];
}

/** As far as lowering got: every layer built and every node's outcome, with the diagnostics (for inspect). */
export interface PartialLowering {
  readonly layers: readonly Layer[];
  readonly nodes: readonly NodeOutcome[];
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Lowers as much of a model as the op table allows. A file-level problem (unreadable, not ONNX, bad opset or
 * input) is still a failed Result; node-level problems are in the value, beside the layers built.
 */
export function loadPartial(path: string): Result<PartialLowering> {
  const m = readModelFile(path);
  if (!m.ok) return m;
  const r = lowerGraph(m.value, path);
  if ("fatal" in r) return fail(...r.fatal.map(clean));
  return ok({ layers: r.layers, nodes: r.nodes, diagnostics: r.diagnostics.map(clean) });
}

/**
 * Inputs an op cannot do without (its leading inputs): a node that lacks one is reported, not lowered.
 * Reshape, Slice, Squeeze, Unsqueeze and Pad take their operands as attributes in early opsets, so only
 * their data input is required here; their lowerings report the rest.
 */
const REQUIRED_INPUTS: Readonly<Record<string, number>> = {
  Gemm: 2,
  MatMul: 2,
  Conv: 2,
  Add: 2,
  Sub: 2,
  Mul: 2,
  Div: 2,
  BatchNormalization: 5,
  Gather: 2,
  Constant: 0,
};

/** Names from a corrupt file can hold any bytes: a diagnostic stays one printable line of bounded length. */
function oneLine(message: string): string {
  const s = message.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return s.length > 1000 ? `${s.slice(0, 999)}…` : s;
}

const clean = (d: Diagnostic): Diagnostic => ({ ...d, message: oneLine(d.message) });

export function lowerModel(model: ModelProto, file: string): Result<LoadedModel> {
  const r = lowerGraph(model, file);
  if ("fatal" in r) return fail(...r.fatal.map(clean));
  if (!r.loaded.ok) return fail(...r.loaded.diagnostics.map(clean));
  return ok({ ...r.loaded.value, warnings: r.loaded.value.warnings.map(oneLine) });
}

/** A problem before any node (fatal), or every node's outcome and, when none was reported, the network. */
type Lowering =
  { readonly fatal: readonly Diagnostic[] } | (PartialLowering & { readonly loaded: Result<LoadedModel> });

function lowerGraph(model: ModelProto, file: string): Lowering {
  const g = model.graph!;
  const opset = defaultOpset(model);
  const warnings: string[] = [];
  const fatal = (...d: Diagnostic[]): Lowering => ({ fatal: d });
  if (opset < OPSET_RANGE.min || opset > OPSET_RANGE.max) {
    return fatal(
      diag(
        "onnx/opset",
        `${file}: opset ${opset} is outside the supported range ${OPSET_RANGE.min}..${OPSET_RANGE.max}`,
      ),
    );
  }
  const ctx = new LowerContext(opset, file);

  const initNames = new Set<string>();
  const badInits = new Set<string>(); // reported once; the nodes reading them are not reported again
  let parameters = 0;
  for (const t of g.initializer ?? []) {
    const r = tensorFromProto(t, `${file}: initializer`);
    if (!r.ok) {
      ctx.diagnostics.push(...r.diagnostics);
      badInits.add(t.name ?? "");
      initNames.add(t.name ?? "");
      continue;
    }
    if (r.value.dtype === "float") parameters += r.value.data.length;
    ctx.setConst(t.name ?? "", r.value);
    initNames.add(t.name ?? "");
  }
  const inputs = (g.input ?? []).filter((i) => !initNames.has(i.name ?? ""));
  if (inputs.length !== 1) {
    return fatal(
      diag(
        "onnx/inputs",
        `${file}: the graph has ${inputs.length} non-constant inputs (${inputs.map((i) => i.name).join(", ")}); robustc needs exactly one`,
      ),
    );
  }
  const input = inputs[0];
  const tt = input.type?.tensorType;
  const elem = tt?.elemType ?? 0;
  if (!tt || (elem !== onnx.TensorProto.DataType.FLOAT && elem !== onnx.TensorProto.DataType.DOUBLE)) {
    return fatal(
      diag(
        "onnx/input-type",
        `${file}: input '${input.name}' is not a float tensor (elem_type ${onnx.TensorProto.DataType[elem] ?? elem})`,
      ),
    );
  }
  const dims = tt.shape?.dim ?? [];
  if (!tt.shape || dims.length === 0)
    return fatal(diag("onnx/input-shape", `${file}: input '${input.name}' has no static shape`));
  const inputShape: number[] = [];
  let dynamicBatch = false;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i] as (typeof dims)[number] & { value?: "dimValue" | "dimParam" };
    const v = d.value === "dimValue" ? toNumber(d.dimValue) : -1;
    if (v > 0) {
      inputShape.push(v);
      continue;
    }
    if (v === 0)
      return fatal(diag("onnx/input-shape", `${file}: input '${input.name}' dimension ${i} is 0 (an empty tensor)`));
    if (i === 0) {
      inputShape.push(1);
      dynamicBatch = true;
      continue;
    }
    return fatal(
      diag(
        "onnx/input-shape",
        `${file}: input '${input.name}' dimension ${i} ('${d.dimParam ?? "?"}') is dynamic and cannot be fixed (only the first, batch, dimension may be)`,
      ),
    );
  }
  if (inputShape.some((d) => !Number.isSafeInteger(d)) || inputShape.reduce((a, b) => a * b, 1) > MAX_ELEMENTS) {
    return fatal(
      diag(
        "onnx/input-shape",
        `${file}: input '${input.name}' of shape [${inputShape}] has more than ${MAX_ELEMENTS} elements`,
      ),
    );
  }
  ctx.addLayer(input.name ?? "input", { kind: "input", onnxOp: "Input", shape: inputShape });

  const produced = new Set<string>(badInits);
  for (const n of g.node ?? []) for (const o of n.output ?? []) produced.add(o);
  const nodes = topoNodes(model);
  const softmax = findFinalSoftmax(model, nodes);
  const outcomes: NodeOutcome[] = [];
  for (const node of nodes) {
    const [before, layersBefore] = [ctx.diagnostics.length, ctx.layers.length];
    const status = lowerNode(node, ctx, produced, node === softmax);
    const reported = ctx.diagnostics.length > before;
    outcomes.push({
      node: node.name,
      op: node.op,
      status:
        status ??
        (!reported
          ? "lowered"
          : ctx.diagnostics.slice(before).some((d) => d.code === "onnx/unsupported-op")
            ? "unsupported"
            : "error"),
      layers: Array.from({ length: ctx.layers.length - layersBefore }, (_, i) => layersBefore + i),
    });
  }
  // Every failure below is also in ctx.diagnostics, so inspect's partial table reports it.
  const refuse = (d: Diagnostic): Result<LoadedModel> => {
    ctx.diagnostics.push(d);
    return fail(d);
  };
  const network = (): Result<LoadedModel> => {
    // The network's output: the final Softmax's input when it is left out (checked below), else the graph's.
    const graphOut = g.output?.[0]?.name ?? "";
    const outName = softmax ? softmax.inputs[0] : graphOut;
    const out = ctx.get(outName);
    if (!out) return refuse(diag("onnx/output", `${file}: graph output '${outName}' is not computed by any node`));
    if (out.kind === "const")
      return refuse(diag("onnx/output", `${file}: graph output '${graphOut}' does not depend on the input`));
    if (softmax) {
      const why = softmaxAxisProblem(softmax, out.shape, opset);
      if (why !== null) {
        outcomes[outcomes.findIndex((o) => o.node === softmax.name)] = {
          node: softmax.name,
          op: softmax.op,
          status: "unsupported",
          layers: [],
        };
        return refuse(
          diag(
            "onnx/unsupported-op",
            `${file}: unsupported op ${softmax.op} at node '${softmax.name}': ${why}; robustc leaves out a final ${softmax.op} only when it runs over the class dimension`,
          ),
        );
      }
      warnings.push(
        `final ${softmax.op} node '${softmax.name}' removed: robustness is measured on the logits '${outName}' before it (same argmax)`,
      );
    }
    if ((g.output ?? []).length > 1)
      warnings.push(`the graph has ${(g.output ?? []).length} outputs; robustc uses the first, '${graphOut}'`);
    return ok({
      warnings,
      network: {
        inputName: input.name ?? "input",
        inputShape,
        dynamicBatch,
        outputName: outName,
        layers: ctx.layers,
        output: out.layer,
        opset,
        parameters,
        producer: `${model.producerName ?? ""} ${model.producerVersion ?? ""}`.trim(),
        ...(softmax ? { removedSoftmax: removedSoftmax(softmax, graphOut) } : {}),
      },
    });
  };
  const loaded = ctx.diagnostics.length > 0 ? fail(...dedupe(ctx.diagnostics)) : network();
  return { layers: ctx.layers, nodes: outcomes, diagnostics: dedupe(ctx.diagnostics), loaded };
}

/** Lowers one node through the op table (or leaves out the final Softmax); a status when it is not lowered. */
function lowerNode(
  node: Node,
  ctx: LowerContext,
  produced: ReadonlySet<string>,
  isFinalSoftmax: boolean,
): NodeOutcome["status"] | null {
  if (isFinalSoftmax) return "removed";
  if (node.domain !== "" && node.domain !== "ai.onnx") {
    ctx.unsupported(node);
    return null;
  }
  const lower = OP_TABLE[node.op];
  if (!lower) {
    ctx.unsupported(
      node,
      node.op === "Softmax" || node.op === "LogSoftmax"
        ? `only a final ${node.op} (the graph's output, read by no other node) is handled, by leaving it out`
        : undefined,
    );
    return null;
  }
  if (!node.outputs[0]) {
    ctx.error(node, "has no output");
    return null;
  }
  const required = REQUIRED_INPUTS[node.op] ?? 1;
  const absent = Array.from({ length: required }, (_, i) => i).find((i) => !node.inputs[i]);
  if (absent !== undefined) {
    ctx.error(node, `input ${absent} is missing (${node.op} needs ${required})`);
    return null;
  }
  const missing = node.inputs.filter((n) => n !== "" && !ctx.isBound(n));
  const undefinedInputs = missing.filter((n) => !produced.has(n));
  if (undefinedInputs.length > 0) {
    ctx.error(node, `input '${undefinedInputs[0]}' is not defined in the graph`);
    return null;
  }
  if (missing.length > 0) return "skipped"; // depends on a node already reported
  const before = ctx.diagnostics.length;
  lower(node, ctx);
  if (ctx.diagnostics.length === before && node.outputs[0] && !ctx.isBound(node.outputs[0])) {
    throw new Error(`internal: lowering of ${node.label} bound no output`);
  }
  return null;
}

function dedupe(ds: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => (seen.has(d.message) ? false : (seen.add(d.message), true)));
}
