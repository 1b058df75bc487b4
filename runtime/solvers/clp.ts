// Clp (Debian coinor-clp) as a Solver: an LP solver only, so a model with integer columns is refused
// rather than silently relaxed. Command line and solution files are shared with CBC (coin.ts).

import type { Solver } from "./types.js";
import { coinBackend } from "./coin.js";
import { externalSolver, type ExternalBackend } from "./external.js";

export const clpBackend = (executable = "clp"): ExternalBackend => coinBackend("clp", executable);
export const createClp = (opts: { executable?: string } = {}): Solver => externalSolver(clpBackend(opts.executable));
