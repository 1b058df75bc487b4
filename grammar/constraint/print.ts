// Prints a constraint Problem in the text syntax of grammar/constraint/syntax.md; parse(print(p)) = p.

import { match } from "ts-pattern";
import { EQ, GE, type Formula, type LinearBlock, type Problem, type VarBlock } from "../../compiler/ir/constraint.js";
import { formatNumber } from "../../compiler/backend/numbers.js";

function refNamer(p: Problem): (col: number) => string {
  const owner: VarBlock[] = [];
  for (const b of p.vars) for (let i = 0; i < b.size; i++) owner[b.offset + i] = b;
  return (col) => {
    const b = owner[col];
    if (!b) throw new Error(`internal: column ${col} belongs to no variable block`);
    return b.size === 1 ? b.name : `${b.name}[${col - b.offset}]`;
  };
}

function termsText(
  cols: ArrayLike<number>,
  vals: ArrayLike<number>,
  from: number,
  to: number,
  ref: (c: number) => string,
): string {
  const parts: string[] = [];
  for (let k = from; k < to; k++) {
    const v = vals[k];
    const mag = Math.abs(v) === 1 ? "" : `${formatNumber(Math.abs(v))} `;
    parts.push(
      parts.length === 0 ? `${v < 0 ? "-" : ""}${mag}${ref(cols[k])}` : `${v < 0 ? "-" : "+"} ${mag}${ref(cols[k])}`,
    );
  }
  return parts.length ? parts.join(" ") : "0";
}

function varText(b: VarBlock): string {
  const head = `var ${b.name}${b.size === 1 ? "" : `[${b.size}]`}${b.integer ? " int" : ""}`;
  const uniform = b.lower.every((v) => v === b.lower[0]) && b.upper.every((v) => v === b.upper[0]);
  if (uniform && b.lower[0] === -Infinity && b.upper[0] === Infinity) return `${head} free`;
  if (uniform) return `${head} in [${formatNumber(b.lower[0])}, ${formatNumber(b.upper[0])}]`;
  const pairs = Array.from(b.lower, (lo, i) => `${formatNumber(lo)} ${formatNumber(b.upper[i])}`);
  return `${head} bounds { ${pairs.join("  ")} }`;
}

function blockText(b: LinearBlock, ref: (c: number) => string, indent: string, lanes: boolean): string[] {
  const out = [`${indent}linear ${b.name} {`];
  for (let r = 0; r < b.rows; r++) {
    const rel = b.sense[r] === EQ ? "=" : b.sense[r] === GE ? ">=" : "<=";
    const lane = lanes && b.lane ? `@${b.lane[r]}: ` : "";
    out.push(
      `${indent}  ${lane}${termsText(b.cols, b.vals, b.indptr[r], b.indptr[r + 1], ref)} ${rel} ${formatNumber(b.constant[r] === 0 ? 0 : -b.constant[r])}`,
    );
  }
  out.push(`${indent}}`);
  return out;
}

function formulaText(f: Formula, ref: (c: number) => string, indent: string, inOr: boolean): string[] {
  return match(f)
    .with({ kind: "linear" }, (b) => blockText(b, ref, indent, inOr))
    .with({ kind: "and" }, (a) => [
      `${indent}and {`,
      ...a.items.flatMap((i) => formulaText(i, ref, indent + "  ", inOr)),
      `${indent}}`,
    ])
    .with({ kind: "or" }, (o) => [
      `${indent}or ${o.name} [${o.width}]${o.layer === undefined ? "" : ` layer ${o.layer}`} {`,
      ...o.items.flatMap((i) => formulaText(i, ref, indent + "  ", true)),
      `${indent}}`,
    ])
    .exhaustive();
}

export function printProblem(p: Problem, comments: readonly string[] = []): string {
  const ref = refNamer(p);
  const out = comments.map((c) => `# ${c}`);
  out.push(...p.vars.map(varText));
  if (p.objective) {
    const o = p.objective;
    let t = termsText(o.cols, o.vals, 0, o.cols.length, ref);
    if (o.constant !== 0) t += ` ${o.constant < 0 ? "-" : "+"} ${formatNumber(Math.abs(o.constant))}`;
    out.push(`${o.sense === "min" ? "minimize" : "maximize"} ${t}`);
  }
  out.push(...formulaText(p.constraint, ref, "", false));
  return out.join("\n") + "\n";
}
