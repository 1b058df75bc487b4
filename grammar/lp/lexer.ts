// CPLEX-LP tokens, produced lazily line by line (a 50 MB LP never becomes one token array). A section
// keyword counts only as the first word of a line and not before a `:` (so a row may be named `st`).

export type TokKind = "num" | "name" | "sign" | "rel" | "colon" | "section" | "bad" | "eof";

/** Normalised section keywords; "unsupported" carries the original word in `text`. */
export type Section = "min" | "max" | "st" | "bounds" | "generals" | "binaries" | "end" | "unsupported";

export interface Tok {
  readonly kind: TokKind;
  /** Source text; for "rel" the normalised relation ("<=", ">=", "="); for "section" the Section. */
  readonly text: string;
  /** For "num": the value (always ≥ 0: signs are their own tokens). */
  readonly value: number;
  readonly line: number;
  readonly col: number;
}

// CPLEX allows these characters in names; a name may not start with a digit or a period.
const NAME_START = /[A-Za-z_!"#$%&()/,;?@`'{}|~]/;
const NAME_REST = /[A-Za-z0-9_!"#$%&()/,.;?@`'{}|~]*/y;
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;

const SECTION_WORDS: ReadonlyMap<string, Section> = new Map<string, Section>([
  ["minimize", "min"],
  ["minimise", "min"],
  ["minimum", "min"],
  ["min", "min"],
  ["maximize", "max"],
  ["maximise", "max"],
  ["maximum", "max"],
  ["max", "max"],
  ["st", "st"],
  ["s.t.", "st"],
  ["st.", "st"],
  ["bounds", "bounds"],
  ["bound", "bounds"],
  ["generals", "generals"],
  ["general", "generals"],
  ["gen", "generals"],
  ["integers", "generals"],
  ["integer", "generals"],
  ["binaries", "binaries"],
  ["binary", "binaries"],
  ["bin", "binaries"],
  ["end", "end"],
  ["semi", "unsupported"],
  ["semis", "unsupported"],
  ["semi-continuous", "unsupported"],
  ["sos", "unsupported"],
  ["pwl", "unsupported"],
]);
const TWO_WORD_SECTIONS: ReadonlyMap<string, Section> = new Map<string, Section>([
  ["subject to", "st"],
  ["such that", "st"],
]);

function tokenizeLine(src: string, line: number, out: Tok[]): void {
  // `\` starts a comment that runs to the end of the line.
  const cut = src.indexOf("\\");
  const s = cut >= 0 ? src.slice(0, cut) : src;
  let i = 0;
  const push = (kind: TokKind, text: string, value: number, at: number) =>
    out.push({ kind, text, value, line, col: at + 1 });
  while (i < s.length) {
    const c = s[i];
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      continue;
    }
    const at = i;
    if (c === "<" || c === ">" || c === "=") {
      const two = s.slice(i, i + 2);
      if (two === "<=" || two === "=<") {
        push("rel", "<=", 0, at);
        i += 2;
      } else if (two === ">=" || two === "=>") {
        push("rel", ">=", 0, at);
        i += 2;
      } else {
        push("rel", c === "<" ? "<=" : c === ">" ? ">=" : "=", 0, at);
        i++;
      }
      continue;
    }
    if (c === "+" || c === "-") {
      push("sign", c, 0, at);
      i++;
      continue;
    }
    if (c === ":") {
      push("colon", c, 0, at);
      i++;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(s);
    if (num && (c !== "." || /\d/.test(s[i + 1] ?? ""))) {
      push("num", num[0], Number(num[0]), at);
      i += num[0].length;
      continue;
    }
    if (NAME_START.test(c)) {
      NAME_REST.lastIndex = i + 1;
      const rest = NAME_REST.exec(s);
      const text = c + (rest ? rest[0] : "");
      push("name", text, 0, at);
      i += text.length;
      continue;
    }
    push("bad", c, 0, at);
    i++;
  }
}

/** Marks a line's leading keyword as a section token (and swallows the second word of "subject to"). */
function markSection(toks: Tok[]): void {
  const [a, b, c] = toks;
  if (!a || a.kind !== "name") return;
  const lower = a.text.toLowerCase();
  if (b && b.kind === "name") {
    const two = TWO_WORD_SECTIONS.get(`${lower} ${b.text.toLowerCase()}`);
    if (two && (!c || c.kind !== "colon")) {
      toks.splice(0, 2, { kind: "section", text: two, value: 0, line: a.line, col: a.col });
      return;
    }
  }
  // "semi-continuous" lexes as name, sign, name.
  const word =
    lower === "semi" && b?.text === "-" && c?.text.toLowerCase() === "continuous" ? "semi-continuous" : lower;
  const sec = SECTION_WORDS.get(word);
  if (!sec || (b && b.kind === "colon")) return;
  toks.splice(0, word === "semi-continuous" ? 3 : 1, {
    kind: "section",
    text: sec === "unsupported" ? `unsupported:${a.text}` : sec,
    value: 0,
    line: a.line,
    col: a.col,
  });
}

export class Lexer {
  private readonly lines: string[];
  private nextLine = 0;
  private buf: Tok[] = [];
  private pos = 0;

  constructor(text: string) {
    this.lines = text.split("\n");
  }

  /** The k-th token ahead (0 = the next one); "eof" past the end. */
  peek(k = 0): Tok {
    while (this.pos + k >= this.buf.length) {
      if (this.nextLine >= this.lines.length) {
        return { kind: "eof", text: "end of file", value: 0, line: this.lines.length, col: 1 };
      }
      // Drop consumed tokens before refilling, so the buffer stays about a line long.
      if (this.pos > 0) {
        this.buf = this.buf.slice(this.pos);
        this.pos = 0;
      }
      const toks: Tok[] = [];
      tokenizeLine(this.lines[this.nextLine], this.nextLine + 1, toks);
      this.nextLine++;
      markSection(toks);
      for (const t of toks) this.buf.push(t);
    }
    return this.buf[this.pos + k];
  }

  next(): Tok {
    const t = this.peek();
    if (t.kind !== "eof") this.pos++;
    return t;
  }

  /** The first line of the text (for a name in the header comment). */
  firstLine(): string {
    return this.lines[0] ?? "";
  }
}
