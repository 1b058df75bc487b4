// The state one lowering run threads through the op table: ONNX value names bound to constants or to
// Network IR layers, the layers built so far, and the diagnostics collected (every problem at once).

import { diag, type Diagnostic } from "../../diagnostics.js";
import type { Layer } from "../../ir/network.js";
import type { ConstTensor } from "./load.js";
import type { Node } from "./graph.js";

export type Value =
  | { readonly kind: "const"; readonly tensor: ConstTensor }
  | { readonly kind: "var"; readonly layer: number; readonly shape: readonly number[] };

/** A layer before the context numbers it. */
export type NewLayer = Layer extends infer L ? (L extends Layer ? Omit<L, "id" | "name"> : never) : never;

/** Lowers one node: binds its outputs, or reports through ctx. */
export type OpLowering = (node: Node, ctx: LowerContext) => void;

export class LowerContext {
  readonly layers: Layer[] = [];
  readonly diagnostics: Diagnostic[] = [];
  private readonly values = new Map<string, Value>();
  private readonly names = new Set<string>();

  constructor(
    readonly opset: number,
    readonly file: string,
  ) {}

  get(name: string): Value | undefined {
    return name === "" ? undefined : this.values.get(name);
  }

  isBound(name: string): boolean {
    return this.values.has(name);
  }

  setConst(name: string, tensor: ConstTensor): void {
    this.values.set(name, { kind: "const", tensor });
  }

  alias(name: string, v: Value): void {
    this.values.set(name, v);
  }

  /** Appends a layer named after `node`, binds `output` to it and returns its id. */
  addLayer(node: Node | string, layer: NewLayer, output?: string): number {
    const id = this.layers.length;
    const base = typeof node === "string" ? node : node.name;
    let name = base;
    for (let k = 1; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    this.layers.push({ ...layer, id, name } as Layer);
    const out = output ?? (typeof node === "string" ? node : node.outputs[0]);
    if (out) this.values.set(out, { kind: "var", layer: id, shape: layer.shape });
    return id;
  }

  shapeOf(id: number): readonly number[] {
    return this.layers[id].shape;
  }

  error(node: Node, message: string): void {
    this.diagnostics.push(diag("onnx/lower", `${this.file}: ${node.label}: ${message}`));
  }

  unsupported(node: Node, why?: string): void {
    const tail = why ? `: ${why}` : "";
    this.diagnostics.push(
      diag(
        "onnx/unsupported-op",
        `${this.file}: unsupported op ${node.op}${node.domain ? ` (domain ${node.domain})` : ""} at node '${node.name}'${tail}`,
      ),
    );
  }
}

/** Numpy-style broadcast of a constant to `shape` (row-major); null when the shapes are incompatible. */
export function broadcastTo(t: ConstTensor, shape: readonly number[]): Float64Array | null {
  const r = shape.length;
  if (t.shape.length > r) {
    // Leading 1s of the constant beyond the target rank are harmless.
    if (t.shape.slice(0, t.shape.length - r).some((d) => d !== 1)) return null;
  }
  const ts = t.shape.slice(Math.max(0, t.shape.length - r));
  const src = [...new Array(r - ts.length).fill(1), ...ts];
  for (let i = 0; i < r; i++) if (src[i] !== 1 && src[i] !== shape[i]) return null;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  const srcStride = new Array<number>(r).fill(0);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    srcStride[i] = src[i] === 1 ? 0 : s;
    s *= src[i];
  }
  const idx = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let o = 0;
    for (let i = 0; i < r; i++) o += idx[i] * srcStride[i];
    out[k] = t.data[o];
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** Broadcast shape of two shapes (numpy rules), or null. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1,
      y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Normalises a possibly negative axis against a rank; null when out of range. */
export function normAxis(axis: number, rank: number): number | null {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : null;
}
