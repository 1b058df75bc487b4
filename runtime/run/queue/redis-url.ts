// `--queue redis://[USER:PASSWORD@]HOST[:PORT]/NAME` (or rediss:// for TLS): parsed into ioredis connection
// options and the queue name. The path names the queue (not a Redis database number, as elsewhere).

import { diag, fail, ok, type Result } from "../../../compiler/index.js";

export interface QueueTarget {
  readonly name: string;
  /** The URL without its password: for messages. */
  readonly display: string;
  readonly connection: {
    readonly host: string;
    readonly port: number;
    readonly username?: string;
    readonly password?: string;
    readonly db?: number;
    readonly tls?: Record<string, never>;
  };
}

const USAGE = "expected redis://HOST:PORT/NAME (NAME: letters, digits, '.', '_', '-'; optional ?db=N)";

/** `label`: how the URL was given, for messages (the --queue option, or the queue command's argument). */
export function parseQueueUrl(s: string, label = "--queue"): Result<QueueTarget> {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return fail(diag("cli/queue", `${label} '${s}': ${USAGE}`));
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") return fail(diag("cli/queue", `${label} '${s}': ${USAGE}`));
  const name = decodeURIComponent(u.pathname.replace(/^\//, ""));
  // BullMQ joins key parts with ':'; a name with ':' or '/' would alias other keys.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name))
    return fail(diag("cli/queue", `${label} '${s}': missing or invalid queue name '${name}'; ${USAGE}`));
  const port = u.port === "" ? 6379 : Number(u.port);
  if (u.hostname === "") return fail(diag("cli/queue", `${label} '${s}': no host; ${USAGE}`));
  const dbText = u.searchParams.get("db");
  if (dbText !== null && !/^\d+$/.test(dbText))
    return fail(diag("cli/queue", `${label} '${s}': db must be a number, got '${dbText}'`));
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return ok({
    name,
    display: `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ""}${u.host}/${name}`,
    connection: {
      host,
      port,
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(dbText !== null ? { db: Number(dbText) } : {}),
      ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    },
  });
}
