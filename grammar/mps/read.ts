// Free-MPS text → LpModel (whitespace-separated fields; names without spaces). Columns in COLUMNS order,
// rows in ROWS order; the first N row (or OBJNAME) is the objective. Errors are values naming file:line.

import { basename, extname } from "node:path";
import { diag, fail, ok, type Result } from "../../compiler/diagnostics.js";
import type { LpModel } from "../../compiler/backend/lp-model.js";

class MpsSyntaxError extends Error {}

type RowType = "N" | "L" | "G" | "E";
type SectionName =
  "NAME" | "OBJSENSE" | "OBJSENSE_VALUE" | "OBJNAME" | "ROWS" | "COLUMNS" | "RHS" | "RANGES" | "BOUNDS" | "ENDATA";

const SECTIONS = new Set([
  "NAME",
  "OBJSENSE",
  "OBJSENS",
  "OBJNAME",
  "ROWS",
  "COLUMNS",
  "RHS",
  "RANGES",
  "BOUNDS",
  "ENDATA",
]);
const UNSUPPORTED = new Set([
  "QUADOBJ",
  "QSECTION",
  "QMATRIX",
  "QCMATRIX",
  "SOS",
  "SETS",
  "INDICATORS",
  "CSECTION",
  "GENCONS",
  "PWLOBJ",
  "PWLNAM",
]);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const noNegZero = (v: number) => (v === 0 ? 0 : v);
const unquote = (s: string) => s.replace(/^'(.*)'$/, "$1");

interface Col {
  lower: number;
  upper: number;
  lowerSet: boolean;
  integer: boolean;
  cost: number;
  rows: Map<number, number>;
}

class MpsParser {
  private line = 0;
  private name = "";
  private sense: "min" | "max" = "min";
  private objName: string | null = null;
  private objRow = -1;
  private objectiveConstant = 0;
  private readonly rowIndex = new Map<string, number>();
  private readonly rowNames: string[] = [];
  private readonly rowTypes: RowType[] = [];
  private rhs: number[] = [];
  private range: (number | null)[] = [];
  private readonly colIndex = new Map<string, number>();
  private readonly colNames: string[] = [];
  private readonly cols: Col[] = [];
  private rhsSet: string | null = null;
  private rangeSet: string | null = null;
  private boundSet: string | null = null;

  constructor(private readonly file: string) {}

  private error(msg: string): never {
    throw new MpsSyntaxError(`${this.file}:${this.line}: ${msg}`);
  }

  private num(s: string, what: string): number {
    const lower = s.toLowerCase().replace(/^\+/, "");
    if (lower === "inf" || lower === "infinity") return Infinity;
    if (lower === "-inf" || lower === "-infinity") return -Infinity;
    if (!NUMBER.test(s)) this.error(`expected a number for ${what}, found '${s}'`);
    return noNegZero(Number(s));
  }

  private row(name: string): number {
    const r = this.rowIndex.get(name);
    if (r === undefined) this.error(`unknown row '${name}' (not in ROWS)`);
    return r;
  }

  private col(name: string): Col {
    const j = this.colIndex.get(name);
    if (j === undefined) this.error(`unknown column '${name}' (not in COLUMNS)`);
    return this.cols[j];
  }

