// CPLEX-LP text → LpModel (what our writer emits, and common hand-written files). Columns are numbered in
// order of first appearance (objective, rows, bounds, generals); errors are values naming file:line:col.

import { basename, extname } from "node:path";
import { diag, fail, ok, type Result } from "../../compiler/diagnostics.js";
import type { LpModel } from "../../compiler/backend/lp-model.js";
import { Lexer, type Tok } from "./lexer.js";

/** Thrown only inside this module and turned into a Result at the edge. */
class LpSyntaxError extends Error {}

interface Row {
  name: string | null;
  line: number;
  coefs: Map<number, number>;
  lower: number;
  upper: number;
}

const noNegZero = (v: number) => (v === 0 ? 0 : v);

const INF_WORDS = new Set(["inf", "infinity"]);
const isInfWord = (t: Tok) => t.kind === "name" && INF_WORDS.has(t.text.toLowerCase());

class LpParser {
  private readonly colIndex = new Map<string, number>();
  private readonly colNames: string[] = [];
  private readonly lower: number[] = [];
  private readonly upper: number[] = [];
  private readonly integer: number[] = [];
  private readonly objective = new Map<number, number>();
  private objectiveConstant = 0;
  private readonly rows: Row[] = [];

  constructor(
    private readonly lex: Lexer,
    private readonly file: string,
  ) {}

  private error(t: Tok, msg: string): never {
    throw new LpSyntaxError(`${this.file}:${t.line}:${t.col}: ${msg}`);
  }

  private describe(t: Tok): string {
    return t.kind === "eof" ? "end of file" : t.kind === "section" ? `section keyword` : `'${t.text}'`;
  }

  private column(name: string): number {
    let j = this.colIndex.get(name);
    if (j === undefined) {
      j = this.colNames.length;
      this.colIndex.set(name, j);
      this.colNames.push(name);
      this.lower.push(0);
      this.upper.push(Infinity);
      this.integer.push(0);
    }
    return j;
  }

  /** Sum of signed terms up to a relation, a section keyword or the end; constants are summed apart. */
  private expression(into: Map<number, number>): { constant: number; terms: number; constants: number } {
    let constant = 0,
      terms = 0,
      constants = 0,
      first = true;
    for (;;) {
      let t = this.lex.peek();
      if (t.kind === "rel" || t.kind === "section" || t.kind === "eof") return { constant, terms, constants };
      let sign = 1,
        signed = false;
      while (t.kind === "sign") {
        if (t.text === "-") sign = -sign;
        signed = true;
        this.lex.next();
        t = this.lex.peek();
      }
      if (!first && !signed) this.error(t, `expected '+' or '-' before ${this.describe(t)}`);
      if (t.kind === "num") {
        this.lex.next();
        const after = this.lex.peek();
        if (after.kind === "name") {
          this.lex.next();
          this.addTerm(into, this.column(after.text), sign * t.value);
          terms++;
        } else {
          constant += sign * t.value;
          constants++;
        }
      } else if (t.kind === "name") {
        this.lex.next();
        this.addTerm(into, this.column(t.text), sign);
        terms++;
      } else if (t.kind === "bad" && (t.text === "[" || t.text === "^")) {
        this.error(t, "quadratic terms are not supported");
      } else {
        this.error(t, `expected a coefficient or a variable name, found ${this.describe(t)}`);
      }
      first = false;
    }
  }

  private addTerm(into: Map<number, number>, j: number, v: number): void {
    into.set(j, (into.get(j) ?? 0) + v);
  }

  /** A signed number or a signed infinity word. */
  private value(): number {
    let t = this.lex.next();
    let sign = 1;
    while (t.kind === "sign") {
      if (t.text === "-") sign = -sign;
      t = this.lex.next();
    }
    if (t.kind === "num") return sign * t.value;
    if (isInfWord(t)) return sign * Infinity;
    return this.error(t, `expected a number, found ${this.describe(t)}`);
  }

  private objectiveSection(): void {
    const a = this.lex.peek(),
      b = this.lex.peek(1);
    if (a.kind === "name" && b.kind === "colon") {
      this.lex.next();
      this.lex.next();
    }
    const { constant } = this.expression(this.objective);
    const t = this.lex.peek();
    if (t.kind === "rel") this.error(t, "a relation in the objective (is 'Subject To' missing?)");
    this.objectiveConstant += constant;
  }

