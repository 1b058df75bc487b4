// A tinypool worker: keeps one model context (onnxruntime session, network matrices, HiGHS module) per
// configuration and answers rho_hat for one point per task.

import { modelInput, type Session } from "./session.js";
import { localContext, type RunConfig } from "./point-runner.js";
import { rhoForPoint, type PointResult, type RhoContext } from "./rho.js";

let cached: { key: string; session: Session; ctx: RhoContext } | null = null;

export default async function run({ cfg, index }: { cfg: RunConfig; index: number }): Promise<PointResult> {
  const key = JSON.stringify(cfg);
  if (!cached || cached.key !== key) {
    if (cached) await cached.ctx.ort.dispose();
    const { session, ctx } = await localContext(cfg);
    cached = { key, session, ctx };
  }
  const { session, ctx } = cached;
  return rhoForPoint(ctx, index, modelInput(session, index), session.dataset.labels ? session.dataset.labels[index] : null);
}