  parse(text: string): LpModel {
    const lines = text.split("\n");
    let section: SectionName | null = null;
    let inInt = false,
      lastCol: string | null = null,
      ended = false;
    for (let i = 0; i < lines.length && !ended; i++) {
      this.line = i + 1;
      const raw = lines[i].replace(/\r$/, "");
      if (raw.trim() === "" || raw.startsWith("*")) continue;
      const f = raw.trim().split(/\s+/);
      // Section headers start in column 1; data lines are indented (a set may be named like a section).
      if (!/^\s/.test(raw)) {
        const head = f[0].toUpperCase();
        if (UNSUPPORTED.has(head)) this.error(`section ${head} is not supported`);
        if (SECTIONS.has(head)) {
          section = this.header(head, f);
          if (section === "ENDATA") ended = true;
          continue;
        }
      }
      switch (section) {
        case null:
        case "NAME":
        case "ENDATA":
          this.error(`data line outside a section: '${raw.trim()}'`);
          break;
        case "OBJSENSE":
          this.objSense(f[0]);
          section = "OBJSENSE_VALUE";
          break;
        case "OBJSENSE_VALUE":
          this.error(`unexpected '${raw.trim()}' after the OBJSENSE value`);
          break;
        case "OBJNAME":
          this.objName = f[0];
          break;
        case "ROWS":
          this.rowLine(f);
          break;
        case "COLUMNS": {
          if (f.length === 3 && unquote(f[1]).toUpperCase() === "MARKER") {
            const m = unquote(f[2]).toUpperCase();
            if (m === "INTORG") inInt = true;
            else if (m === "INTEND") inInt = false;
            else this.error(`unknown marker '${f[2]}'`);
            break;
          }
          if (f.length !== 3 && f.length !== 5)
            this.error(`expected 'column row value [row value]', found ${f.length} fields`);
          if (f[0] !== lastCol) {
            if (this.colIndex.has(f[0])) this.error(`column '${f[0]}' appears again after other columns`);
            this.colIndex.set(f[0], this.cols.length);
            this.colNames.push(f[0]);
            this.cols.push({ lower: 0, upper: Infinity, lowerSet: false, integer: inInt, cost: 0, rows: new Map() });
            lastCol = f[0];
          }
          const c = this.cols[this.cols.length - 1];
          for (let k = 1; k < f.length; k += 2) this.entry(c, f[0], f[k], this.num(f[k + 1], `column '${f[0]}'`));
          break;
        }
        case "RHS":
          this.rhsLine(f);
          break;
        case "RANGES":
          this.rangeLine(f);
          break;
        case "BOUNDS":
          this.boundLine(f);
          break;
      }
    }
    if (!ended) {
      this.line = lines.length;
      this.error("missing ENDATA");
    }
    return this.build();
  }

  private header(head: string, f: string[]): SectionName {
    switch (head) {
      case "NAME":
        // `NAME <name> [FREE]`; the FREE marker is what Clp and CBC look for.
        this.name = f.length > 1 && f[1].toUpperCase() !== "FREE" ? f[1] : "";
        return "NAME";
      case "OBJSENSE":
      case "OBJSENS":
        if (f.length > 1) {
          this.objSense(f[1]);
          return "OBJSENSE_VALUE";
        }
        return "OBJSENSE";
      case "OBJNAME":
        if (f.length > 1) this.objName = f[1];
        return "OBJNAME";
      default: {
        if (f.length > 1) this.error(`unexpected text after ${head}`);
        return head as SectionName;
      }
    }
  }

  private objSense(word: string): void {
    const w = word.toUpperCase();
    if (w === "MAX" || w === "MAXIMIZE" || w === "MAXIMISE") this.sense = "max";
    else if (w === "MIN" || w === "MINIMIZE" || w === "MINIMISE") this.sense = "min";
    else this.error(`unknown OBJSENSE '${word}'`);
  }

  private rowLine(f: string[]): void {
    if (f.length !== 2) this.error(`expected 'type name' in ROWS, found ${f.length} fields`);
    const t = f[0].toUpperCase();
    if (t !== "N" && t !== "L" && t !== "G" && t !== "E") this.error(`unknown row type '${f[0]}'`);
    if (this.rowIndex.has(f[1])) this.error(`duplicate row '${f[1]}'`);
    if (t === "N" && this.objRow < 0 && (this.objName === null || this.objName === f[1])) {
      this.objRow = this.rowNames.length;
    }
    this.rowIndex.set(f[1], this.rowNames.length);
    this.rowNames.push(f[1]);
    this.rowTypes.push(t);
    this.rhs.push(0);
    this.range.push(null);
  }

