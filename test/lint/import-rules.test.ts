// make lint (dependency-cruiser with .dependency-cruiser.cjs over the Makefile's LINT_DIRS) on small trees
// written to a temporary folder, never on the real source: planted cycles (between files and between folders
// with no file cycle), compiler → runtime imports (type-only ones too), deep runtime → compiler and grammar →
// compiler imports, api/ past compiler/index.ts and the runtime into api/ fail, each named; a clean tree with the
// same layout passes, and test/ and bench/ may import anything.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CONFIG = join(ROOT, ".dependency-cruiser.cjs");
const DEPCRUISE = join(ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");
/** The folders make lint cruises, read from the Makefile so that this test runs what make lint runs. */
const LINT_DIRS = (/^LINT_DIRS := (.+)$/m.exec(readFileSync(join(ROOT, "Makefile"), "utf8")) ??
  assert.fail("no LINT_DIRS in the Makefile"))[1]
  .trim()
  .split(/\s+/);

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** The lint in `cwd` as a child process: its exit code and its output. */
function lint(cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [DEPCRUISE, "--config", CONFIG, "--no-progress", ...LINT_DIRS],
      { cwd, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        done({ code, out: stdout + stderr });
      },
    );
  });
}

/** What every tree has: the compiler's public API over one IR module, diagnostics and a pass. */
const BASE: Record<string, string> = {
  "compiler/ir/network.ts":
    "export interface Network { layers: number }\nexport const empty: Network = { layers: 0 };\n",
  "compiler/diagnostics.ts": "export interface Diagnostic { message: string }\n",
  "compiler/passes/encode.ts":
    'import type { Network } from "../ir/network.js";\nexport const encode = (n: Network): number => n.layers;\n',
  "compiler/index.ts":
    'export { empty, type Network } from "./ir/network.js";\nexport { encode } from "./passes/encode.js";\nexport type { Diagnostic } from "./diagnostics.js";\n',
  "api/index.ts": 'export { encode, type Network } from "../compiler/index.js";\n',
};

