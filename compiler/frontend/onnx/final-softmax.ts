// A final Softmax/LogSoftmax (the op whose output is the graph's output) is left out of the Network IR: both
// are strictly increasing per class, so the argmax, and with it every robustness radius, is that of the logits.

import type { Network, RemovedSoftmax } from "../../ir/network.js";
import type { Node } from "./graph.js";
import { normAxis } from "./context.js";
import { decodeModel, onnx, type ModelProto } from "./load.js";

const FINAL_OPS: ReadonlySet<string> = new Set(["Softmax", "LogSoftmax"]);

/** What inspect prints and the loader warns: one wording for both. */
export const SOFTMAX_NOTE = (op: string): string =>
  `final ${op} removed: robustness is measured on the logits before it (same argmax)`;

/**
 * The node to leave out: a Softmax/LogSoftmax of the default domain that computes the first graph output and
 * whose result nothing else reads (a Softmax feeding other nodes is mid-graph and stays unsupported).
 */
export function findFinalSoftmax(model: ModelProto, nodes: readonly Node[]): Node | null {
  const out = model.graph?.output?.[0]?.name ?? "";
  const last = nodes.find((n) => n.outputs.includes(out));
  if (!last || !FINAL_OPS.has(last.op) || (last.domain !== "" && last.domain !== "ai.onnx")) return null;
  if (!last.inputs[0] || last.outputs.length !== 1) return null;
  if (nodes.some((n) => n !== last && n.inputs.includes(out))) return null;
  return last;
}

/**
 * Null when the softmax normalises over exactly the classes of one item, else why not. Dimension 0 of a
 * tensor of rank >= 2 is the batch. Opset < 13 flattens the input to 2-D at `axis` (default 1) and
 * normalises each row; opset >= 13 normalises along `axis` alone (default -1).
 */
export function softmaxAxisProblem(node: Node, shape: readonly number[], opset: number): string | null {
  const rank = shape.length;
  const raw = node.int("axis", opset >= 13 ? -1 : 1);
  const axis = normAxis(raw, rank);
  if (axis === null) return `axis ${raw} is out of range for its input of shape [${shape.join(",")}]`;
  if (rank === 1) return null;
  if (axis === 0) return `axis 0 normalises over the batch, not over the classes`;
  const others = opset >= 13 ? shape.filter((_, i) => i !== 0 && i !== axis) : shape.slice(1, axis);
  if (others.some((d) => d !== 1)) {
    return `over axis ${raw} of [${shape.join(",")}] it normalises groups of classes, not all classes of an item (the argmax is not kept)`;
  }
  return null;
}

export function removedSoftmax(node: Node, output: string): RemovedSoftmax {
  return { op: node.op as RemovedSoftmax["op"], node: node.name, output };
}

/**
 * The model bytes onnxruntime must run to return the same tensor as the IR's output: unchanged, or, when a
 * final Softmax was removed, with its input (the logits) added as the first graph output (onnxruntime can only
 * fetch graph outputs). The Softmax stays in the graph: nothing else about the model changes.
 */
export function logitsModelBytes(bytes: Uint8Array, net: Network): Uint8Array {
  if (!net.removedSoftmax) return bytes;
  const m = decodeModel(bytes, net.removedSoftmax.output);
  // The same bytes lowered to `net` a moment ago: a decode failure here is a bug, not a user's mistake.
  if (!m.ok) throw new Error(`internal: the model that lowered no longer decodes: ${m.diagnostics[0].message}`);
  const g = m.value.graph!;
  const outputs = g.output ?? [];
  const probs = outputs.find((o) => o.name === net.removedSoftmax!.output);
  if (!probs) throw new Error(`internal: graph output '${net.removedSoftmax.output}' is gone`);
  if (!outputs.some((o) => o.name === net.outputName)) {
    // Softmax keeps its input's type and shape, so the logits' value info is the probabilities' renamed.
    const logits = new onnx.ValueInfoProto({ name: net.outputName, type: probs.type ?? null });
    g.output = [logits, ...outputs];
  }
  return onnx.ModelProto.encode(m.value).finish();
}
