// Parses the text syntax of grammar/constraint/syntax.md into a constraint Problem. Hand-written (a
// tokenizer and recursive descent: the grammar is a dozen rules, and errors must carry line and column).

import { diag, fail, ok, type Result } from "../../compiler/diagnostics.js";
import {
  and,
  EQ,
  GE,
  LE,
  or,
  RowBuilder,
  type Formula,
  type Objective,
  type Problem,
  type SenseCode,
  type VarBlock,
} from "../../compiler/ir/constraint.js";

interface Token {
  readonly kind: "name" | "num" | "sym" | "eof";
  readonly text: string;
  readonly line: number;
  readonly col: number;
}

/** Words of the syntax; no variable block may take these names. */
const KEYWORDS = new Set(["var", "int", "free", "in", "bounds", "minimize", "maximize", "and", "or", "linear", "inf"]);

class ParseError extends Error {
  constructor(
    readonly line: number,
    readonly col: number,
    msg: string,
  ) {
    super(msg);
  }
}

function tokenize(src: string): Token[] {
  const toks: Token[] = [];
  let line = 1,
    col = 1,
    i = 0;
  const push = (kind: Token["kind"], text: string) => {
    toks.push({ kind, text, line, col });
    i += text.length;
    col += text.length;
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      i++;
      line++;
      col = 1;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      col++;
      continue;
    }
    if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    const rest = src.slice(i, i + 64);
    const num = /^(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf\b)/.exec(rest);
    if (num) {
      push("num", num[0]);
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (name) {
      push("name", name[0]);
      continue;
    }
    const sym = /^(?:>=|<=|[=@:\[\]{},+-])/.exec(rest);
    if (sym) {
      push("sym", sym[0]);
      continue;
    }
    throw new ParseError(line, col, `unexpected character '${c}'`);
  }
  toks.push({ kind: "eof", text: "end of input", line, col });
  return toks;
}

