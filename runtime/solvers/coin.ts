// Clp and CBC (COIN-OR, Debian coinor-clp / coinor-cbc) share one command language and solution files:
// `-solution` text (8 significant digits, names) and `-saveSolution` binary (full precision, by index).

import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FileSolution, SolveOptions, SolveStatus } from "./types.js";
import { FEASIBILITY_TOLERANCE, MIP_GAP } from "./types.js";
import { executableVersion, fileSolution, runProcess, tail, type ExternalBackend } from "./external.js";

type CoinName = "clp" | "cbc";

const missing = (name: CoinName, exe: string) =>
  `no \`${exe}\` executable${exe.includes("/") ? "" : " on PATH"}; install the Debian package coinor-${name} (apt-get install -y coinor-${name})`;

/** The binary written by `-saveSolution`: int rows, int cols, double objective, then row activities, row
 *  duals, column values and reduced costs (layout from CbcOrClpParam.cpp's own reader). */
export function parseCoinBinary(buf: Uint8Array): { objective: number; rows: number; cols: Float64Array } | string {
  if (buf.byteLength < 16) return "Coin binary solution too short";
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const nr = view.getInt32(0, true),
    nc = view.getInt32(4, true);
  if (nr < 0 || nc < 0 || buf.byteLength !== 16 + 8 * (2 * nr + 2 * nc))
    return `Coin binary solution: ${buf.byteLength} bytes for ${nr} rows and ${nc} columns`;
  const cols = new Float64Array(nc);
  const at = 16 + 8 * 2 * nr;
  for (let j = 0; j < nc; j++) cols[j] = view.getFloat64(at + 8 * j, true);
  return { objective: view.getFloat64(8, true), rows: nr, cols };
}

/** First line of the text solution, e.g. "Optimal - objective value 0.5" or "Stopped on time - ...". */
export function coinStatus(firstLine: string): SolveStatus | null {
  const word = firstLine.split(" - objective value")[0].trim();
  if (/^Optimal/i.test(word)) return "optimal";
  if (/infeasible/i.test(word)) return "infeasible";
  if (/^Unbounded/i.test(word)) return "unbounded";
  // We set no iteration limit, so a stop "on iterations" is the time limit: Clp says "Stopped on
  // iterations or time", and CBC on an LP says "Stopped on iterations" when -sec runs out.
  if (/^Stopped on (iterations|time)/i.test(word)) return "timeout";
  return null;
}

/** Entry lines `index name value dual` (a leading `**` marks an infeasibility); rows first, then columns. */
function textEntries(text: string): { index: number; name: string; value: number }[] {
  const out: { index: number; name: string; value: number }[] = [];
  for (const line of text.split("\n").slice(1)) {
    const m = /^\s*(?:\*\*\s*)?(\d+)\s+(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ index: Number(m[1]), name: m[2], value: Number(m[3]) });
  }
  return out;
}

/** Whether an MPS file's header (before ROWS) says OBJSENSE MAX; only the first MiB is read. */
async function mpsMaximizes(path: string): Promise<boolean> {
  const fh = await open(path, "r").catch(() => null);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(1 << 20);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead).toString("utf8").split(/^ROWS/m)[0];
    return /^OBJSENS[E]?\s+MAX/im.test(head);
  } finally {
    await fh.close();
  }
}

export async function solveFileWithCoin(
  name: CoinName,
  exe: string,
  path: string,
  format: "lp" | "mps",
  opts: SolveOptions,
  dir: string,
): Promise<FileSolution> {
  const t0 = performance.now();
  const txt = join(dir, `${name}.sol`),
    bin = join(dir, `${name}.bin`);
  const tol = String(FEASIBILITY_TOLERANCE);
  // Commands run in order: read (by extension: .lp or .mps), set parameters, solve, write both files.
  const args = [path, "-primalT", tol, "-dualT", tol];
  if (name === "cbc") args.push("-ratioGap", String(MIP_GAP));
  if (opts.timeLimit !== undefined) args.push("-sec", String(Math.max(0.01, opts.timeLimit)));
  // Clp and CBC ignore an MPS OBJSENSE section ("MAX found after OBJSENSE - Coin ignores") and minimise.
  if (format === "mps" && (await mpsMaximizes(path))) args.push("-maximize");
  args.push("-printingOptions", "all", "-solve", "-solution", txt, "-saveSolution", bin);
  const out = await runProcess(exe, args, dir, missing(name, exe), opts.timeLimit);
  if (!out.ran) return fileSolution(name, t0, out.status, null, null, out.message);
  const text = await readFile(txt, "utf8").catch(() => null);
  // A file Clp/CBC cannot read still exits 0: the missing solution is the sign.
  if (text === null)
    return fileSolution(
      name,
      t0,
      "error",
      null,
      null,
      `${name} wrote no solution (exit ${out.exitCode})${tail(out.output)}`,
    );
  const first = text.split("\n")[0];
  const status = coinStatus(first);
  if (status === null) return fileSolution(name, t0, "error", null, null, `${name}: ${first.trim()}`);
  if (status !== "optimal")
    return fileSolution(name, t0, status, null, null, `${name}: ${first.split(" - ")[0].trim()}`);
  const binary = parseCoinBinary(await readFile(bin).catch(() => new Uint8Array()));
  if (typeof binary === "string") return fileSolution(name, t0, "error", null, null, `${name}: ${binary}`);
  // "printingOptions all" lists every row, then every column: the last `cols` entries are the columns.
  const entries = textEntries(text);
  const nc = binary.cols.length;
  if (entries.length !== binary.rows + nc)
    return fileSolution(
      name,
      t0,
      "error",
      null,
      null,
      `${name}: ${entries.length} solution lines for ${binary.rows} rows and ${nc} columns`,
    );
  const values = new Map<string, number>();
  for (let j = 0; j < nc; j++) {
    const e = entries[binary.rows + j],
      v = binary.cols[j];
    // The text has 8 significant digits; it must agree with the binary, or the index → name map is off.
    if (e.index !== j || !(Math.abs(e.value - v) <= 1e-6 * Math.max(1, Math.abs(v)))) {
      return fileSolution(
        name,
        t0,
        "error",
        null,
        null,
        `${name}: text and binary solutions disagree at column ${j} ('${e.name}')`,
      );
    }
    values.set(e.name, v);
  }
  return fileSolution(name, t0, "optimal", binary.objective, values);
}

export function coinBackend(name: CoinName, executable: string): ExternalBackend {
  return {
    name,
    executable,
    missing: missing(name, executable),
    defaultFormat: "mps",
    integers: name === "cbc",
    version: () => executableVersion(executable, ["-stop"], missing(name, executable), name === "clp" ? "Clp" : "CBC"),
    solveFile: (path, format, opts, dir) => solveFileWithCoin(name, executable, path, format, opts, dir),
  };
}