  private constraint(): void {
    let name: string | null = null;
    const a = this.lex.peek(),
      b = this.lex.peek(1);
    if (a.kind === "name" && b.kind === "colon") {
      name = a.text;
      this.lex.next();
      this.lex.next();
    }
    const start = this.lex.peek();
    const what = `constraint${name ? ` '${name}'` : ""}`;
    const coefs = new Map<number, number>();
    const lhs = this.expression(coefs);
    const rel = this.lex.next();
    if (rel.kind !== "rel") this.error(rel, `expected a relation (<=, >=, =) in ${what}, found ${this.describe(rel)}`);
    let lower: number, upper: number;
    if (lhs.terms === 0 && lhs.constants > 0 && this.startsTerm(this.lex.peek())) {
      // `k rel expr`, or the ranged `lo <= expr <= hi` / `hi >= expr >= lo`: the left side was a constant.
      const mid = this.expression(coefs);
      const near = lhs.constant - mid.constant;
      if (this.lex.peek().kind === "rel") {
        const rel2 = this.lex.next();
        if (rel.text !== rel2.text || rel.text === "=") this.error(rel2, `a ranged ${what} needs two '<=' or two '>='`);
        const far = this.value() - mid.constant;
        [lower, upper] = rel.text === "<=" ? [near, far] : [far, near];
      } else {
        [lower, upper] = rel.text === "=" ? [near, near] : rel.text === "<=" ? [near, Infinity] : [-Infinity, near];
      }
    } else {
      const rhs = this.value() - lhs.constant;
      [lower, upper] = rel.text === "=" ? [rhs, rhs] : rel.text === "<=" ? [-Infinity, rhs] : [rhs, Infinity];
    }
    if (lower === Infinity || upper === -Infinity || (lower === upper && !Number.isFinite(lower))) {
      this.error(start, `infinite bound [${lower}, ${upper}] in ${what}`);
    }
    this.rows.push({ name, line: start.line, coefs, lower: noNegZero(lower), upper: noNegZero(upper) });
  }

  private startsTerm(t: Tok): boolean {
    return t.kind === "name" || t.kind === "sign" || t.kind === "num";
  }

  private boundEntry(): void {
    const t = this.lex.peek(),
      t1 = this.lex.peek(1),
      t2 = this.lex.peek(2);
    const valueFirst =
      t.kind === "sign" || t.kind === "num" || (isInfWord(t) && t1.kind === "rel" && t2.kind === "name");
    if (!valueFirst) {
      if (t.kind !== "name") this.error(t, `expected a bound, found ${this.describe(t)}`);
      this.lex.next();
      const j = this.column(t.text);
      if (t1.kind === "name" && t1.text.toLowerCase() === "free") {
        this.lex.next();
        this.lower[j] = -Infinity;
        this.upper[j] = Infinity;
        return;
      }
      const rel = this.lex.next();
      if (rel.kind !== "rel")
        this.error(rel, `expected a relation or 'free' after '${t.text}', found ${this.describe(rel)}`);
      this.applyBound(j, rel, this.value(), false);
      return;
    }
    const v = this.value();
    const rel = this.lex.next();
    if (rel.kind !== "rel") this.error(rel, `expected a relation in bounds, found ${this.describe(rel)}`);
    const n = this.lex.next();
    if (n.kind !== "name") this.error(n, `expected a variable name, found ${this.describe(n)}`);
    const j = this.column(n.text);
    this.applyBound(j, rel, v, true);
    const more = this.lex.peek();
    if (more.kind === "rel") {
      this.lex.next();
      this.applyBound(j, more, this.value(), false);
    }
  }

  /** `x rel v`, or `v rel x` when reversed. */
  private applyBound(j: number, rel: Tok, v: number, reversed: boolean): void {
    const op = reversed && rel.text !== "=" ? (rel.text === "<=" ? ">=" : "<=") : rel.text;
    v = noNegZero(v);
    if (op === "=") {
      if (!Number.isFinite(v)) this.error(rel, `cannot fix '${this.colNames[j]}' at an infinite value`);
      this.lower[j] = this.upper[j] = v;
    } else if (op === "<=") {
      if (v === -Infinity) this.error(rel, `upper bound -inf on '${this.colNames[j]}'`);
      // Unlike CPLEX, a negative upper bound leaves the default lower bound 0 in place (no silent -inf).
      this.upper[j] = v;
    } else {
      if (v === Infinity) this.error(rel, `lower bound +inf on '${this.colNames[j]}'`);
      this.lower[j] = v;
    }
  }