class Parser {
  private pos = 0;
  private readonly vars: VarBlock[] = [];
  private nextCol = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.pos];
  }
  private fail(msg: string, t = this.peek()): never {
    throw new ParseError(t.line, t.col, msg);
  }
  private next(): Token {
    return this.toks[this.pos++];
  }
  private is(text: string): boolean {
    const t = this.peek();
    return t.kind !== "num" && t.text === text;
  }
  private expect(text: string): Token {
    if (!this.is(text)) this.fail(`expected '${text}', found '${this.peek().text}'`);
    return this.next();
  }
  private name(): string {
    const t = this.next();
    if (t.kind !== "name") this.fail(`expected a name, found '${t.text}'`, t);
    return t.text;
  }
  private number(): number {
    let sign = 1;
    if (this.is("-")) {
      this.next();
      sign = -1;
    } else if (this.is("+")) this.next();
    const t = this.next();
    if (t.kind !== "num") this.fail(`expected a number, found '${t.text}'`, t);
    return sign * (t.text === "inf" ? Infinity : Number(t.text));
  }
  private int(): number {
    const t = this.peek();
    const v = this.number();
    if (!Number.isInteger(v) || v < 0) this.fail(`expected a non-negative integer, found '${t.text}'`, t);
    return v;
  }

  problem(): Problem {
    while (this.is("var")) this.varDecl();
    let objective: Objective | null = null;
    if (this.is("minimize") || this.is("maximize")) objective = this.objective();
    const constraint = this.formula(false);
    if (this.peek().kind !== "eof") this.fail(`expected end of input, found '${this.peek().text}'`);
    return { vars: this.vars, constraint, objective };
  }

  private varDecl(): void {
    this.expect("var");
    const nameTok = this.peek();
    const name = this.name();
    if (KEYWORDS.has(name)) this.fail(`'${name}' is a keyword, not a variable name`, nameTok);
    if (this.vars.some((v) => v.name === name)) this.fail(`variable block '${name}' declared twice`, nameTok);
    let size = 1;
    if (this.is("[")) {
      this.next();
      size = this.int();
      this.expect("]");
    }
    let integer = false;
    if (this.is("int")) {
      this.next();
      integer = true;
    }
    const lower = new Float64Array(size),
      upper = new Float64Array(size);
    if (this.is("free")) {
      this.next();
      lower.fill(-Infinity);
      upper.fill(Infinity);
    } else if (this.is("in")) {
      this.next();
      this.expect("[");
      const lo = this.number();
      this.expect(",");
      const hi = this.number();
      this.expect("]");
      lower.fill(lo);
      upper.fill(hi);
    } else if (this.is("bounds")) {
      this.next();
      this.expect("{");
      for (let i = 0; i < size; i++) {
        lower[i] = this.number();
        upper[i] = this.number();
      }
      this.expect("}");
    } else this.fail(`expected 'free', 'in' or 'bounds' after variable block '${name}'`);
    this.vars.push({ name, offset: this.nextCol, size, lower, upper, integer });
    this.nextCol += size;
  }

  private ref(): number {
    const t = this.peek();
    const name = this.name();
    const b = this.vars.find((v) => v.name === name);
    if (!b) this.fail(`unknown variable '${name}'`, t);
    let i = 0;
    if (this.is("[")) {
      this.next();
      i = this.int();
      this.expect("]");
    } else if (b.size !== 1) this.fail(`variable block '${name}' has ${b.size} variables: write ${name}[i]`, t);
    if (i >= b.size) this.fail(`index ${i} out of range for '${name}' (size ${b.size})`, t);
    return b.offset + i;
  }

  /** terms: returns true when a bare constant was read (objectives only). */
  private terms(add: (col: number, coef: number) => void, allowConstant: boolean): number {
    let constant = 0;
    let first = true;
    for (;;) {
      let sign = 1;
      if (this.is("+") || this.is("-")) {
        sign = this.next().text === "-" ? -1 : 1;
      } else if (!first) break;
      first = false;
      const t = this.peek();
      if (t.kind === "num") {
        const v = this.number();
        if (this.peek().kind === "name" && !KEYWORDS.has(this.peek().text)) add(this.ref(), sign * v);
        else if (v === 0 && sign === 1 && !allowConstant) {
          /* "0": an empty left-hand side */
        } else if (allowConstant) constant += sign * v;
        else this.fail("a constant belongs on the right-hand side of a row", t);
      } else add(this.ref(), sign);
      if (!(this.is("+") || this.is("-"))) break;
    }
    return constant;
  }

  private objective(): Objective {
    const sense = this.next().text === "minimize" ? "min" : "max";
    const cols: number[] = [],
      vals: number[] = [];
    const constant = this.terms((c, v) => {
      cols.push(c);
      vals.push(v);
    }, true);
    return { sense, cols: Int32Array.from(cols), vals: Float64Array.from(vals), constant };
  }

  private formula(inOr: boolean): Formula {
    const t = this.peek();
    if (this.is("and")) {
      this.next();
      this.expect("{");
      const items: Formula[] = [];
      while (!this.is("}")) items.push(this.formula(inOr));
      this.expect("}");
      return and(...items);
    }
    if (this.is("or")) {
      if (inOr) this.fail("an `or` inside an `or` is not supported");
      this.next();
      const name = this.name();
      this.expect("[");
      const width = this.int();
      this.expect("]");
      // `layer L`: the network layer whose nonlinearity the disjunction encodes (encode sets it).
      let layer: number | undefined;
      if (this.peek().kind === "name" && this.peek().text === "layer") {
        this.next();
        layer = this.int();
      }
      this.expect("{");
      const items: Formula[] = [];
      while (!this.is("}")) items.push(this.formula(true));
      this.expect("}");
      return or(name, width, items, layer);
    }
    if (this.is("linear")) {
      this.next();
      const rb = new RowBuilder(this.name());
      this.expect("{");
      while (!this.is("}")) {
        let lane = -1;
        if (this.is("@")) {
          const at = this.next();
          if (!inOr) this.fail("a lane prefix is only allowed inside an `or`", at);
          lane = this.int();
          this.expect(":");
        }
        this.terms((c, v) => rb.term(c, v), false);
        const relTok = this.next();
        const sense: SenseCode | null =
          relTok.text === "=" ? EQ : relTok.text === ">=" ? GE : relTok.text === "<=" ? LE : null;
        if (sense === null) this.fail(`expected '=', '>=' or '<=', found '${relTok.text}'`, relTok);
        const rhs = this.number();
        rb.end(sense, rhs === 0 ? 0 : -rhs, lane);
      }
      this.expect("}");
      return rb.build();
    }
    return this.fail(`expected 'and', 'or' or 'linear', found '${t.text}'`);
  }
}

export function parseProblem(text: string, file = "<text>"): Result<Problem> {
  try {
    return ok(new Parser(tokenize(text)).problem());
  } catch (e) {
    if (e instanceof ParseError) return fail(diag("grammar/constraint", `${file}:${e.line}:${e.col}: ${e.message}`));
    throw e;
  }
}
