// `robustc inspect MODEL.onnx`: the lowered network's layers, shapes, parameter and ReLU counts. A model with
// unsupported ops gets the table as far as lowering got, those nodes marked, then its diagnostics (exit 2).

import { match } from "ts-pattern";
import {
  loadPartial,
  sizeOf,
  SOFTMAX_NOTE,
  unwrap,
  UserError,
  type Layer,
  type Network,
  type PartialLowering,
  type RemovedSoftmax,
} from "../../compiler/index.js";
import { openModel } from "../run/session.js";

/** `robustc inspect MODEL`: the summary as a table, or with --json one JSON object; warnings on stderr. */
export function inspectCommand(model: string, r: { readonly json?: boolean }, out: (line: string) => void): void {
  const m = openModel(model);
  if (!m.ok) {
    // Unsupported ops: show where they sit among the layers that did lower, then fail as before.
    const partial = m.diagnostics.some((d) => d.code === "onnx/unsupported-op") ? loadPartial(model) : null;
    if (partial?.ok) {
      const p = inspectPartial(model, partial.value);
      out(r.json ? JSON.stringify(p) : formatPartial(p));
    }
    throw new UserError(m.diagnostics);
  }
  for (const w of m.value.warnings) process.stderr.write(`robustc: warning: ${w}\n`);
  const s = inspectNetwork(model, m.value.network);
  out(r.json ? JSON.stringify(s) : formatInspect(s));
}

export interface InspectSummary {
  readonly model: string;
  readonly producer: string;
  readonly opset: number;
  readonly input: { readonly name: string; readonly shape: readonly number[]; readonly dynamicBatch: boolean };
  readonly output: { readonly name: string; readonly shape: readonly number[] };
  readonly parameters: number;
  readonly reluNeurons: number;
  readonly maxpoolOutputs: number;
  readonly layers: readonly LayerRow[];
  /** The final Softmax/LogSoftmax left out of the network (its output is the logits before it). */
  readonly removedSoftmax: RemovedSoftmax | null;
}

interface LayerRow {
  readonly id: number;
  readonly name: string;
  readonly kind: Layer["kind"];
  readonly onnxOp: string;
  readonly shape: readonly number[];
  readonly detail: string;
}

/** A row of the partial table: a layer that lowered, or a node that did not (id null, kind its status). */
interface PartialRow {
  readonly id: number | null;
  readonly name: string;
  readonly kind: Layer["kind"] | "UNSUPPORTED" | "error" | "not lowered" | "removed";
  readonly onnxOp: string;
  readonly shape: readonly number[] | null;
  readonly detail: string;
}

export interface PartialSummary {
  readonly model: string;
  readonly supported: false;
  readonly unsupported: readonly { readonly node: string; readonly op: string }[];
  readonly layers: readonly PartialRow[];
}

function detail(l: Layer): string {
  return match(l)
    .with({ kind: "input" }, () => "")
    .with({ kind: "affine" }, (a) =>
      match(a.op)
        .with({ kind: "matrix" }, (m) => `matrix ${m.rows}x${m.cols}, ${m.values.length} nonzeros`)
        .with(
          { kind: "conv" },
          (c) =>
            `conv ${c.geometry.kernel.join("x")} stride ${c.geometry.strides.join(",")} pads ${c.geometry.pads.join(",")}${c.group > 1 ? ` group ${c.group}` : ""}`,
        )
        .with(
          { kind: "avgpool" },
          (p) =>
            `avgpool ${p.geometry.kernel.join("x")} stride ${p.geometry.strides.join(",")}${p.countIncludePad ? " count_include_pad" : ""}`,
        )
        .with({ kind: "scale-shift" }, () => "elementwise scale and shift")
        .exhaustive(),
    )
    .with({ kind: "relu" }, (r) => `${sizeOf(r.shape)} ReLUs`)
    .with({ kind: "maxpool" }, (m) => `max ${m.geometry.kernel.join("x")} stride ${m.geometry.strides.join(",")}`)
    .with({ kind: "add" }, (a) => `layers ${a.inputs[0]} + ${a.inputs[1]}`)
    .with({ kind: "reshape" }, (r) => (r.source ? "index map" : "same order"))
    .exhaustive();
}