  private entry(c: Col, colName: string, rowName: string, v: number): void {
    const r = this.row(rowName);
    if (r === this.objRow) {
      if (c.cost !== 0) this.error(`column '${colName}' has two objective entries`);
      c.cost = v;
      return;
    }
    if (c.rows.has(r)) this.error(`column '${colName}' has two entries in row '${rowName}'`);
    c.rows.set(r, v);
  }

  /** RHS/RANGES lines: `[set] row value [row value]`; only one set is allowed per section. */
  private pairs(f: string[], section: string, current: string | null): [string | null, [string, string][]] {
    const named = f.length === 3 || f.length === 5;
    if (!named && f.length !== 2 && f.length !== 4) this.error(`expected '[set] row value [row value]' in ${section}`);
    const set = named ? f[0] : "";
    if (current !== null && current !== set) this.error(`a second ${section} set '${set}' (only one is supported)`);
    const rest = named ? f.slice(1) : f;
    const out: [string, string][] = [];
    for (let k = 0; k < rest.length; k += 2) out.push([rest[k], rest[k + 1]]);
    return [set, out];
  }

  private rhsLine(f: string[]): void {
    const [set, pairs] = this.pairs(f, "RHS", this.rhsSet);
    this.rhsSet = set;
    for (const [rowName, val] of pairs) {
      const r = this.row(rowName),
        v = this.num(val, `the RHS of '${rowName}'`);
      // The objective's RHS is minus the objective constant (the CPLEX, Clp and HiGHS reading; GLPK
      // reads it with the other sign).
      if (r === this.objRow) this.objectiveConstant = noNegZero(-v);
      else this.rhs[r] = v;
    }
  }

  private rangeLine(f: string[]): void {
    const [set, pairs] = this.pairs(f, "RANGES", this.rangeSet);
    this.rangeSet = set;
    for (const [rowName, val] of pairs) {
      const r = this.row(rowName);
      if (this.rowTypes[r] === "N") this.error(`RANGES on the free row '${rowName}'`);
      const v = this.num(val, `the range of '${rowName}'`);
      if (!Number.isFinite(v)) this.error(`infinite range on '${rowName}'`);
      this.range[r] = v;
    }
  }

  private boundLine(f: string[]): void {
    const type = f[0]?.toUpperCase();
    const valued = type === "UP" || type === "LO" || type === "FX" || type === "LI" || type === "UI";
    const bare = type === "FR" || type === "MI" || type === "PL" || type === "BV";
    if (type === "SC") this.error("bound type SC (semi-continuous) is not supported");
    if (!valued && !bare) this.error(`unknown bound type '${f[0]}'`);
    // The bound set name may be left out; BV sometimes carries a value that is ignored.
    let set: string,
      colName: string,
      val: string | null = null;
    if (valued) {
      if (f.length === 4) [, set, colName, val] = f;
      else if (f.length === 3) {
        set = "";
        [, colName, val] = f;
      } else this.error(`expected '${type} [set] column value'`);
    } else if (f.length === 2) {
      set = "";
      colName = f[1];
    } else if (f.length === 3) {
      if (type === "BV" && this.colIndex.has(f[1]) && NUMBER.test(f[2])) {
        set = "";
        colName = f[1];
      } else {
        set = f[1];
        colName = f[2];
      }
    } else if (f.length === 4 && type === "BV") {
      set = f[1];
      colName = f[2];
    } else this.error(`expected '${type} [set] column'`);
    if (this.boundSet !== null && this.boundSet !== set)
      this.error(`a second BOUNDS set '${set}' (only one is supported)`);
    this.boundSet = set;
    const c = this.col(colName);
    const v = val === null ? 0 : this.num(val, `the bound of '${colName}'`);
    switch (type) {
      case "UP":
      case "UI":
        // MPS convention (CPLEX, HiGHS): a negative upper bound on a column whose lower bound was never
        // set makes the lower bound -inf.
        if (v < 0 && !c.lowerSet && c.lower === 0) c.lower = -Infinity;
        c.upper = v;
        if (type === "UI") c.integer = true;
        break;
      case "LO":
      case "LI":
        c.lower = v;
        c.lowerSet = true;
        if (type === "LI") c.integer = true;
        break;
      case "FX":
        c.lower = c.upper = v;
        c.lowerSet = true;
        break;
      case "FR":
        c.lower = -Infinity;
        c.upper = Infinity;
        c.lowerSet = true;
        break;
      case "MI":
        c.lower = -Infinity;
        c.lowerSet = true;
        break;
      case "PL":
        c.upper = Infinity;
        break;
      case "BV":
        c.lower = 0;
        c.upper = 1;
        c.integer = true;
        c.lowerSet = true;
        break;
    }
    if (c.lower === Infinity || c.upper === -Infinity || (c.lower === c.upper && !Number.isFinite(v))) {
      this.error(`infinite ${type} bound on '${colName}'`);
    }
  }

