// A tinypool worker: keeps one model context (session, onnxruntime, network matrices) per configuration of the
// data and model (contextKey) and answers one point per task with the task's algorithm and mode.

import type { Session } from "./session.js";
import { contextKey, disposeContext, localContext, runPoint, type RunConfig } from "./point-runner.js";
import { type PointContext } from "../point/context.js";
import { type PointResult } from "../rho/result.js";

let cached: { key: string; session: Session; ctx: PointContext } | null = null;

export default async function run({ cfg, index }: { cfg: RunConfig; index: number }): Promise<PointResult> {
  const key = contextKey(cfg);
  if (!cached || cached.key !== key) {
    if (cached) await disposeContext(cached.ctx);
    const { session, ctx } = await localContext(cfg);
    cached = { key, session, ctx };
  }
  return runPoint(cfg, cached.session, cached.ctx, index);
}
