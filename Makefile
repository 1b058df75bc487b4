# robustc: two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
# `make build NODE_MODULES=` builds without the install step: package.json's prepack (npm pack runs in an
# installed checkout, and must not run npm ci).
NODE_MODULES := node_modules/.package-lock.json
# onnxruntime-node's install step downloads CUDA libraries; CPU inference needs none of them.
export ONNXRUNTIME_NODE_INSTALL := skip
export ONNXRUNTIME_NODE_INSTALL_CUDA := skip

SOURCES := $(shell find compiler runtime grammar api -name '*.ts' 2>/dev/null)
MODEL ?= examples/models/mnist_lenet.onnx
DATA ?= mnist:test

.PHONY: all install deps build lint format test demo bench clean models typecheck baseline-accept table1 table1-quick

all: build

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES)

# Debian packages the tests need: the upstream ONNX operator test vectors (libonnx-testdata); the external
# LP/MIP solvers (glpk-utils, coinor-clp, coinor-cbc); redis-server for the measure --queue tests (they start
# their own on a free port). apt-get runs (update once, then install) only when one of them is missing; with
# sudo when not root and sudo exists.
DEBIAN_PACKAGES := libonnx-testdata glpk-utils coinor-clp coinor-cbc redis-server
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# tsc leaves the outputs of a moved or deleted source behind; they would ship in npm pack (and could hide a
# missing module): every output without its source is removed.
dist/.stamp: $(NODE_MODULES) $(SOURCES) tsconfig.json tsconfig.build.json
	npx tsc -p tsconfig.build.json
	@cd dist && find . -type f \( -name '*.js' -o -name '*.d.ts' -o -name '*.js.map' \) | while read -r f; do \
	  s=$${f%.js.map}; s=$${s%.d.ts}; s=$${s%.js}; [ -f "../$$s.ts" ] || rm -f "$$f"; done
	@touch $@

build: dist/.stamp

typecheck: $(NODE_MODULES)
	npx tsc -p tsconfig.json --noEmit

# Import rules (.dependency-cruiser.cjs): no cycles; the compiler imports nothing from the runtime; the runtime
# imports the compiler only through compiler/index.ts; grammar/ only the compiler's IR, diagnostics and LpModel;
# api/ (the package's public API) the runtime and compiler/index.ts, and nothing imports api/.
LINT_DIRS := compiler runtime grammar api
# The formatter (Prettier, .prettierrc.json: a line width of 120) checks every TypeScript file; `make format` writes.
FORMAT_GLOBS := "compiler/**/*.ts" "runtime/**/*.ts" "grammar/**/*.ts" "api/**/*.ts" "test/**/*.ts" "test/**/*.mjs" "bench/**/*.ts" "bin/*.js" "*.ts" ".dependency-cruiser.cjs"
lint: $(NODE_MODULES)
	npx depcruise --config .dependency-cruiser.cjs $(LINT_DIRS)
	npx prettier --check --log-level warn --no-error-on-unmatched-pattern $(FORMAT_GLOBS)

format: $(NODE_MODULES)
	npx prettier --write --log-level warn --no-error-on-unmatched-pattern $(FORMAT_GLOBS)

# The test files run in TEST_JOBS mocha worker processes (each loads tsx: .mocharc.json), handed out in this
# order: the slowest files first (each runs a few minutes of LPs on one worker while the other works through
# the rest), then every other test file. Tests use their own temporary folders and free ports.
TEST_JOBS ?= 2
SLOW_TESTS := $(wildcard test/compiler/backend/cross-solver.test.ts test/runtime/lazy/lazy-loop.test.ts \
  test/runtime/commands/backend.test.ts test/runtime/commands/before-refactor.test.ts test/runtime/commands/before-issue-22.test.ts test/properties/rho-modes.test.ts test/runtime/run/queue/queue.test.ts \
  test/reliability/bad-inputs.test.ts test/runtime/cli.test.ts test/reliability/numerics.test.ts \
  test/reliability/resume.test.ts)
TEST_FILES = $(SLOW_TESTS) $(filter-out $(SLOW_TESTS),$(sort $(shell find test -name '*.test.ts')))

# The import rules first; then the build and the type check (one tsc each) side by side; then the tests.
test: deps lint
	@$(MAKE) --no-print-directory -j2 build typecheck
	npx mocha --parallel --jobs $(TEST_JOBS) $(TEST_FILES)

DEMO_OUT ?= out/demo
DEMO_POINTS ?= 100
JOBS ?= 2

# The main job: robustness of mnist_lenet on the first 100 mnist:test digits at eps = 20: per digit the
# bracket lower <= rho <= upper (a checked example, a certified bound) with the paper's rho_hat beside it;
# phi(20) as an interval on the terminal; report.json, points.jsonl/csv, adversarial.npy, cdf.svg in out/demo.
demo: build
	node bin/robustc.js inspect $(MODEL)
	@echo
	node bin/robustc.js predict $(MODEL) --data $(DATA) --summary
	@echo
	rm -rf $(DEMO_OUT)
	node bin/robustc.js measure $(MODEL) --data $(DATA) --limit $(DEMO_POINTS) --eps 20 --jobs $(JOBS) --out $(DEMO_OUT)

# Figures, never assertions. Sizes are chosen to finish in about 15 minutes on 2 cores; each script takes
# larger settings through its environment (see its header).
bench: build
	npx tsx bench/evaluators.ts
	MODELS=mnist_mlp,mnist_lenet SECONDS=0.5 npx tsx bench/engine.ts
	POINTS=50 FULL_POINTS=3 npx tsx bench/rho.ts mnist_mlp mnist_lenet
	CROSS_SOLVER_SKIP=glpk npx tsx bench/cross-solver.ts mnist_mlp 20
	npx tsx bench/queue.ts mnist_mlp 40
	POINTS=10 npx tsx bench/bracket.ts
	POINTS=5 SECONDS=30 npx tsx bench/exact.ts

# Retrain the example models (needs Debian's python3-torch and python3-onnx; never needed by tests or demo).
models:
	bash examples/train/train_all.sh

# The paper's Table 1 and Figure 3 (adversarial fine-tuning of mnist_lenet_caffe and mnist_lenet by L-BFGS-B and by
# the bracket's examples; needs python3-torch and python3-onnx): out/table1/table1.md, table1.json and
# fig3{a,b,c}.svg. Sizes: TRAIN_POINTS (1000), TEST_POINTS (500), BASES, JOBS (see examples/table1.sh).
# QUEUE=redis://HOST:PORT/NAME hands its attacks and measurements to `robustc worker` processes on that queue.
table1: build
	bash examples/table1.sh

# A smoke run of the same pipeline on a few points (a few minutes); out/table1-quick.
table1-quick: build
	OUT=out/table1-quick TRAIN_POINTS=$${TRAIN_POINTS:-4} NIN_TRAIN_POINTS=$${NIN_TRAIN_POINTS:-4} TEST_POINTS=$${TEST_POINTS:-3} EPOCHS=1 TRAIN_SUBSET=1000 bash examples/table1.sh

# Promote changed golden files (test/golden/) after reviewing their diff.
baseline-accept: $(NODE_MODULES)
	UPDATE_BASELINES=1 npx mocha test/compiler/backend/golden.test.ts
	git diff --stat test/golden

clean:
	rm -rf dist
