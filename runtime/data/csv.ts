// CSV data -> Dataset: one item per row, every cell a number, an optional header row; a column named `label`
// holds the labels (Kaggle's MNIST CSV: label,pixel0..pixel783). Invariant: a cell that is not a finite number
// is one error naming the file, its line and its column; nothing is guessed without a note saying so.

import { type Result, diag, fail, ok } from "../../compiler/index.js";
import { type Dataset, makeDataset, toLabels } from "./dataset.js";
import { readInput } from "./file.js";

export const isCsvPath = (path: string): boolean => /\.csv(\.gz)?$/i.test(path);

const LABEL_COLUMN = "label";

interface Table {
  /** Column names from the header row, or null when the first row is data. */
  readonly header: readonly string[] | null;
  readonly columns: number;
  /** rows × columns values, row-major. */
  readonly values: Float64Array;
  readonly rows: number;
}

/** A cell without its surrounding spaces and double quotes (spreadsheets quote headers: "label","pixel0"). */
function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"').trim() : t;
}

/** A number cell: decimal or exponent notation, nothing else (Number() would also take "", "0x1f", " "). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses comma-separated numbers. Data cells hold numbers only, so no quoted commas or line breaks can occur
 * in them; a header is a first row in which no cell is a number.
 */
function parseTable(text: string, path: string): Result<Table> {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  if (lines.length === 0) return fail(diag("data/empty", `${path}: the file is empty`));
  let first = 0;
  let header: string[] | null = null;
  const firstCells = lines[0]
    .replace(/^\uFEFF/, "")
    .split(",")
    .map(unquote);
  // A header has no number in it; a first row that mixes numbers and text is data with a bad cell, not a header.
  if (firstCells.every((c) => !NUMBER.test(c))) {
    header = firstCells;
    first = 1;
  }
  const columns = firstCells.length;
  const rows = lines.length - first;
  const values = new Float64Array(rows * columns);
  const colName = (j: number) => `column ${j + 1}${header ? ` ('${header[j]}')` : ""}`;
  for (let i = first, o = 0; i < lines.length; i++) {
    const cells = lines[i].split(",");
    if (cells.length !== columns) {
      const blank = lines[i].trim() === "" ? " (a blank line)" : "";
      return fail(
        diag(
          "data/bad-csv",
          `${path}: line ${i + 1} has ${cells.length} column${cells.length === 1 ? "" : "s"}${blank}, line ${first + 1} has ${columns}`,
        ),
      );
    }
    for (let j = 0; j < columns; j++, o++) {
      const c = unquote(cells[j]);
      if (!NUMBER.test(c)) {
        const shown = c.length > 40 ? `${c.slice(0, 40)}…` : c;
        return fail(diag("data/bad-csv", `${path}: line ${i + 1}, ${colName(j)}: '${shown}' is not a number`));
      }
      values[o] = Number(c);
    }
  }
  return ok({ header, columns, values, rows });
}

function readTable(path: string): Result<Table> {
  const bytes = readInput(path, true);
  return bytes.ok ? parseTable(bytes.value.toString("utf8"), path) : bytes;
}

const labelColumn = (t: Table): number => (t.header ? t.header.findIndex((h) => h.toLowerCase() === LABEL_COLUMN) : -1);

/** Items of a CSV file: every column but `label`, which (when present) gives the labels. Item shape [columns]. */
export function loadCsvDataset(path: string, source: string = path): Result<Dataset> {
  const t = readTable(path);
  if (!t.ok) return t;
  const { header, columns, values, rows } = t.value;
  const li = labelColumn(t.value);
  const width = li < 0 ? columns : columns - 1;
  if (width === 0) return fail(diag("data/empty", `${path}: no value columns besides '${LABEL_COLUMN}'`));
  let pixels = values;
  let labels: Int32Array | null = null;
  if (li >= 0) {
    pixels = new Float64Array(rows * width);
    const raw = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      raw[i] = values[i * columns + li];
      pixels.set(values.subarray(i * columns, i * columns + li), i * width);
      pixels.set(values.subarray(i * columns + li + 1, (i + 1) * columns), i * width + li);
    }
    const l = toLabels(raw, `${path} (column '${header![li]}')`);
    if (!l.ok) return l;
    labels = l.value;
  }
  const ds = makeDataset(source, [width], pixels, labels);
  if (!ds.ok) return ds;
  const head = header ? "after a header row" : "no header row";
  const lab = li >= 0 ? `labels from column '${header![li]}'` : `no '${LABEL_COLUMN}' column (labels: --labels)`;
  return ok({ ...ds.value, notes: [`${path}: ${rows} rows of ${width} values (${head}); ${lab}`] });
}

/** Labels from a CSV file: its `label` column, or its only column. */
export function readCsvLabels(path: string): Result<Int32Array> {
  const t = readTable(path);
  if (!t.ok) return t;
  const { header, columns, values, rows } = t.value;
  const li = labelColumn(t.value);
  if (li < 0 && columns !== 1) {
    return fail(
      diag(
        "data/bad-labels",
        `${path}: ${columns} columns and none named '${LABEL_COLUMN}': a labels file has one column, or one named '${LABEL_COLUMN}'`,
      ),
    );
  }
  const j = li < 0 ? 0 : li;
  const raw = Float64Array.from({ length: rows }, (_, i) => values[i * columns + j]);
  return toLabels(raw, header ? `${path} (column '${header[j]}')` : path);
}
