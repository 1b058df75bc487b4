// A read-only view of an ONNX graph for lowering: attribute getters, the default-domain opset, node
// display names and a topological order (ONNX requires one, but exporters have been known to break it).

import {
  onnx,
  toNumber,
  tensorFromProto,
  type AttributeProto,
  type ConstTensor,
  type ModelProto,
  type NodeProto,
} from "./load.js";
import type { Result } from "../../diagnostics.js";

const A = onnx.AttributeProto.AttributeType;

export class Node {
  readonly op: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Display name: the node's name, else its first output, else op#index. */
  readonly name: string;
  private readonly attrs: Map<string, AttributeProto>;

  constructor(
    readonly proto: NodeProto,
    readonly index: number,
  ) {
    this.op = proto.opType ?? "";
    this.domain = proto.domain ?? "";
    this.inputs = proto.input ?? [];
    this.outputs = proto.output ?? [];
    this.name = proto.name || this.outputs[0] || `${this.op}#${index}`;
    this.attrs = new Map((proto.attribute ?? []).map((a) => [a.name ?? "", a]));
  }

  /** "name (OpType)": how every diagnostic names a node. */
  get label(): string {
    return `node '${this.name}' (${this.op})`;
  }

  has(name: string): boolean {
    return this.attrs.has(name);
  }

  int(name: string, dflt: number): number {
    const a = this.attrs.get(name);
    return a ? toNumber(a.i) : dflt;
  }

  float(name: string, dflt: number): number {
    const a = this.attrs.get(name);
    return a ? (a.f ?? 0) : dflt;
  }

  ints(name: string): number[] | null {
    const a = this.attrs.get(name);
    if (!a) return null;
    return (a.ints ?? []).map(toNumber);
  }

  string(name: string, dflt: string): string {
    const a = this.attrs.get(name);
    return a && a.s ? new TextDecoder().decode(a.s) : dflt;
  }

  tensor(name: string): Result<ConstTensor> | null {
    const a = this.attrs.get(name);
    if (!a) return null;
    if (a.type === A.TENSOR && a.t) return tensorFromProto(a.t, this.label);
    // Constant's value_float(s) / value_int(s) forms (opset 12+).
    if (a.type === A.FLOAT)
      return { ok: true, value: { dtype: "float", shape: [], data: Float64Array.of(Math.fround(a.f ?? 0)) } };
    if (a.type === A.INT) return { ok: true, value: { dtype: "int", shape: [], data: Float64Array.of(toNumber(a.i)) } };
    if (a.type === A.FLOATS) {
      const v = (a.floats ?? []).map(Math.fround);
      return { ok: true, value: { dtype: "float", shape: [v.length], data: Float64Array.from(v) } };
    }
    if (a.type === A.INTS) {
      const v = (a.ints ?? []).map(toNumber);
      return { ok: true, value: { dtype: "int", shape: [v.length], data: Float64Array.from(v) } };
    }
    return null;
  }

  attributeNames(): string[] {
    return [...this.attrs.keys()];
  }
}

/** The version of the default ONNX domain the model imports (1 when absent, as onnx does). */
export function defaultOpset(model: ModelProto): number {
  for (const o of model.opsetImport ?? []) {
    if (!o.domain || o.domain === "ai.onnx") return toNumber(o.version);
  }
  return 1;
}

/** Nodes in a topological order (stable: the file order wherever it is already valid; cycles kept as found). */
export function topoNodes(model: ModelProto): Node[] {
  const nodes = (model.graph?.node ?? []).map((n, i) => new Node(n, i));
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const state = new Uint8Array(nodes.length); // 0 new, 1 on the stack, 2 emitted
  const order: Node[] = [];
  const visit = (i: number): void => {
    if (state[i] !== 0) return;
    state[i] = 1;
    for (const inp of nodes[i].inputs) {
      const j = producer.get(inp);
      if (j !== undefined && state[j] === 0) visit(j);
    }
    state[i] = 2;
    order.push(nodes[i]);
  };
  for (let i = 0; i < nodes.length; i++) visit(i);
  return order;
}
