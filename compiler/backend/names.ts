// LP/MPS names derived from ONNX node names: "/conv1/Conv" → "conv1_Conv". Names hold only
// [A-Za-z0-9_] so that every LP and MPS reader accepts them, and never start with a digit.

export function sanitizeName(name: string): string {
  let s = name
    .replace(/[^A-Za-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (s === "") s = "n";
  if (/^[0-9]/.test(s)) s = `n${s}`;
  return s;
}
