// `robustc queue clear redis://HOST:PORT/NAME`: removes a queue's jobs, results and run (run/queue/clear.ts) and
// says how many of each it removed; a name that holds nothing is said to, and nothing is created for it.

import { unwrap } from "../../compiler/index.js";
import { clearQueue } from "../run/queue/clear.js";
import { describeRun } from "../run/queue/queue.js";
import { parseQueueUrl } from "../run/queue/redis-url.js";

const LABEL = "queue clear";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export async function queueClearCommand(url: string, out: (line: string) => void): Promise<void> {
  const t = unwrap(parseQueueUrl(url, LABEL));
  const c = unwrap(await clearQueue(t, LABEL));
  if (c.keysBefore === 0) {
    out(`queue ${t.display}: nothing to clear (no jobs, results or run under '${t.name}' on this Redis)`);
    return;
  }
  const total = Object.values(c.jobs).reduce((a, n) => a + n, 0);
  const states = Object.entries(c.jobs)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ");
  out(
    `queue ${t.display}: removed ${plural(total, "job")}${total > 0 ? ` (${states})` : ""}, ${plural(c.results, "result")} and ${c.run ? `the run (${describeRun(c.run)})` : "no run"}`,
  );
  const active = c.jobs.active ?? 0;
  if (active > 0)
    out(
      `${plural(active, "job")} ${active === 1 ? "was" : "were"} running: their workers' results are refused (the workers go on with other jobs)`,
    );
  if (c.keysAfter > 0)
    out(
      `note: ${plural(c.keysAfter, "key")} under '${t.name}' appeared while clearing (a client still writing): run queue clear again once it has stopped`,
    );
}
