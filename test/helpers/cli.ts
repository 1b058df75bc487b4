// The robustc CLI as the tests run it: `node bin/robustc.js ARGS` (built by `make build`) in a child process,
// its exit code and whole output back. The child's environment is this one without ROBUSTC_DEBUG (stderr as a user sees
// it).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/robustc.js", import.meta.url));

export interface CliOptions {
  /** Set on top of this process's environment; `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Milliseconds before the child is killed (SIGKILL): a child that hangs must not outlive its test. */
  readonly timeout?: number;
  /** Written to the child's stdin, which is then closed (it is closed at once without). */
  readonly input?: string | Uint8Array;
}

export interface Ran {
  /** The exit code; killed by a signal, 128 + its number (as a shell says it). */
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  /** Killed because `timeout` ran out. */
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to its end; never rejects on a non-zero exit (the caller asserts on `code`). */
export function robustc(args: readonly string[], opts: CliOptions = {}): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  delete env.ROBUSTC_DEBUG;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "",
      stderr = "",
      timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    // A child that exits before reading its input closes the pipe: EPIPE here is no failure of the run.
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input);
    const timer =
      opts.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, opts.timeout);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + constants.signals[signal!], signal, timedOut, stdout, stderr });
    });
  });
}

/**
 * Runs the CLI and rejects unless it exits 0; the rejection carries `code`, `stdout` and `stderr`, as execFile's does.
 */
export async function robustcOk(args: readonly string[], opts: CliOptions = {}): Promise<Ran> {
  const r = await robustc(args, opts);
  if (r.code !== 0) throw Object.assign(new Error(`robustc ${args.join(" ")}: exit ${r.code}\n${r.stderr}`), r);
  return r;
}

/** The non-empty lines of an output. */
export const lines = (s: string): string[] => s.split("\n").filter((l) => l !== "");

/** Refused as bad input: exit 2 and exactly one line on stderr, matching `re`. */
export function refusedOneLine(r: Ran, re: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}; stderr: ${r.stderr}`);
  const said = lines(r.stderr);
  assert.equal(said.length, 1, `one line expected: ${r.stderr}`);
  assert.match(said[0], re);
}
