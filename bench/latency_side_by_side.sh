#!/usr/bin/env bash
# Runtime latency of two policies side by side, on one quiet machine, in one run: each is exported (fp32
# and int8) and `vla bench latency` measures torch eager, the fp32 runtime and the int8 runtime, first
# policy A, then B, then A again (so a drift of the machine shows as A's two runs disagreeing).
#   bash bench/latency_side_by_side.sh policies/tabletop_nano runs/<new>/checkpoints/last results/latency_ab
# Writes <out>/{a1,b,a2}.json and prints each p50.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
A="$1"; B="$2"; OUT="$3"
CALLS="${CALLS:-300}"; THREADS="${THREADS:-2}"
mkdir -p "$OUT"
for policy in "$A" "$B"; do
  name=$(echo "$policy" | tr '/' '_')
  [ -d "$OUT/export_$name" ] || "$PY" -m vla export --policy "$policy" --out "$OUT/export_$name" --variant fp32 --variant int8
done
measure() {  # policy, json
  name=$(echo "$1" | tr '/' '_')
  "$PY" -m vla bench latency --policy "$1" --export "$OUT/export_$name" --threads "$THREADS" \
    --calls "$CALLS" --variant fp32 --variant int8 --json "$2"
}
measure "$A" "$OUT/a1.json"
measure "$B" "$OUT/b.json"
measure "$A" "$OUT/a2.json"
