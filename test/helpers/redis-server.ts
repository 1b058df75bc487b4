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
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${log}`)), 10_000);
    child.stdout!.on("data", (d: Buffer) => {
      log += d;
      if (log.includes("Ready to accept connections")) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`redis-server exited (${code}): ${log}`));
    });
  });
  child.stdout!.resume();
  return {
    port,
    url: (name) => `redis://127.0.0.1:${port}/${name}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await gone;
    },
  };
}