  private nameList(binary: boolean): void {
    for (;;) {
      const t = this.lex.peek();
      if (t.kind === "section" || t.kind === "eof") return;
      if (t.kind !== "name") this.error(t, `expected a variable name, found ${this.describe(t)}`);
      this.lex.next();
      const j = this.column(t.text);
      this.integer[j] = 1;
      if (binary) {
        this.lower[j] = 0;
        this.upper[j] = 1;
      }
    }
  }

  parse(): LpModel {
    const head = this.lex.next();
    if (head.kind !== "section" || (head.text !== "min" && head.text !== "max")) {
      this.error(head, `expected 'Minimize' or 'Maximize', found ${this.describe(head)}`);
    }
    const sense = head.text as "min" | "max";
    this.objectiveSection();
    for (;;) {
      const t = this.lex.next();
      if (t.kind === "eof") this.error(t, "missing 'End'");
      if (t.kind !== "section") this.error(t, `unexpected ${this.describe(t)}`);
      if (t.text === "end") break;
      if (t.text === "min" || t.text === "max")
        this.error(t, "a second objective section (multiple objectives are not supported)");
      if (t.text.startsWith("unsupported:")) {
        // An empty one is harmless (HiGHS writes an empty `semi` section).
        const next = this.lex.peek();
        if (next.kind === "section" || next.kind === "eof") continue;
        this.error(t, `section '${t.text.slice(12)}' is not supported`);
      }
      if (t.text === "st") {
        while (this.startsTerm(this.lex.peek()) || this.lex.peek().kind === "rel") this.constraint();
      } else if (t.text === "bounds") {
        while (this.startsTerm(this.lex.peek())) this.boundEntry();
      } else this.nameList(t.text === "binaries");
      const after = this.lex.peek();
      if (after.kind !== "section" && after.kind !== "eof") this.error(after, `unexpected ${this.describe(after)}`);
    }
    // Anything after End is ignored, as CPLEX does.
    return this.build(sense);
  }

  private build(sense: "min" | "max"): LpModel {
    const nc = this.colNames.length,
      nr = this.rows.length;
    const objective = new Float64Array(nc);
    for (const [j, v] of this.objective) objective[j] = noNegZero(v);
    const taken = new Set(this.rows.map((r) => r.name).filter((n): n is string => n !== null));
    const rowNames = this.rows.map((r, i) => {
      if (r.name !== null) return r.name;
      // Unnamed rows are numbered like CPLEX (c1, c2, ...), skipping names the file already uses.
      let n = `c${i + 1}`;
      for (let k = 1; taken.has(n); k++) n = `c${i + 1}_${k}`;
      taken.add(n);
      return n;
    });
    const seen = new Set<string>();
    rowNames.forEach((n, r) => {
      if (seen.has(n)) throw new LpSyntaxError(`${this.file}:${this.rows[r].line}: duplicate row name '${n}'`);
      seen.add(n);
    });
    const indptr = new Int32Array(nr + 1);
    let nnz = 0;
    for (let r = 0; r < nr; r++) {
      for (const v of this.rows[r].coefs.values()) if (v !== 0) nnz++;
      indptr[r + 1] = nnz;
    }
    const indices = new Int32Array(nnz),
      values = new Float64Array(nnz);
    let k = 0;
    for (const row of this.rows)
      for (const [j, v] of row.coefs)
        if (v !== 0) {
          indices[k] = j;
          values[k] = v;
          k++;
        }
    return {
      name: modelName(this.lex.firstLine(), this.file),
      comments: [],
      sense,
      objective,
      objectiveConstant: this.objectiveConstant === 0 ? 0 : this.objectiveConstant,
      colNames: this.colNames,
      colLower: Float64Array.from(this.lower),
      colUpper: Float64Array.from(this.upper),
      colInteger: Uint8Array.from(this.integer),
      rowNames,
      rowGroups: [],
      rowLower: Float64Array.from(this.rows, (r) => r.lower),
      rowUpper: Float64Array.from(this.rows, (r) => r.upper),
      indptr,
      indices,
      values,
    };
  }
}

/** `\ NAME: written by robustc` (ours) or `\Problem name: NAME` (CPLEX); else the file's base name. */
function modelName(first: string, file: string): string {
  const m = /^\\\s*(?:Problem name:\s*(\S+)|(\S+): written by)/.exec(first);
  return m?.[1] ?? m?.[2] ?? basename(file, extname(file));
}

export function readCplexLp(text: string, file: string): Result<LpModel> {
  try {
    return ok(new LpParser(new Lexer(text), file).parse());
  } catch (e) {
    if (e instanceof LpSyntaxError) return fail(diag("lp/syntax", e.message));
    throw e;
  }
}
