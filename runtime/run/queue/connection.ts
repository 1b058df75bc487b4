// The connection options every Redis client of one queue command shares (its own, BullMQ's Queue and
// Worker): a lost connection is retried for a bounded time, then given up, and the give-up is one diagnostic.
// Invariant: no command waits on a Redis that is gone for longer than reconnectSeconds() (+ one retry delay).

import { diag, type Diagnostic } from "../../../compiler/index.js";
import type { QueueTarget } from "./redis-url.js";

/** Default seconds to keep reconnecting: long enough for a Redis restart, short enough that nothing looks hung. */
export const DEFAULT_RECONNECT_SECONDS = 30;

/**
 * ROBUSTC_REDIS_RECONNECT_SECONDS (a positive number) overrides the default; anything else is a UserError's diagnostic.
 */
export function reconnectSeconds(): number | Diagnostic {
  const text = process.env.ROBUSTC_REDIS_RECONNECT_SECONDS;
  if (text === undefined || text === "") return DEFAULT_RECONNECT_SECONDS;
  const s = Number(text);
  if (!(s > 0) || !Number.isFinite(s))
    return diag(
      "queue/reconnect",
      `ROBUSTC_REDIS_RECONNECT_SECONDS must be a positive number of seconds, got '${text}'`,
    );
  return s;
}

export const errCode = (e: unknown) =>
  (e as NodeJS.ErrnoException)?.code ?? (e instanceof Error ? e.message.split("\n")[0] : String(e));

/** One command's watch over its Redis connections. */
export interface Lifeline {
  /** ioredis options for every client of the command (BullMQ copies them into its own connections). */
  readonly connection: QueueTarget["connection"] & {
    readonly maxRetriesPerRequest: null;
    readonly retryStrategy: (times: number) => number | null;
  };
  readonly seconds: number;
  /** Resolves once a connection has given up (it never rejects): what happened, naming the URL. */
  readonly lost: Promise<Diagnostic>;
  /** The give-up's diagnostic, or null while every connection is up or still retrying. */
  lostWith(): Diagnostic | null;
  /** Records a client's error (ECONNREFUSED, ...) as the cause a give-up names. */
  noteError(e: unknown): void;
  /** Gives up now: every waiter on `lost` wakes with `d`. */
  giveUp(d: Diagnostic): void;
  /**
   * ioredis' commandTimeout for clients that send no blocking command (twice the reconnect time: a Redis that
   * is up but does not answer, stopped or cut off without a reset, would otherwise hold a command forever).
   */
  readonly commandTimeoutMs: number;
  /** Gives up because a command got no answer within commandTimeoutMs. */
  noAnswer(): void;
}

export function lifeline(t: QueueTarget, seconds: number, label = "--queue"): Lifeline {
  let since = 0,
    cause: string | null = null,
    lostWith: Diagnostic | null = null;
  let resolveLost: (d: Diagnostic) => void = () => undefined;
  const lost = new Promise<Diagnostic>((r) => {
    resolveLost = r;
  });
  const giveUp = (d: Diagnostic) => {
    if (lostWith !== null) return;
    lostWith = d;
    resolveLost(d);
  };
  // ioredis calls this after each lost connection or failed reconnect, `times` counting from 1 again after
  // each successful connect (so times 1 starts an outage); null ends the client ("end"): its pending and
  // later commands then fail at once instead of waiting in the offline queue forever.
  const retryStrategy = (times: number): number | null => {
    if (times === 1) since = Date.now();
    if (lostWith !== null || Date.now() - since >= seconds * 1000) {
      giveUp(
        diag(
          "queue/lost",
          `${label} ${t.display}: lost the connection to Redis${cause ? ` (${cause})` : ""} and could not reconnect within ${seconds} s`,
        ),
      );
      return null;
    }
    return Math.min(250 * times, 2000);
  };
  return {
    connection: { ...t.connection, maxRetriesPerRequest: null, retryStrategy },
    seconds,
    lost,
    lostWith: () => lostWith,
    giveUp,
    commandTimeoutMs: 2 * seconds * 1000,
    noAnswer: () => giveUp(diag("queue/lost", `${label} ${t.display}: Redis did not answer within ${2 * seconds} s`)),
    noteError: (e) => {
      cause = errCode(e);
    },
  };
}
