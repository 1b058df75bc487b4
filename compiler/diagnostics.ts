// Diagnostics as values: the front-end, the passes and the data readers collect them; only the CLI edge
// prints them (one line each) and exits with code 2. `throw` is kept for internal bugs.

export interface Diagnostic {
  /** Stable machine-readable code, e.g. "onnx/unsupported-op", "data/bad-shape". */
  readonly code: string;
  /** One line, names what is wrong: node name, op type, file, line. */
  readonly message: string;
}

export type Result<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(...diagnostics: Diagnostic[]): Result<T> => ({ ok: false, diagnostics });
export const diag = (code: string, message: string): Diagnostic => ({ code, message });

/** Error type for user-facing failures thrown across an async boundary; the CLI prints it as one line. */
export class UserError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join("; "));
    this.name = "UserError";
  }
}

/** Unwrap a Result or throw a UserError (used where an async pipeline needs exceptions). */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new UserError(r.diagnostics);
}
