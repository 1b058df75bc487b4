// Parses the VNN-LIB subset that VNN-COMP uses into a VnnlibProperty (input box + unsafe DNF). Hand-written
// lexer and recursive descent, so that every error names file:line:column and what was expected there.
//
// Accepted: `;` comments; (declare-const X_i Real) / (declare-const Y_j Real), declared before use;
// (assert F) where F is (and F*) | (or F*) | true | false | (op t t ...) with op in <= >= < > = (< and >
// are read as <= and >=; a chain means the conjunction of neighbouring pairs) and t a linear term: a number (decimals,
// exponents, a
// leading sign such as -0.5, which strict SMT-LIB would spell (- 0.5)), a declared variable, or
// (+ t*) | (- t t*) | (* t t*) with at most one non-constant factor | (/ t c). (check-sat), (get-model),
// (exit) and (set-logic L) are accepted and ignored. Not accepted: not, =>, ite, let, other sorts.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { diag, fail, type Result } from "../../compiler/diagnostics.js";
import { Lexer, show, type Tok } from "./lexer.js";
import { buildProperty, MAX_DISJUNCTS, type Atom, type Node, type VnnlibProperty } from "./property.js";

export type { Atom, Formula, LinearTerm, VnnlibCase, VnnlibProperty } from "./property.js";
export { MAX_DISJUNCTS } from "./property.js";

export interface VnnlibOptions {
  /** Error when the unsafe set's DNF would have more disjuncts than this (default 100,000). */
  readonly maxDisjuncts?: number;
}

/** Nesting limit: keeps recursion far from the JS stack limit whatever the input. */
const MAX_DEPTH = 500;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const LOOKS_NUMERIC = /^[+-]?\.?\d/;
const VARIABLE = /^([XY])_(0|[1-9]\d*)$/;
const UNSUPPORTED = new Set(["not", "=>", "xor", "ite", "let", "distinct", "forall", "exists", "!"]);

/** Thrown inside the parser only and turned into a Diagnostic by parseVnnlib: nothing escapes. */
class ParseError {
  constructor(
    readonly code: string,
    readonly line: number,
    readonly col: number,
    readonly message: string,
  ) {}
}

/** Mutable linear term under construction. */
interface Lin {
  x: Map<number, number>;
  y: Map<number, number>;
  c: number;
}

const constant = (c: number): Lin => ({ x: new Map(), y: new Map(), c });
const isConstant = (t: Lin): boolean => t.x.size === 0 && t.y.size === 0;

function addScaled(into: Lin, t: Lin, k: number): void {
  for (const [i, a] of t.x) into.x.set(i, (into.x.get(i) ?? 0) + k * a);
  for (const [i, a] of t.y) into.y.set(i, (into.y.get(i) ?? 0) + k * a);
  into.c += k * t.c;
}

function scaled(t: Lin, k: number): Lin {
  const out = constant(0);
  addScaled(out, t, k);
  return out;
}

/** Drops zero coefficients (X_0 - X_0) and −0, so equal terms compare equal. */
function frozen(t: Lin): Atom["term"] {
  return { x: clean(t.x), y: clean(t.y), c: t.c + 0 };
}

function clean(m: Map<number, number>): Map<number, number> {
  for (const [i, a] of m) if (a === 0) m.delete(i); // deleting while iterating a Map is well-defined
  return m;
}

class Parser {
  private readonly lex: Lexer;
  private depth = 0;
  /** Declarations: index → the token that declared it. */
  private readonly decl = { X: new Map<number, Tok>(), Y: new Map<number, Tok>() };
  readonly asserts: Node[] = [];

  constructor(text: string) {
    this.lex = new Lexer(text);
  }

  private fail(t: Tok, msg: string, code = "vnnlib/syntax"): never {
    throw new ParseError(code, t.line, t.col, msg);
  }

  private open(): Tok {
    const t = this.lex.next();
    if (++this.depth > MAX_DEPTH) this.fail(t, `parentheses nested deeper than ${MAX_DEPTH} levels`, "vnnlib/too-deep");
    return t;
  }

  /** Consumes the ')' that closes `open` (whose head was `what`). */
  private close(open: Tok, what: string): void {
    const t = this.lex.next();
    if (t.kind === ")") {
      this.depth--;
      return;
    }
    if (t.kind === "eof")
      this.fail(t, `unexpected end of file: '(${what}' opened at ${open.line}:${open.col} is never closed`);
    this.fail(t, `expected ')' to close '(${what}' opened at ${open.line}:${open.col}, found ${show(t)}`);
  }

  private head(open: Tok, expected: string): Tok {
    const t = this.lex.next();
    if (t.kind !== "sym") this.fail(t, `expected ${expected} after '(' at ${open.line}:${open.col}, found ${show(t)}`);
    return t;
  }

