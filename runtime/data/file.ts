// Reads a user-named input file into bytes (gunzipping gzip content) and writes output files, as Results.
// Invariant: filesystem and gzip failures become one-line "data/..." diagnostics naming the file; nothing throws.

import { readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { type Result, diag, fail, ok } from "../../compiler/index.js";

function errnoCode(e: unknown): string {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "";
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}

/** Read a whole file; a gzip stream (magic 1f 8b) is decompressed when `gunzip` is true. */
export function readInput(path: string, gunzip = false): Result<Buffer> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT") return fail(diag("data/missing-file", `no such file: ${path}`));
    if (code === "EISDIR") return fail(diag("data/unreadable", `${path} is a directory, expected a data file`));
    return fail(diag("data/unreadable", `cannot read ${path}: ${code || errMessage(e)}`));
  }
  if (gunzip && bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      return fail(diag("data/bad-gzip", `${path}: corrupt gzip data (${errMessage(e)})`));
    }
  }
  return ok(bytes);
}

/** Write bytes to a file, gzip-compressing when the path ends in ".gz". */
export function writeOutput(path: string, bytes: Uint8Array): Result<void> {
  try {
    writeFileSync(path, path.endsWith(".gz") ? gzipSync(bytes) : bytes);
    return ok(undefined);
  } catch (e) {
    return fail(diag("data/unwritable", `cannot write ${path}: ${errnoCode(e) || errMessage(e)}`));
  }
}
