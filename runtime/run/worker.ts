// A tinypool worker: keeps one model context (onnxruntime session, network matrices, HiGHS module) per
// configuration and answers rho_hat for one point per task.

import type { Session } from "./session.js";
import { localContext, runPoint, type RunConfig } from "./point-runner.js";
import { type PointContext } from "../point/context.js";
import { type PointResult } from "../rho/result.js";

let cached: { key: string; session: Session; ctx: PointContext } | null = null;

export default async function run({ cfg, index }: { cfg: RunConfig; index: number }): Promise<PointResult> {
  const key = JSON.stringify(cfg);
  if (!cached || cached.key !== key) {
    if (cached) await cached.ctx.evaluator.dispose();
    const { session, ctx } = await localContext(cfg);
    cached = { key, session, ctx };
  }
  return runPoint(cfg, cached.session, cached.ctx, index);
}
