// A throwaway redis-server for tests and benchmarks: Debian's binary on 127.0.0.1 at a free port, nothing
// saved to disk; missing from PATH is an error that says so (never a silent skip).

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export interface RedisServer {
  readonly port: number;
  readonly url: (name: string) => string;
  stop(): Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });

export async function startRedis(): Promise<RedisServer> {
  const v = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (v.error)
    throw new Error(
      `redis-server is not on PATH (${(v.error as NodeJS.ErrnoException).code}): install Debian's redis-server (apt-get install redis-server), as .ci/run does`,
    );
  // The free port is free when asked, not necessarily when redis-server binds it (another process, a test
  // beside this one, may take it in between): a server that cannot bind is started again on another port.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const started = await startOn(port);
    if (started.ok) return started.server;
    if (!/Address already in use/.test(started.log) || attempt === 5) throw started.error;
  }
}

async function startOn(
  port: number,
): Promise<{ ok: true; server: RedisServer } | { ok: false; error: Error; log: string }> {
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const error = await new Promise<Error | null>((resolve) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      resolve(new Error(`redis-server did not start on port ${port} within 30 s: ${log}`));
    }, 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      log += d;
      if (log.includes("Ready to accept connections")) {
        clearTimeout(t);
        resolve(null);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(t);
      resolve(new Error(`redis-server exited (${code}): ${log}`));
    });
  });
  if (error !== null) return { ok: false, error, log };
  child.stdout!.resume();
  return {
    ok: true,
    server: {
      port,
      url: (name) => `redis://127.0.0.1:${port}/${name}`,
      stop: async () => {
        if (child.exitCode !== null) return;
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await gone;
      },
    },
  };
}
