// VNN-LIB (SMT-LIB subset) tokens, produced lazily: '(', ')' and symbols (any other run of non-blank
// characters; numbers are symbols, told apart by the parser). Every token has its 1-based line and column.

export interface Tok {
  readonly kind: "(" | ")" | "sym" | "eof";
  /** Source text ("end of file" for eof). */
  readonly text: string;
  readonly line: number;
  /** 1-based, in UTF-16 code units (what editors that count characters show for ASCII files). */
  readonly col: number;
}

const LF = 10,
  CR = 13,
  TAB = 9,
  VT = 11,
  FF = 12,
  SPACE = 32,
  SEMI = 59,
  LPAREN = 40,
  RPAREN = 41;
const BLANK = (c: number): boolean => c === SPACE || c === TAB || c === CR || c === VT || c === FF;

/** One-token lookahead is all the recursive-descent parser needs, so no token array is ever built. */
export class Lexer {
  private i = 0;
  private line = 1;
  private col = 1;
  private peeked: Tok | null = null;

  constructor(private readonly src: string) {
    // A UTF-8 byte-order mark is not part of the text (column 1 stays column 1).
    if (src.charCodeAt(0) === 0xfeff) this.i = 1;
  }

  peek(): Tok {
    if (this.peeked === null) this.peeked = this.scan();
    return this.peeked;
  }

  next(): Tok {
    const t = this.peek();
    this.peeked = null;
    return t;
  }

  private scan(): Tok {
    const s = this.src,
      n = s.length;
    let i = this.i;
    // Blanks and `;` comments (to the end of the line).
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === LF) {
        i++;
        this.line++;
        this.col = 1;
      } else if (BLANK(c)) {
        i++;
        this.col++;
      } else if (c === SEMI) {
        const start = i;
        while (i < n && s.charCodeAt(i) !== LF) i++;
        this.col += i - start; // matters only for a comment that ends the file
      } else break;
    }
    const line = this.line,
      col = this.col;
    if (i >= n) {
      this.i = i;
      return { kind: "eof", text: "end of file", line, col };
    }
    const c = s.charCodeAt(i);
    if (c === LPAREN || c === RPAREN) {
      this.i = i + 1;
      this.col++;
      return { kind: c === LPAREN ? "(" : ")", text: c === LPAREN ? "(" : ")", line, col };
    }
    const start = i;
    while (i < n) {
      const d = s.charCodeAt(i);
      if (d === LF || BLANK(d) || d === SEMI || d === LPAREN || d === RPAREN) break;
      i++;
    }
    this.i = i;
    this.col += i - start;
    return { kind: "sym", text: s.slice(start, i), line, col };
  }
}

/** A token's text for a one-line message: quoted, at most 40 characters, non-printable ASCII escaped. */
export function show(t: Tok): string {
  if (t.kind === "eof") return "end of file";
  const cut = t.text.length > 40 ? `${t.text.slice(0, 40)}...` : t.text;
  return `'${cut.replace(/[^\x20-\x7e]/g, (ch) => `\\u{${ch.charCodeAt(0).toString(16)}}`)}'`;
}
