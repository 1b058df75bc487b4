// Writes a file atomically: a temporary file beside the target, then rename, so a reader (or a crash)
// never sees half a file. Errors are values (one line naming the path).

import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { diag, fail, ok, type Result } from "../diagnostics.js";

export function writeFileAtomic(path: string, data: string | Uint8Array): Result<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
    return ok(undefined);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing to clean */
    }
    return fail(diag("io/write", `${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`));
  }
}
