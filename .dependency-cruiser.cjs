// Import rules for the source tree (make lint; README "Architecture"): the compiler imports nothing from the
// runtime; the runtime imports the compiler only through compiler/index.ts; grammar/ (constraint IR text, LP,
// MPS, VNN-LIB) reads and writes the compiler's IR and reports its diagnostics, nothing else of it; api/ (the
// package's public API) sits on top: the runtime and compiler/index.ts below it, nothing imports it; no import
// cycles. test/ and bench/ may import anything and are not cruised (make lint names compiler runtime grammar
// api). Type-only imports count like any other (tsPreCompilationDeps).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle among compiler/, runtime/, grammar/ and api/ modules (type-only imports included).",
      from: { path: "^(compiler|runtime|grammar|api)/" },
      to: { circular: true },
    },
    {
      name: "no-folder-cycle",
      scope: "folder",
      severity: "error",
      comment:
        "An import cycle between folders (runtime/rho -> runtime/attacks -> runtime/rho): each folder is a layer that imports only the layers below it.",
      from: { path: "^(compiler|runtime|grammar|api)/" },
      to: { circular: true },
    },
    {
      name: "compiler-not-to-runtime",
      severity: "error",
      comment: "The compiler imports nothing from the runtime.",
      from: { path: "^compiler/" },
      to: { path: "^runtime/" },
    },
    {
      name: "runtime-to-compiler-via-index",
      severity: "error",
      comment: "The runtime imports the compiler only through its public API, compiler/index.ts.",
      from: { path: "^runtime/" },
      to: { path: "^compiler/", pathNot: "^compiler/index\\.ts$" },
    },
    {
      name: "grammar-to-compiler-ir-only",
      severity: "error",
      comment:
        "grammar/ uses the compiler's IR (compiler/ir/), its diagnostics, the LpModel and the number format it reads and writes; nothing else of the compiler.",
      from: { path: "^grammar/" },
      to: {
        path: "^compiler/",
        pathNot: "^compiler/(ir/.+|diagnostics|backend/lp-model|backend/numbers)\\.ts$",
      },
    },
    {
      name: "grammar-not-to-runtime",
      severity: "error",
      comment: "grammar/ imports nothing from the runtime.",
      from: { path: "^grammar/" },
      to: { path: "^runtime/" },
    },
    {
      name: "api-to-compiler-via-index",
      severity: "error",
      comment: "api/ imports the compiler only through compiler/index.ts (and the runtime anywhere); not grammar/.",
      from: { path: "^api/" },
      to: { path: "^(compiler|grammar)/", pathNot: "^compiler/index\\.ts$" },
    },
    {
      name: "nothing-to-api",
      severity: "error",
      comment: "api/ is the top layer: compiler/, runtime/ and grammar/ never import it.",
      from: { path: "^(compiler|runtime|grammar)/" },
      to: { path: "^api/" },
    },
    {
      name: "source-not-to-test-or-bench",
      severity: "error",
      comment: "compiler/, runtime/, grammar/ and api/ never import from test/ or bench/.",
      from: { path: "^(compiler|runtime|grammar|api)/" },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that resolves to no file (a moved module, a typo): the rules above could not see it.",
      from: { path: "^(compiler|runtime|grammar|api)/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Count `import type` and type-only re-exports: they tie modules together as much as value imports do.
    tsPreCompilationDeps: true,
    // NodeNext imports name the emitted .js file: dependency-cruiser resolves `./x.js` to ./x.ts when no x.js exists.
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
    moduleSystems: ["es6", "cjs"],
    reporterOptions: { text: { highlightFocused: true } },
  },
};
