// The Network IR: a topologically ordered list of typed layers over single-example tensors.
// Consumes nothing (it is built by the ONNX front-end); invariant: layer i only reads layers j < i, and
// every shape is the ONNX shape with symbolic (batch) dimensions fixed to 1.

import { match, P } from "ts-pattern";

/** A 2-D convolution (also used for average pooling with implicit constant weights). */
export interface ConvGeometry {
  /** Input [C, H, W] and output [M, OH, OW] (batch excluded). */
  readonly inC: number;
  readonly inH: number;
  readonly inW: number;
  readonly outC: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right], as ONNX orders pads [x1_begin, x2_begin, x1_end, x2_end]. */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

/** The affine maps every linear ONNX op lowers to; `affine-map.ts` applies them and expands them to CSR. */
export type AffineOp =
  /** y = W x + b, W sparse in CSR (rows = output size, cols = input size). */
  | {
      readonly kind: "matrix";
      readonly rows: number;
      readonly cols: number;
      readonly indptr: Int32Array;
      readonly indices: Int32Array;
      readonly values: Float64Array;
      readonly bias: Float64Array;
    }
  /** Conv: weight [M, C/group, kH, kW], bias [M]. */
  | {
      readonly kind: "conv";
      readonly geometry: ConvGeometry;
      readonly group: number;
      readonly weight: Float64Array;
      readonly bias: Float64Array;
    }
  /** AveragePool / GlobalAveragePool: per-channel window mean; countIncludePad as ONNX defines it. */
  | { readonly kind: "avgpool"; readonly geometry: ConvGeometry; readonly countIncludePad: boolean }
  /** Elementwise y = scale ⊙ x + shift (BatchNormalization, Mul/Div/Add/Sub/Neg with constants). */
  | { readonly kind: "scale-shift"; readonly scale: Float64Array; readonly shift: Float64Array };

interface LayerCommon {
  /** Index in Network.layers. */
  readonly id: number;
  /** Name derived from the ONNX node (node name, else its first output), unique within the network. */
  readonly name: string;
  /** ONNX op type the layer came from ("Input" for the input). */
  readonly onnxOp: string;
  readonly shape: readonly number[];
}

export type Layer =
  | (LayerCommon & { readonly kind: "input" })
  | (LayerCommon & { readonly kind: "affine"; readonly input: number; readonly op: AffineOp })
  | (LayerCommon & { readonly kind: "relu"; readonly input: number })
  /** Max over each window of the input; padded positions never win (ONNX pads MaxPool with -inf). */
  | (LayerCommon & { readonly kind: "maxpool"; readonly input: number; readonly geometry: ConvGeometry })
  /** y = a + b, both computed tensors of the same shape (a residual connection). */
  | (LayerCommon & { readonly kind: "add"; readonly inputs: readonly [number, number] })
  /** y_i = x_{source_i}, or 0 where source_i = -1 (Pad); source null = same order, new shape. */
  | (LayerCommon & { readonly kind: "reshape"; readonly input: number; readonly source: Int32Array | null });

export type LayerKind = Layer["kind"];

/** A final Softmax/LogSoftmax the front-end left out (same argmax): `outputName` is then its input. */
export interface RemovedSoftmax {
  readonly op: "Softmax" | "LogSoftmax";
  /** The ONNX node's display name. */
  readonly node: string;
  /** The graph output it computed (the probabilities), which onnxruntime must not be asked for. */
  readonly output: string;
}

export interface Network {
  readonly inputName: string;
  /** The ONNX input shape with symbolic dimensions fixed to 1 (e.g. [1, 1, 28, 28]). */
  readonly inputShape: readonly number[];
  /** True when the ONNX input's first dimension is symbolic: onnxruntime may then run batches. */
  readonly dynamicBatch: boolean;
  readonly outputName: string;
  readonly layers: readonly Layer[];
  /** Id of the layer whose value is the graph output (the logits). */
  readonly output: number;
  readonly opset: number;
  readonly producer: string;
  /** Number of float values in the model's initializers and Constant nodes (its trained parameters). */
  readonly parameters: number;
  /** Set when the model ends in a Softmax/LogSoftmax that the IR leaves out. */
  readonly removedSoftmax?: RemovedSoftmax;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function inputSize(net: Network): number {
  return sizeOf(net.inputShape);
}

export function outputSize(net: Network): number {
  return sizeOf(net.layers[net.output].shape);
}

/** Layers that read layer `l` (for passes that walk forward). */
export function inputsOf(l: Layer): readonly number[] {
  return match(l)
    .with({ kind: "input" }, () => [])
    .with({ kind: "add" }, (a) => a.inputs)
    .with({ kind: P.union("affine", "relu", "maxpool", "reshape") }, (u) => [u.input])
    .exhaustive();
}

/**
 * The network g(x) = f(scale ⊙ x + shift): a scale-shift layer (named `name`) between the input and every layer
 * that read it. The input keeps its name and shape; every later layer's id moves up by one. Used for the
 * normalisation a model's training applied outside the model ((x − mean) / std): measured inside the network,
 * the L∞ ball stays in the units of the raw input.
 */
export function prependScaleShift(net: Network, scale: Float64Array, shift: Float64Array, name: string): Network {
  const n = inputSize(net);
  if (scale.length !== n || shift.length !== n)
    throw new Error(`internal: scale-shift of ${scale.length}/${shift.length} values for an input of ${n}`);
  const input = net.layers[0];
  if (input.kind !== "input") throw new Error("internal: layer 0 is not the input");
  const taken = new Set(net.layers.map((l) => l.name));
  let unique = name;
  for (let k = 2; taken.has(unique); k++) unique = `${name}_${k}`;
  const up = (id: number) => id + 1;
  const moved = net.layers.slice(1).map((l): Layer =>
    match(l)
      .with({ kind: "input" }, () => {
        throw new Error("internal: a second input layer");
      })
      .with({ kind: "add" }, (a) => ({ ...a, id: up(a.id), inputs: [up(a.inputs[0]), up(a.inputs[1])] as const }))
      .with({ kind: P.union("affine", "relu", "maxpool", "reshape") }, (u) => ({
        ...u,
        id: up(u.id),
        input: up(u.input),
      }))
      .exhaustive(),
  );
  const norm: Layer = {
    kind: "affine",
    id: 1,
    name: unique,
    onnxOp: "Normalize",
    shape: input.shape,
    input: 0,
    op: { kind: "scale-shift", scale, shift },
  };
  return { ...net, layers: [input, norm, ...moved], output: up(net.output) };
}

/**
 * The network truncated after layer `layer`: layers 0..layer (the layers are in topological order, each reading
 * earlier ones), that layer's values its output. For bounds of an intermediate layer as the rows of an engine
 * (Engine.prefix). No softmax follows it; its output is named after the layer; `parameters` stays the whole model's.
 */
export function prefixNetwork(net: Network, layer: number): Network {
  if (!Number.isInteger(layer) || layer < 1 || layer > net.output)
    throw new Error(`internal: a prefix of the network up to layer ${layer} (output ${net.output})`);
  const layers = net.layers.slice(0, layer + 1);
  const { removedSoftmax: _dropped, ...rest } = net;
  return { ...rest, layers, output: layer, outputName: layers[layer].name };
}