describe("make lint: the import rules on planted trees", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-lint-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("passes a clean tree: the runtime through compiler/index.ts, grammar on the IR, test/ and bench/ anywhere", async () => {
    writeTree(dir, {
      ...BASE,
      "runtime/rho/restrict.ts":
        'import { encode, empty, type Network } from "../../compiler/index.js";\nexport const rho = (n: Network = empty): number => encode(n);\n',
      "runtime/rho/modes.ts": 'import { rho } from "./restrict.js";\nexport const modes = { restrict: rho };\n',
      "grammar/constraint/print.ts":
        'import type { Network } from "../../compiler/ir/network.js";\nimport type { Diagnostic } from "../../compiler/diagnostics.js";\nexport const print = (n: Network, d: Diagnostic[]): string => `${n.layers} ${d.length}`;\n',
      "test/rho.test.ts":
        'import { encode } from "../compiler/passes/encode.js";\nimport { modes } from "../runtime/rho/modes.js";\nexport const t = [encode, modes];\n',
      "bench/rho.ts":
        'import { rho } from "../runtime/rho/restrict.js";\nimport { empty } from "../compiler/ir/network.js";\nexport const b = rho(empty);\n',
    });
    const r = await lint(dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /no dependency violations found/);
  });

  it("fails on a cycle, a compiler → runtime import (type-only) and deep runtime/grammar → compiler imports, naming each", async () => {
    writeTree(dir, {
      ...BASE,
      // A cycle through a type-only import: runtime/rho/exact.ts ⇄ runtime/rho/lower.ts.
      "runtime/rho/exact.ts":
        'import { lower } from "./lower.js";\nexport interface Bracket { lo: number }\nexport const exact = (): Bracket => ({ lo: lower() });\n',
      "runtime/rho/lower.ts":
        'import type { Bracket } from "./exact.js";\nexport const lower = (b?: Bracket): number => b?.lo ?? 0;\n',
      // The compiler reaching into the runtime, by a type only.
      "compiler/passes/evaluate.ts":
        'import type { Bracket } from "../../runtime/rho/exact.js";\nexport const evaluate = (b: Bracket): number => b.lo;\n',
      // The runtime past compiler/index.ts.
      "runtime/rho/restrict.ts":
        'import { encode } from "../../compiler/passes/encode.js";\nimport { empty } from "../../compiler/index.js";\nexport const rho = (): number => encode(empty);\n',
      // grammar/ on a compiler pass.
      "grammar/lp/read.ts": 'import { encode } from "../../compiler/passes/encode.js";\nexport const read = encode;\n',
    });
    const r = await lint(dir);
    assert.notEqual(r.code, 0, r.out);
    const errors = r.out
      .split("\n")
      .filter((l) => /^\s*error /.test(l) && !/no-folder-cycle/.test(l))
      .map((l) => l.trim().replace(/\s+→\s*$/, ""));
    assert.deepEqual(
      errors.sort(),
      [
        "error compiler-not-to-runtime: compiler/passes/evaluate.ts → runtime/rho/exact.ts",
        "error grammar-to-compiler-ir-only: grammar/lp/read.ts → compiler/passes/encode.ts",
        "error no-circular: runtime/rho/exact.ts",
        "error runtime-to-compiler-via-index: runtime/rho/restrict.ts → compiler/passes/encode.ts",
      ].sort(),
      r.out,
    );
    // The cycle names both of its modules.
    assert.match(
      r.out,
      /no-circular: runtime\/rho\/exact\.ts →\s+runtime\/rho\/lower\.ts →\s+runtime\/rho\/exact\.ts/,
      r.out,
    );
    // The compiler → runtime import also closes loops between their folders (compiler/passes ⇄ runtime/rho).
    assert.match(r.out, /error no-folder-cycle: compiler\/passes →\s+runtime\/rho →\s+compiler\/passes/, r.out);
    assert.match(r.out, /7 dependency violations \(7 errors/, r.out);
  });

  it("fails on a cycle between folders that no file cycle shows, naming the folders", async () => {
    writeTree(dir, {
      ...BASE,
      // runtime/rho → runtime/attacks (modes.ts → pgd.ts) and runtime/attacks → runtime/rho (pgd.ts → types.ts):
      // no file imports itself back, but the two folders do (the loop issue 22 removed).
      "runtime/rho/types.ts": "export interface Checked { dist: number }\n",
      "grammar/lp/read.ts": "export const read = 1;\n",
      "runtime/attacks/pgd.ts":
        'import type { Checked } from "../rho/types.js";\nexport const attack = (): Checked => ({ dist: 1 });\n',
      "runtime/rho/modes.ts":
        'import { attack } from "../attacks/pgd.js";\nexport const bracket = () => attack().dist;\n',
    });
    const r = await lint(dir);
    assert.notEqual(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /no-circular:/, r.out);
    assert.match(
      r.out,
      /error no-folder-cycle: runtime\/(rho|attacks) →\s+runtime\/(attacks|rho) →\s+runtime\/(rho|attacks)/,
      r.out,
    );
  });

  it("fails on a grammar → runtime import, a source → test import and an unresolvable one", async () => {
    writeTree(dir, {
      ...BASE,
      "runtime/run/session.ts": "export const session = 1;\n",
      "grammar/vnnlib/parse.ts":
        'import { session } from "../../runtime/run/session.js";\nexport const parse = session;\n',
      "compiler/ir/fixture.ts": 'import { data } from "../../test/fixtures/data.js";\nexport const fixture = data;\n',
      "test/fixtures/data.ts": "export const data = 1;\n",
      "runtime/run/moved.ts": 'import { gone } from "./not-there.js";\nexport const moved = gone;\n',
    });
    const r = await lint(dir);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /error grammar-not-to-runtime: grammar\/vnnlib\/parse\.ts → runtime\/run\/session\.ts/);
    assert.match(r.out, /error source-not-to-test-or-bench: compiler\/ir\/fixture\.ts → test\/fixtures\/data\.ts/);
    assert.match(r.out, /error not-to-unresolvable: runtime\/run\/moved\.ts → \.\/not-there\.js/);
    assert.match(r.out, /3 dependency violations \(3 errors/, r.out);
  });

  it("fails on api/ past compiler/index.ts or into grammar/, and on the runtime importing api/", async () => {
    writeTree(dir, {
      ...BASE,
      "grammar/lp/write.ts": "export const write = 1;\n",
      "runtime/run/session.ts": "export const session = 1;\n",
      "api/index.ts":
        'import { encode } from "../compiler/passes/encode.js";\nimport { write } from "../grammar/lp/write.js";\nimport { session } from "../runtime/run/session.js";\nexport const api = [encode, write, session];\n',
      "runtime/commands/rho.ts": 'import { api } from "../../api/index.js";\nexport const rho = api;\n',
    });
    const r = await lint(dir);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /error api-to-compiler-via-index: api\/index\.ts → compiler\/passes\/encode\.ts/);
    assert.match(r.out, /error api-to-compiler-via-index: api\/index\.ts → grammar\/lp\/write\.ts/);
    assert.match(r.out, /error nothing-to-api: runtime\/commands\/rho\.ts → api\/index\.ts/);
    assert.match(r.out, /3 dependency violations \(3 errors/, r.out);
  });
});
