// The onnxruntime backend of the engine: runs the graphs the compiler emits from the IR (compiler/engine/) with
// onnxruntime-node, float32, on CUDA where its libraries are installed and load, else the CPU (engineSession). One
// session per graph kind, created on first use and kept for the engine's life (an engine belongs to one network:
// sessions are cached per network and graph kind); a batch of any size goes through one `session.run` (each costs
// ~50–60 µs from Node: batch small networks).

import * as ort from "onnxruntime-node";
import {
  engineExampleShape,
  engineGraph,
  GRAPH_IO,
  GRAPH_KINDS,
  inputSize,
  outputSize,
  unwrap,
  type BatchData,
  type EngineCore,
  type EngineGradient,
  type EngineOptions,
  type GraphKind,
  type Network,
} from "../../compiler/index.js";
import { createSession, cudaInstalled } from "../evaluator/onnxruntime.js";

/**
 * The execution provider the engine's sessions are created with (report.json names it): CUDA where onnxruntime-node's
 * CUDA provider libraries are installed beside its binding (they are not downloaded by default), else the CPU. A
 * session CUDA cannot create runs on the CPU, with one warning on stderr (engineSession).
 */
export const engineProvider = (): "cuda" | "cpu" => (cudaInstalled() ? "cuda" : "cpu");

let warnedFallback = false;

/**
 * A session for one of the engine's graphs (forward, gradient, bounds), CUDA where installed. Never required:
 * without CUDA, the CPU. Graph optimisations: all of them for the float32 graphs (forward, gradient, the bounds
 * graph's steering variant: they steer, and the float32 check of every example is the evaluator's, on the model as
 * written); only the basic level (constant folding, redundant nodes) for a graph that certifies (`certifies`: the
 * float64 bounds graph), whose soundness argument needs every op to be the IEEE double op it names (any summation
 * order, FMA or not: bounds-graph.ts). onnxruntime's extended level broke that: it fuses a MatMul with the Transpose
 * or scale around it into com.microsoft's FusedMatMul, whose double result on a linear conv/batch-norm network was
 * 1e-10 above the exact minimum (test/runtime/engine/bounds-certify.test.ts).
 */
export async function engineSession(
  bytes: Uint8Array,
  threads: number,
  certifies = false,
): Promise<ort.InferenceSession> {
  const { session, provider } = await createSession(bytes, "auto", threads, certifies ? "basic" : true);
  if (provider !== engineProvider() && !warnedFallback) {
    warnedFallback = true;
    process.stderr.write("robustc: warning: onnxruntime's CUDA provider did not load; the engine runs on the CPU\n");
  }
  return session;
}

export class OnnxRuntimeEngine implements EngineCore {
  readonly backend = "onnxruntime" as const;
  readonly dtype = "float32" as const;
  readonly inputSize: number;
  readonly outputSize: number;
  private readonly example: number[];
  private readonly sessions = new Map<GraphKind, Promise<ort.InferenceSession>>();

  private constructor(
    readonly net: Network,
    private readonly graphs: ReadonlyMap<GraphKind, Uint8Array>,
    private readonly options: EngineOptions,
  ) {
    this.inputSize = inputSize(net);
    this.outputSize = outputSize(net);
    this.example = engineExampleShape(net);
  }

  /**
   * The engine of a network: both graphs are generated at once (a layer they cannot express throws a UserError
   * here, not at the first run); each session is created on its first use.
   */
  static create(net: Network, options: EngineOptions = {}): OnnxRuntimeEngine {
    const graphs = new Map(GRAPH_KINDS.map((k) => [k, unwrap(engineGraph(net, k))] as const));
    return new OnnxRuntimeEngine(net, graphs, options);
  }

  /** The session of a graph kind (created once, on first use). */
  session(kind: GraphKind): Promise<ort.InferenceSession> {
    let s = this.sessions.get(kind);
    if (!s) {
      s = engineSession(this.graphs.get(kind)!, this.options.threads ?? 1);
      this.sessions.set(kind, s);
    }
    return s;
  }

  private tensor(data: BatchData, batch: number, dims: readonly number[], width: number, what: string): ort.Tensor {
    if (!Number.isInteger(batch) || batch < 1 || data.length !== batch * width)
      throw new Error(`internal: ${what} of ${data.length} values for a batch of ${batch} × ${width}`);
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    return new ort.Tensor("float32", f, [batch, ...dims]);
  }

  async forward(x: BatchData, batch: number): Promise<Float64Array> {
    const s = await this.session("forward");
    const res = await s.run({ [GRAPH_IO.x]: this.tensor(x, batch, this.example, this.inputSize, "input") });
    return take(res, GRAPH_IO.logits);
  }

  async vjp(x: BatchData, weights: BatchData, batch: number): Promise<EngineGradient> {
    const s = await this.session("gradient");
    const res = await s.run({
      [GRAPH_IO.x]: this.tensor(x, batch, this.example, this.inputSize, "input"),
      [GRAPH_IO.weights]: this.tensor(weights, batch, [this.outputSize], this.outputSize, "weights"),
    });
    return { logits: take(res, GRAPH_IO.logits), gradient: take(res, GRAPH_IO.gradient) };
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s).release();
  }
}

function take(res: ort.InferenceSession.OnnxValueMapType, name: string): Float64Array {
  const t = res[name];
  const y = Float64Array.from(t.data as Float32Array);
  t.dispose?.();
  return y;
}