export function inspectNetwork(model: string, net: Network): InspectSummary {
  const relu = net.layers.filter((l) => l.kind === "relu").reduce((a, l) => a + sizeOf(l.shape), 0);
  const pool = net.layers.filter((l) => l.kind === "maxpool").reduce((a, l) => a + sizeOf(l.shape), 0);
  return {
    model,
    producer: net.producer,
    opset: net.opset,
    input: { name: net.inputName, shape: net.inputShape, dynamicBatch: net.dynamicBatch },
    output: { name: net.outputName, shape: net.layers[net.output].shape },
    parameters: net.parameters,
    reluNeurons: relu,
    maxpoolOutputs: pool,
    layers: net.layers.map(layerRow),
    removedSoftmax: net.removedSoftmax ?? null,
  };
}

const layerRow = (l: Layer): LayerRow => ({
  id: l.id,
  name: l.name,
  kind: l.kind,
  onnxOp: l.onnxOp,
  shape: l.shape,
  detail: detail(l),
});

/** Layers and nodes in lowering order; a node that built no layer (a folded constant, an alias) has no row. */
export function inspectPartial(model: string, p: PartialLowering): PartialSummary {
  const status = { unsupported: "UNSUPPORTED", error: "error", skipped: "not lowered", removed: "removed" } as const;
  const why = {
    unsupported: "not in robustc's op table, or not in a form it can lower",
    error: "see the error below",
    skipped: "reads the output of a node not lowered",
    removed: "final softmax, left out (same argmax)",
  } as const;
  const rows: PartialRow[] = [layerRow(p.layers[0])];
  for (const n of p.nodes) {
    if (n.status === "lowered") rows.push(...n.layers.map((id) => layerRow(p.layers[id])));
    else
      rows.push({ id: null, name: n.node, kind: status[n.status], onnxOp: n.op, shape: null, detail: why[n.status] });
  }
  const unsupported = p.nodes.filter((n) => n.status === "unsupported").map((n) => ({ node: n.node, op: n.op }));
  return { model, supported: false, unsupported, layers: rows };
}

function table(rows: readonly (LayerRow | PartialRow)[]): string[] {
  const cells = rows.map((l) => [
    l.id === null ? "!" : String(l.id),
    l.name,
    l.kind,
    l.onnxOp,
    l.shape ? `[${l.shape.join(",")}]` : "?",
    l.detail,
  ]);
  const head = ["#", "layer", "kind", "onnx op", "shape", "detail"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(head), ...cells.map(line)];
}

export function formatPartial(s: PartialSummary): string {
  const ops = [...new Set(s.unsupported.map((u) => u.op))].join(", ");
  const n = s.unsupported.length;
  return [
    `model       ${s.model}`,
    `supported   no: ${n} node${n === 1 ? "" : "s"} with unsupported ops (${ops}), marked UNSUPPORTED below`,
    "",
    ...table(s.layers),
  ].join("\n");
}

export function formatInspect(s: InspectSummary): string {
  return [
    `model       ${s.model}${s.producer ? ` (producer ${s.producer}, opset ${s.opset})` : ` (opset ${s.opset})`}`,
    `input       ${s.input.name} [${s.input.shape.join(",")}]${s.input.dynamicBatch ? " (batch dimension symbolic, fixed to 1)" : ""}`,
    `output      ${s.output.name} [${s.output.shape.join(",")}]`,
    `parameters  ${s.parameters.toLocaleString("en-US")}`,
    `ReLUs       ${s.reluNeurons.toLocaleString("en-US")}    max-pool outputs  ${s.maxpoolOutputs.toLocaleString("en-US")}`,
    `supported   yes (every op lowered to the Network IR)`,
    ...(s.removedSoftmax ? [`note        ${SOFTMAX_NOTE(s.removedSoftmax.op)}`] : []),
    "",
    ...table(s.layers),
  ].join("\n");
}
