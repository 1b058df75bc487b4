// `robustc inspect MODEL.onnx`: the lowered network's layers, shapes, parameter and ReLU counts.
// Unsupported ops never reach here: the CLI prints the loader's diagnostics (all of them) and exits 2.

import { match } from "ts-pattern";
import { sizeOf, unwrap, type Layer, type Network } from "../../compiler/index.js";
import { openModel } from "../run/session.js";

/** `robustc inspect MODEL`: the summary as a table, or with --json one JSON object; warnings on stderr. */
export function inspectCommand(model: string, r: { readonly json?: boolean }, out: (line: string) => void): void {
  const m = unwrap(openModel(model));
  for (const w of m.warnings) process.stderr.write(`robustc: warning: ${w}\n`);
  const s = inspectNetwork(model, m.network);
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
  readonly layers: readonly { readonly id: number; readonly name: string; readonly kind: Layer["kind"]; readonly onnxOp: string; readonly shape: readonly number[]; readonly detail: string }[];
}

function detail(l: Layer): string {
  return match(l)
    .with({ kind: "input" }, () => "")
    .with({ kind: "affine" }, (a) => match(a.op)
      .with({ kind: "matrix" }, (m) => `matrix ${m.rows}x${m.cols}, ${m.values.length} nonzeros`)
      .with({ kind: "conv" }, (c) => `conv ${c.geometry.kernel.join("x")} stride ${c.geometry.strides.join(",")} pads ${c.geometry.pads.join(",")}${c.group > 1 ? ` group ${c.group}` : ""}`)
      .with({ kind: "avgpool" }, (p) => `avgpool ${p.geometry.kernel.join("x")} stride ${p.geometry.strides.join(",")}${p.countIncludePad ? " count_include_pad" : ""}`)
      .with({ kind: "scale-shift" }, () => "elementwise scale and shift")
      .exhaustive())
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
    model, producer: net.producer, opset: net.opset,
    input: { name: net.inputName, shape: net.inputShape, dynamicBatch: net.dynamicBatch },
    output: { name: net.outputName, shape: net.layers[net.output].shape },
    parameters: net.parameters, reluNeurons: relu, maxpoolOutputs: pool,
    layers: net.layers.map((l) => ({ id: l.id, name: l.name, kind: l.kind, onnxOp: l.onnxOp, shape: l.shape, detail: detail(l) })),
  };
}

export function formatInspect(s: InspectSummary): string {
  const rows = s.layers.map((l) => [String(l.id), l.name, l.kind, l.onnxOp, `[${l.shape.join(",")}]`, l.detail]);
  const head = ["#", "layer", "kind", "onnx op", "shape", "detail"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [
    `model       ${s.model}${s.producer ? ` (producer ${s.producer}, opset ${s.opset})` : ` (opset ${s.opset})`}`,
    `input       ${s.input.name} [${s.input.shape.join(",")}]${s.input.dynamicBatch ? " (batch dimension symbolic, fixed to 1)" : ""}`,
    `output      ${s.output.name} [${s.output.shape.join(",")}]`,
    `parameters  ${s.parameters.toLocaleString("en-US")}`,
    `ReLUs       ${s.reluNeurons.toLocaleString("en-US")}    max-pool outputs  ${s.maxpoolOutputs.toLocaleString("en-US")}`,
    `supported   yes (every op lowered to the Network IR)`,
    "",
    line(head),
    ...rows.map(line),
  ].join("\n");
}
