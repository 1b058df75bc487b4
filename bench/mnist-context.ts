// The point context the benches open for a model on the bundled mnist:test digits (pixel scale 255, the LP
// algorithm, the default lazy loop), one thread: runtime/run/point-runner.ts localContext with the benches' settings.

import { DEFAULT_LAZY } from "../runtime/lazy/lazy-loop.js";
import { localContext } from "../runtime/run/point-runner.js";

/** localContext for `modelPath` on mnist:test at eps (pixels, default 20), the lazy loop's time limit optional. */
export function mnistTestContext(modelPath: string, o: { readonly eps?: number; readonly timeLimit?: number } = {}) {
  return localContext({
    modelPath,
    data: "mnist:test",
    pixelScale: 255,
    lazy: o.timeLimit !== undefined ? { ...DEFAULT_LAZY, timeLimit: o.timeLimit } : DEFAULT_LAZY,
    algorithm: "lp",
    eps: o.eps ?? 20,
  });
}
