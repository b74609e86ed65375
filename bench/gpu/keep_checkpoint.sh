#!/usr/bin/env bash
# keep_checkpoint.sh CHECKPOINT DEST: the checkpoint folder's files without its optimizer state (twice the
# weights, which the borrowed machine's 64 MB return limit cannot hold as well), for recipes/gpu_*.sh and
# bench/gpu/device_run.sh.
set -euo pipefail
[ -f "$1/model.safetensors" ] || { echo "keep_checkpoint: no checkpoint in $1" >&2; exit 1; }
mkdir -p "$2"
find "$1" -maxdepth 1 -type f ! -name 'optimizer*' -exec cp {} "$2/" \;
