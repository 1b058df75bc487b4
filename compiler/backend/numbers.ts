// The one number formatter of every file robustc writes: the shortest string that round-trips to the same
// double, `inf` / `-inf` for infinities, and never `-0`. Golden files diff cleanly because of it.

export function formatNumber(v: number): string {
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (Number.isNaN(v)) throw new Error("internal: NaN in an LP");
  if (v === 0) return "0";
  // JavaScript's Number→String is the shortest round-trip representation (ECMA-262 Number::toString).
  return String(v);
}