  private build(): LpModel {
    // Rows kept in the model: every row but the objective (extra N rows stay, as free rows).
    const keep: number[] = [];
    const newIndex = new Int32Array(this.rowNames.length).fill(-1);
    for (let r = 0; r < this.rowNames.length; r++)
      if (r !== this.objRow) {
        newIndex[r] = keep.length;
        keep.push(r);
      }
    const nr = keep.length,
      nc = this.cols.length;
    const rowLower = new Float64Array(nr),
      rowUpper = new Float64Array(nr);
    keep.forEach((r, i) => {
      const rhs = this.rhs[r],
        R = this.range[r];
      let lo: number, hi: number;
      // RANGES per the MPS standard: G [rhs, rhs+|R|], L [rhs-|R|, rhs], E by the sign of R.
      switch (this.rowTypes[r]) {
        case "N":
          lo = -Infinity;
          hi = Infinity;
          break;
        case "G":
          lo = rhs;
          hi = R === null ? Infinity : rhs + Math.abs(R);
          break;
        case "L":
          lo = R === null ? -Infinity : rhs - Math.abs(R);
          hi = rhs;
          break;
        case "E":
          lo = R !== null && R < 0 ? rhs + R : rhs;
          hi = R !== null && R > 0 ? rhs + R : rhs;
          break;
      }
      rowLower[i] = lo;
      rowUpper[i] = hi;
    });
    const indptr = new Int32Array(nr + 1);
    for (const c of this.cols) for (const [r, v] of c.rows) if (v !== 0) indptr[newIndex[r] + 1]++;
    for (let i = 0; i < nr; i++) indptr[i + 1] += indptr[i];
    const fill = indptr.slice(0, nr);
    const indices = new Int32Array(indptr[nr]),
      values = new Float64Array(indptr[nr]);
    this.cols.forEach((c, j) => {
      for (const [r, v] of c.rows) {
        if (v === 0) continue;
        const p = fill[newIndex[r]]++;
        indices[p] = j;
        values[p] = v;
      }
    });
    return {
      name: this.name || basename(this.file, extname(this.file)),
      comments: [],
      sense: this.sense,
      objective: Float64Array.from(this.cols, (c) => c.cost),
      objectiveConstant: this.objectiveConstant,
      colNames: this.colNames,
      colLower: Float64Array.from(this.cols, (c) => c.lower),
      colUpper: Float64Array.from(this.cols, (c) => c.upper),
      colInteger: Uint8Array.from(this.cols, (c) => (c.integer ? 1 : 0)),
      rowNames: keep.map((r) => this.rowNames[r]),
      rowGroups: [],
      rowLower,
      rowUpper,
      indptr,
      indices,
      values,
    };
  }
}

export function readMps(text: string, file: string): Result<LpModel> {
  try {
    return ok(new MpsParser(file).parse(text));
  } catch (e) {
    if (e instanceof MpsSyntaxError) return fail(diag("mps/syntax", e.message));
    throw e;
  }
}
