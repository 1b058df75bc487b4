// The onnxruntime-node evaluator: float32 forward passes of the ONNX file itself, batched when the
// model's batch dimension is symbolic. It is the ground truth every reported adversarial example is
// checked against. CUDA is used when its provider loads, CPU otherwise, without a word. It fetches the tensor
// the IR's output stands for (the logits before a removed final Softmax), so both evaluators see the same values.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { logitsModelBytes, sizeOf, type Network } from "../../compiler/index.js";
import type { Evaluator } from "./types.js";

export interface OrtOptions {
  /** Largest batch sent in one run (only for models with a symbolic batch dimension). */
  readonly batchSize?: number;
  /** "auto": CUDA if it loads, else CPU. */
  readonly provider?: "auto" | "cpu";
  /**
   * onnxruntime's intra-op threads (default: its own choice, all cores). Per-point work sets 1: the default
   * pool spin-waits between runs and steals the cores the solver threads need.
   */
  readonly threads?: number;
}

/**
 * CUDA is tried only when its provider libraries are installed beside the binding (the install skips their
 * download): trying without them makes onnxruntime print a native error that nothing can silence.
 */
export function cudaInstalled(): boolean {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
    const dir = join(pkg, "bin", "napi-v6", process.platform, process.arch);
    return (
      existsSync(join(dir, "libonnxruntime_providers_cuda.so")) &&
      existsSync(join(dir, "libonnxruntime_providers_shared.so"))
    );
  } catch {
    return false;
  }
}

/**
 * A session on CUDA where its libraries are installed and it loads (provider "auto"), else on the CPU; says which.
 * `optimise`: onnxruntime's graph optimisations (the engine's generated graphs; off for the model as written).
 */
export async function createSession(
  model: string | Uint8Array,
  provider: "auto" | "cpu",
  threads?: number,
  optimise: boolean | "basic" = false,
): Promise<{ session: ort.InferenceSession; provider: "cuda" | "cpu" }> {
  // Graph optimisations are off for the model as written: onnxruntime's basic-level PadFusion folds Pad(0) into a
  // following MaxPool's pads, which MaxPool fills with -inf, changing the result wherever a window's real values
  // are all negative (found by test/properties/evaluators-agree; onnxruntime PR #18136 added the fusion). The check
  // that every adversarial example goes through must evaluate the model as written.
  const base: ort.InferenceSession.SessionOptions = {
    logSeverityLevel: 3,
    ...(optimise === true
      ? {}
      : { graphOptimizationLevel: optimise === "basic" ? ("basic" as const) : ("disabled" as const) }),
    ...(threads !== undefined ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  };
  if (provider === "auto" && cudaInstalled()) {
    try {
      const s =
        typeof model === "string"
          ? await ort.InferenceSession.create(model, { ...base, executionProviders: ["cuda"] })
          : await ort.InferenceSession.create(model, { ...base, executionProviders: ["cuda"] });
      return { session: s, provider: "cuda" };
    } catch {
      /* no CUDA libraries here: fall back silently */
    }
  }
  const s =
    typeof model === "string"
      ? await ort.InferenceSession.create(model, { ...base, executionProviders: ["cpu"] })
      : await ort.InferenceSession.create(model, { ...base, executionProviders: ["cpu"] });
  return { session: s, provider: "cpu" };
}

export class OnnxRuntimeEvaluator implements Evaluator {
  readonly name = "onnxruntime" as const;
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly net: Network,
    readonly provider: string,
    private readonly batchSize: number,
  ) {}

  static async create(
    model: string | Uint8Array,
    net: Network,
    options: OrtOptions = {},
  ): Promise<OnnxRuntimeEvaluator> {
    // A model whose final Softmax the IR left out: onnxruntime runs it with the logits exposed as an output.
    const source = net.removedSoftmax
      ? logitsModelBytes(typeof model === "string" ? readFileSync(model) : model, net)
      : model;
    const { session, provider } = await createSession(source, options.provider ?? "auto", options.threads);
    return new OnnxRuntimeEvaluator(session, net, provider, net.dynamicBatch ? (options.batchSize ?? 512) : 1);
  }

  async logits(inputs: readonly Float64Array[]): Promise<Float64Array[]> {
    const n = sizeOf(this.net.inputShape);
    const out: Float64Array[] = [];
    for (let start = 0; start < inputs.length; start += this.batchSize) {
      const chunk = inputs.slice(start, start + this.batchSize);
      const data = new Float32Array(chunk.length * n);
      chunk.forEach((x, i) => {
        if (x.length !== n) throw new Error(`internal: input of length ${x.length}, model expects ${n}`);
        data.set(x, i * n);
      });
      const shape = [chunk.length, ...this.net.inputShape.slice(1)];
      const feeds = { [this.net.inputName]: new ort.Tensor("float32", data, shape) };
      const res = await this.session.run(feeds, [this.net.outputName]);
      const y = res[this.net.outputName];
      const m = y.size / chunk.length;
      const vals = y.data as Float32Array;
      for (let i = 0; i < chunk.length; i++) out.push(Float64Array.from(vals.subarray(i * m, (i + 1) * m)));
      y.dispose?.();
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
