// `robustc measure ... --queue redis://HOST:PORT/NAME`: the run's points as jobs for robustc worker processes
// (on-queue.ts: enqueue, wait, resume by rerunning), then the reports in --out from the workers' results.

import { unwrap } from "../../compiler/index.js";
import { prepareOut, runIdentity } from "../run/out-dir.js";
import { queuedRun } from "../run/queue/queue.js";
import { reportsLine } from "../report/write.js";
import { queueMerged, writeMerged } from "./merge.js";
import { checkQueueOptions, jobTimeoutOf, produceOnQueue, type QueueOptions } from "./on-queue.js";
import { openRun, type RunRequest } from "./run-request.js";

export interface QueueRequest extends RunRequest, QueueOptions {
  readonly out: string;
  readonly queue: string;
  readonly resume?: boolean;
}

export async function measureOnQueue(model: string, o: QueueRequest, out: (s: string) => void): Promise<void> {
  const target = unwrap(checkQueueOptions(o.queue, o));
  const { indices, cfg, announce } = await openRun(model, o);
  const identity = runIdentity(cfg, indices, cfg.eps);
  const run = queuedRun(cfg, identity, indices, cfg.eps, o.attempts, jobTimeoutOf(o, cfg.lazy.timeLimit));
  await produceOnQueue(
    {
      target,
      run,
      out: o.out,
      detach: o.detach,
      prepare: () => unwrap(prepareOut(o.out, identity, o.resume === true)),
      announce,
      write: async (h, run, c, wall) => {
        const merged = queueMerged(h, run, c);
        out(
          unwrap(
            await writeMerged(
              o.out,
              // This process saw the whole run when it enqueued every point: its own wall time is the run's.
              wall !== null ? { ...merged, totalSeconds: wall } : merged,
              o.resume === true,
            ),
          ),
        );
        out(reportsLine(o.out));
      },
    },
    out,
  );
}
