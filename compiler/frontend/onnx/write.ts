// A small ONNX writer over onnx-proto: builds a ModelProto from nodes, float32/int64 initializers and one
// input/output, and encodes it. Used by the property tests' random networks and by tools that emit models.

import onnxProto from "onnx-proto";
import { onnx } from "./load.js";

type P = typeof onnxProto.onnx;
type TensorProto = InstanceType<P["TensorProto"]>;
type AttributeProto = InstanceType<P["AttributeProto"]>;
type ValueInfoProto = InstanceType<P["ValueInfoProto"]>;
type NodeProto = InstanceType<P["NodeProto"]>;
type ModelProto = InstanceType<P["ModelProto"]>;

export type AttrValue = number | number[] | string | { readonly floats: number[] } | { readonly float: number };

export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number>;
  readonly dtype?: "float32" | "int64" | "float64";
  /** Store the values in raw_data (default) or in the typed field. */
  readonly raw?: boolean;
}

const A = onnx.AttributeProto.AttributeType;
const DT = onnx.TensorProto.DataType;

export function tensorProto(t: TensorSpec): TensorProto {
  const dtype = t.dtype ?? "float32";
  const raw = t.raw ?? true;
  const p = new onnx.TensorProto({ name: t.name, dims: [...t.dims] });
  const n = t.data.length;
  if (dtype === "float32") {
    p.dataType = DT.FLOAT;
    if (raw) p.rawData = new Uint8Array(Float32Array.from(t.data).buffer);
    else p.floatData = Array.from(t.data);
  } else if (dtype === "float64") {
    p.dataType = DT.DOUBLE;
    if (raw) p.rawData = new Uint8Array(Float64Array.from(t.data).buffer);
    else p.doubleData = Array.from(t.data);
  } else {
    p.dataType = DT.INT64;
    if (raw) {
      const b = new BigInt64Array(n);
      for (let i = 0; i < n; i++) b[i] = BigInt(t.data[i]);
      p.rawData = new Uint8Array(b.buffer);
    } else p.int64Data = Array.from(t.data);
  }
  return p;
}

function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === "number") return new onnx.AttributeProto({ name, type: A.INT, i: v });
  if (typeof v === "string") return new onnx.AttributeProto({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return new onnx.AttributeProto({ name, type: A.INTS, ints: v });
  if ("floats" in v) return new onnx.AttributeProto({ name, type: A.FLOATS, floats: v.floats });
  return new onnx.AttributeProto({ name, type: A.FLOAT, f: v.float });
}

function valueInfo(name: string, shape: readonly (number | string)[], dtype: "float32" | "float64"): ValueInfoProto {
  return new onnx.ValueInfoProto({
    name,
    type: new onnx.TypeProto({
      tensorType: new onnx.TypeProto.Tensor({
        elemType: dtype === "float64" ? DT.DOUBLE : DT.FLOAT,
        shape: new onnx.TensorShapeProto({
          dim: shape.map(
            (d) => new onnx.TensorShapeProto.Dimension(typeof d === "number" ? { dimValue: d } : { dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

export class OnnxBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inits: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private counter = 0;

  constructor(
    private readonly opset = 13,
    private readonly graphName = "robustc",
  ) {}

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, shape: readonly (number | string)[], dtype: "float32" | "float64" = "float32"): this {
    this.inputs.push(valueInfo(name, shape, dtype));
    return this;
  }

  output(name: string, shape: readonly (number | string)[], dtype: "float32" | "float64" = "float32"): this {
    this.outputs.push(valueInfo(name, shape, dtype));
    return this;
  }

  initializer(t: TensorSpec): string {
    this.inits.push(tensorProto(t));
    return t.name;
  }

  node(
    op: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    name?: string,
  ): this {
    this.nodes.push(
      new onnx.NodeProto({
        opType: op,
        input: [...inputs],
        output: [...outputs],
        name: name ?? `${op.toLowerCase()}_${this.nodes.length}`,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return this;
  }

  model(): ModelProto {
    return new onnx.ModelProto({
      irVersion: 8,
      producerName: "robustc-writer",
      producerVersion: "0.1",
      opsetImport: [new onnx.OperatorSetIdProto({ domain: "", version: this.opset })],
      graph: new onnx.GraphProto({
        name: this.graphName,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      }),
    });
  }

  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.model()).finish();
  }
}
