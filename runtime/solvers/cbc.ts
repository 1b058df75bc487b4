// CBC (Debian coinor-cbc) as a Solver: LPs and MIPs (relative gap MIP_GAP). Command line and solution
// files are shared with Clp (coin.ts).

import type { Solver } from "./types.js";
import { coinBackend } from "./coin.js";
import { externalSolver, type ExternalBackend } from "./external.js";

export const cbcBackend = (executable = "cbc"): ExternalBackend => coinBackend("cbc", executable);
export const createCbc = (opts: { executable?: string } = {}): Solver => externalSolver(cbcBackend(opts.executable));
