// One VNN-COMP instance (paths relative to the instances.csv folder) → its results row; a runner keeps the last
// model it opened (consecutive instances of one model share it). The default export: vnncomp --jobs K's task.

import { join } from "node:path";
import type { Result } from "../../compiler/index.js";
import { openProperty, openVerifyModel, type OpenModel } from "./open.js";
import { verifyProperty } from "./engine.js";

export interface Instance {
  readonly onnx: string;
  readonly vnnlib: string;
  readonly timeout: number;
}
export type Answer = "sat" | "unsat" | "timeout" | "unknown" | "unsupported";
export interface InstanceResult extends Instance {
  readonly result: Answer;
  readonly seconds: number;
  readonly note: string;
}

/** Plain data: it crosses the thread boundary. */
export interface InstanceTask {
  readonly dir: string;
  readonly instance: Instance;
  readonly timeoutScale: number;
}

export interface InstanceRunner {
  /** The instance's time limit (timeout × scale) is the engine's deadline; its seconds include opening the model. */
  run(t: InstanceTask): Promise<InstanceResult>;
  /** Frees the model kept for the next instance. */
  close(): Promise<void>;
}

/** Runs instances one at a time, keeping the last model opened (a model per runner: runners never share one). */
export function instanceRunner(): InstanceRunner {
  let open = null as { path: string; model: Result<OpenModel> } | null;
  const close = async () => {
    const m = open;
    open = null;
    if (m?.model.ok) await m.model.value.close();
  };
  const run = async ({ dir, instance: inst, timeoutScale }: InstanceTask): Promise<InstanceResult> => {
    const t0 = performance.now();
    const modelPath = join(dir, inst.onnx),
      propPath = join(dir, inst.vnnlib);
    if (open?.path !== modelPath) {
      await close();
      open = { path: modelPath, model: await openVerifyModel(modelPath) };
    }
    let result: Answer,
      note = "";
    if (!open.model.ok) {
      result = "unsupported";
      note = open.model.diagnostics.map((d) => d.message).join("; ");
    } else {
      const prop = openProperty(propPath, open.model.value.context.net, modelPath);
      if (!prop.ok) {
        result = "unsupported";
        note = prop.diagnostics.map((d) => d.message).join("; ");
      } else {
        try {
          const res = await verifyProperty(open.model.value.context, prop.value, {
            timeout: inst.timeout * timeoutScale,
          });
          result = res.status;
          note = `${res.stage}${res.reason ? `: ${res.reason}` : ""}`;
        } catch (e) {
          // One instance's internal failure (e.g. the WebAssembly heap) must not end the benchmark run.
          result = "unknown";
          note = `internal error: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
        }
      }
    }
    return { ...inst, result, seconds: (performance.now() - t0) / 1000, note: note.split("\n")[0] };
  };
  return { run, close };
}

/** The tinypool task: this thread's runner (the pool's end ends the thread and its model with it). */
const thread = instanceRunner();
export default (t: InstanceTask): Promise<InstanceResult> => thread.run(t);