  /** Items up to (not including) the closing ')'; an end of file here names the unclosed '('. */
  private until<T>(open: Tok, what: string, item: () => T): T[] {
    const out: T[] = [];
    for (;;) {
      const t = this.lex.peek();
      if (t.kind === ")") return out;
      if (t.kind === "eof")
        this.fail(t, `unexpected end of file: '(${what}' opened at ${open.line}:${open.col} is never closed`);
      out.push(item());
    }
  }

  file(): void {
    for (;;) {
      const t = this.lex.peek();
      if (t.kind === "eof") return;
      if (t.kind !== "(") {
        this.fail(
          t,
          t.kind === ")" ? "unexpected ')' with no matching '('" : `expected '(' to start a command, found ${show(t)}`,
        );
      }
      const open = this.open();
      const cmd = this.head(open, "a command (declare-const or assert)");
      switch (cmd.text) {
        case "declare-const":
          this.declareConst();
          break;
        case "assert": {
          if (this.lex.peek().kind === ")") this.fail(this.lex.peek(), "expected a formula after 'assert', found ')'");
          this.asserts.push(this.formula());
          break;
        }
        case "check-sat":
        case "get-model":
        case "exit":
          break;
        case "set-logic":
          this.head(open, "a logic name");
          break;
        default:
          this.fail(cmd, `unknown command ${show(cmd)}: expected declare-const or assert`, "vnnlib/unsupported");
      }
      this.close(open, cmd.text);
    }
  }

  private declareConst(): void {
    const name = this.lex.next();
    const m = name.kind === "sym" ? VARIABLE.exec(name.text) : null;
    if (!m) this.fail(name, `expected a variable name X_<i> or Y_<j> after 'declare-const', found ${show(name)}`);
    const sort = this.lex.next();
    if (sort.kind !== "sym" || sort.text !== "Real")
      this.fail(sort, `expected sort 'Real' for ${name.text}, found ${show(sort)}`);
    const table = this.decl[m[1] as "X" | "Y"],
      index = Number(m[2]);
    const prev = table.get(index);
    if (prev)
      this.fail(name, `${name.text} is declared twice (first at ${prev.line}:${prev.col})`, "vnnlib/declarations");
    table.set(index, name);
  }

  private formula(): Node {
    const t = this.lex.peek();
    if (t.kind === "sym" && (t.text === "true" || t.text === "false")) {
      this.lex.next();
      return { kind: t.text === "true" ? "and" : "or", items: [], line: t.line, col: t.col };
    }
    if (t.kind !== "(") this.fail(t, `expected a formula ('(' or true/false), found ${show(t)}`);
    const open = this.open();
    const op = this.head(open, "'and', 'or' or a comparison (<= >= < > =)");
    let node: Node;
    switch (op.text) {
      case "and":
      case "or":
        node = {
          kind: op.text,
          items: this.until(open, op.text, () => this.formula()),
          line: open.line,
          col: open.col,
        };
        break;
      case "<=":
      case ">=":
      case "<":
      case ">":
      case "=": {
        const terms = this.until(open, op.text, () => this.term());
        if (terms.length < 2)
          this.fail(
            this.lex.peek(),
            `expected at least two terms in '(${op.text}' at ${open.line}:${open.col}, found ')'`,
          );
        // Strict comparisons are read as non-strict: over the reals the closure is what an LP can
        // state, and VNN-COMP counts ties as counterexamples anyway. `=` is `<=` and `>=`.
        const atoms: Node[] = [];
        for (let k = 0; k + 1 < terms.length; k++) {
          const d = terms.length === 2 ? terms[0] : scaled(terms[k], 1); // a chain uses terms twice
          addScaled(d, terms[k + 1], -1);
          const term = frozen(d);
          const at = (o: Atom["op"]): Node => ({ kind: "atom", atom: { term, op: o }, line: open.line, col: open.col });
          if (op.text === "=") atoms.push(at("<="), at(">="));
          else atoms.push(at(op.text === "<=" || op.text === "<" ? "<=" : ">="));
        }
        node = atoms.length === 1 ? atoms[0] : { kind: "and", items: atoms, line: open.line, col: open.col };
        break;
      }
      default:
        if (UNSUPPORTED.has(op.text))
          this.fail(
            op,
            `unsupported operator ${show(op)}: only and, or, <=, >=, <, >, = are supported`,
            "vnnlib/unsupported",
          );
        this.fail(op, `expected 'and', 'or' or a comparison (<= >= < > =), found ${show(op)}`);
    }
    this.close(open, op.text);
    return node;
  }

