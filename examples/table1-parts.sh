#!/usr/bin/env bash
# The finished parts of a `make table1` run, compact enough to commit, and back: a run longer than a sitting is
# committed part by part and resumed on a fresh clone.
#   bash examples/table1-parts.sh save [OUT] [DEST]      OUT (out/table1) -> DEST (examples/models/finetuned/table1-full)
#   bash examples/table1-parts.sh restore [DEST] [OUT]   DEST -> OUT, then `make table1` goes on from there
# Saved per finished measurement (a report.json): report.json, run.json and points.jsonl without the examples'
# pixels (bench/table1.ts reads the distances; examples/table1.sh reuses a directory with a report.json). Per
# finished fine-tuning chain (finetune.json): finetune.json, round<t>.json, round<t>.onnx and per round the
# augment's manifest.json and points.jsonl (the fine-tuning examples' distances; not their images: the chain is
# reused whole); of a chain still running, each finished round whole (its net, summary and examples, images
# included: the next round trains on them). Also settings.json, table1.md, table1.json and the figures where
# present. Unfinished parts are skipped: they stay in OUT, which resumes them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:-}"
case "$what" in
  save) from="${2:-out/table1}"; to="${3:-examples/models/finetuned/table1-full}" ;;
  restore) from="${2:-examples/models/finetuned/table1-full}"; to="${3:-out/table1}" ;;
  *) echo "usage: bash examples/table1-parts.sh save|restore [FROM] [TO]" >&2; exit 2 ;;
esac
if [ ! -d "$from" ]; then echo "table1-parts: $from is not a directory" >&2; exit 2; fi
mkdir -p "$to/measure"
n=0
for f in settings.json table1.md table1.json fig3a.svg fig3b.svg fig3c.svg; do
  if [ -f "$from/$f" ]; then cp "$from/$f" "$to/$f"; fi
done
for d in "$from"/measure/*/; do
  [ -f "$d/report.json" ] || continue
  name=$(basename "$d")
  if [ "$what" = restore ] && [ -f "$to/measure/$name/report.json" ]; then continue; fi
  mkdir -p "$to/measure/$name"
  cp "$d/report.json" "$d/run.json" "$to/measure/$name/"
  # The examples' pixels (base64) left out: the distances and statuses are what the table reads.
  node -e '
    const fs = require("fs");
    const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l !== "");
    fs.writeFileSync(process.argv[2], lines.map((l) => { const p = JSON.parse(l); delete p.example; return JSON.stringify(p); }).join("\n") + "\n");
  ' "$d/points.jsonl" "$to/measure/$name/points.jsonl"
  n=$((n + 1))
done
for c in "$from"/*/; do
  name=$(basename "$c")
  [ "$name" = measure ] && continue
  if [ -f "$c/finetune.json" ]; then
    if [ "$what" = restore ] && [ -f "$to/$name/finetune.json" ]; then continue; fi
    mkdir -p "$to/$name"
    cp "$c"/finetune.json "$c"/round*.json "$c"/round*.onnx "$to/$name/"
    for a in "$c"/aug*/; do
      [ -f "$a/manifest.json" ] || continue
      mkdir -p "$to/$name/$(basename "$a")"
      cp "$a/manifest.json" "$a/points.jsonl" "$to/$name/$(basename "$a")/"
    done
    n=$((n + 1))
    continue
  fi
  # A chain still running: its finished rounds (round<t>.json) whole, the examples' images included (the next
  # round trains on them), so that finetune.py reuses them.
  for r in "$c"/round*.json; do
    [ -f "$r" ] || continue
    t=$(basename "$r" .json)
    t=${t#round}
    [ -f "$c/round$t.onnx" ] && [ -f "$c/aug$t/manifest.json" ] || continue
    if [ "$what" = restore ] && [ -f "$to/$name/round$t.json" ]; then continue; fi
    mkdir -p "$to/$name/aug$t"
    cp "$c/round$t.json" "$c/round$t.onnx" "$to/$name/"
    cp "$c/aug$t"/* "$to/$name/aug$t/"
    n=$((n + 1))
  done
done
echo "table1-parts: $what: $n finished part(s) from $from in $to"