  private term(): Lin {
    const t = this.lex.peek();
    if (t.kind === "sym") {
      this.lex.next();
      return this.leaf(t);
    }
    if (t.kind !== "(") this.fail(t, `expected a term (a number, a variable or '('), found ${show(t)}`);
    const open = this.open();
    const op = this.head(open, "'+', '-', '*' or '/'");
    if (!["+", "-", "*", "/"].includes(op.text)) {
      this.fail(
        op,
        `expected '+', '-', '*' or '/' in a term, found ${show(op)}`,
        UNSUPPORTED.has(op.text) ? "vnnlib/unsupported" : "vnnlib/syntax",
      );
    }
    const args = this.until(open, op.text, () => this.term());
    const needs = op.text === "+" ? 0 : op.text === "-" ? 1 : 2;
    if (args.length < needs)
      this.fail(
        this.lex.peek(),
        `expected at least ${needs} term${needs > 1 ? "s" : ""} in '(${op.text}' at ${open.line}:${open.col}, found ')'`,
      );
    let out: Lin;
    if (op.text === "+" || op.text === "-") {
      out = constant(0);
      args.forEach((a, k) => addScaled(out, a, op.text === "-" && (k > 0 || args.length === 1) ? -1 : 1));
    } else if (op.text === "*") {
      const vars = args.filter((a) => !isConstant(a));
      if (vars.length > 1)
        this.fail(open, "nonlinear term: at most one factor of '*' may contain variables", "vnnlib/unsupported");
      const k = args.filter(isConstant).reduce((p, a) => p * a.c, 1);
      out = vars.length === 1 ? scaled(vars[0], k) : constant(k);
    } else {
      if (!args.slice(1).every(isConstant))
        this.fail(open, "nonlinear term: only the first argument of '/' may contain variables", "vnnlib/unsupported");
      const k = args.slice(1).reduce((p, a) => p * a.c, 1);
      if (k === 0) this.fail(open, "division by zero", "vnnlib/bad-number");
      out = scaled(args[0], 1 / k);
    }
    if (!Number.isFinite(out.c) || [...out.x.values(), ...out.y.values()].some((a) => !Number.isFinite(a))) {
      this.fail(open, "term overflows to infinity", "vnnlib/bad-number");
    }
    this.close(open, op.text);
    return out;
  }

  private leaf(t: Tok): Lin {
    if (NUMBER.test(t.text)) {
      const v = Number(t.text);
      if (!Number.isFinite(v)) this.fail(t, `number ${show(t)} is out of range`, "vnnlib/bad-number");
      return constant(v);
    }
    if (LOOKS_NUMERIC.test(t.text)) this.fail(t, `bad number ${show(t)}`, "vnnlib/bad-number");
    const m = VARIABLE.exec(t.text);
    if (m) {
      const kind = m[1] as "X" | "Y",
        index = Number(m[2]);
      if (!this.decl[kind].has(index))
        this.fail(
          t,
          `undeclared variable ${t.text} (expected (declare-const ${t.text} Real) before its use)`,
          "vnnlib/undeclared",
        );
      const out = constant(0);
      (kind === "X" ? out.x : out.y).set(index, 1);
      return out;
    }
    if (!/^[A-Za-z_]/.test(t.text)) this.fail(t, `expected a term (a number, a variable or '('), found ${show(t)}`);
    this.fail(t, `unknown variable ${show(t)}: expected a number or a declared X_<i> / Y_<j>`, "vnnlib/undeclared");
  }

  /** Declared count per kind; a gap (X_0, X_2 without X_1) is an error at the highest declaration. */
  count(kind: "X" | "Y", end: Tok): number {
    const table = this.decl[kind];
    if (table.size === 0)
      this.fail(
        end,
        `no ${kind === "X" ? "input" : "output"} variables declared (expected (declare-const ${kind}_0 Real))`,
        "vnnlib/declarations",
      );
    let max = -1;
    for (const i of table.keys()) max = Math.max(max, i);
    if (table.size !== max + 1) {
      let missing = 0;
      while (table.has(missing)) missing++;
      const last = table.get(max)!;
      this.fail(
        last,
        `${kind}_${missing} is not declared but ${last.text} is (declare ${kind}_0 .. ${last.text} without gaps)`,
        "vnnlib/declarations",
      );
    }
    return table.size;
  }

  end(): Tok {
    return this.lex.peek();
  }
}

/** Parses VNN-LIB text; `file` names it in messages. Never throws on bad input. */
export function parseVnnlib(text: string, file: string, options: VnnlibOptions = {}): Result<VnnlibProperty> {
  const p = new Parser(text);
  let nx: number, ny: number;
  try {
    p.file();
    nx = p.count("X", p.end());
    ny = p.count("Y", p.end());
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return fail(diag(e.code, `${file}:${e.line}:${e.col}: ${e.message}`));
  }
  return buildProperty(p.asserts, nx, ny, file, options.maxDisjuncts ?? MAX_DISJUNCTS);
}

/** Reads and parses a .vnnlib file; a path ending in .gz is gunzipped first. */
export function readVnnlibFile(path: string, options: VnnlibOptions = {}): Result<VnnlibProperty> {
  let text: string;
  try {
    let bytes: Uint8Array = readFileSync(path);
    if (path.endsWith(".gz")) bytes = gunzipSync(bytes);
    text = new TextDecoder("utf-8").decode(bytes);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message.split("\n")[0] : String(e));
    return fail(diag("vnnlib/read", `${path}: cannot read the property file (${why})`));
  }
  return parseVnnlib(text, path, options);
}
