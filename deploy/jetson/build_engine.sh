#!/usr/bin/env bash
# Build a TensorRT engine for an exported policy on the Jetson itself (engines are specific to the GPU,
# the TensorRT version and the shapes; build them where they run).
#
#   deploy/jetson/build_engine.sh <export folder> [engine file]
#
# Uses policy.onnx (fp32 weights) with --fp16 so TensorRT picks fp16 kernels per layer, at batch 1.
# The runtime can use the engine through onnxruntime's TensorRT provider instead (vla.runtime with
# provider="tensorrt" builds and caches its own engine); this script is for trtexec's timing report and
# for C++/Isaac ROS consumers that load plain engines.
set -euo pipefail
EXPORT="${1:?usage: build_engine.sh <export folder> [engine file]}"
ENGINE="${2:-$EXPORT/policy.fp16.engine}"
TRTEXEC="${TRTEXEC:-/usr/src/tensorrt/bin/trtexec}"
[ -x "$TRTEXEC" ] || { echo "trtexec not found at $TRTEXEC (set TRTEXEC=...)"; exit 1; }
[ -f "$EXPORT/policy.onnx" ] || { echo "$EXPORT/policy.onnx not found (run vla export first)"; exit 1; }

# Input shapes at batch 1, read from the export's config.json.
read -r CAMERAS SIZE STATE WORDS SENTENCE < <(python3 - "$EXPORT" <<'PY'
import json, sys
folder = sys.argv[1]
config = json.load(open(f"{folder}/config.json"))
manifest = json.load(open(f"{folder}/export.json"))
sentence = 384 if manifest.get("sentence_encoder") else 0
print(len(config["cameras"]), config["vision"]["image_size"], config["state_dim"],
      config["text"]["max_instruction_tokens"], sentence)
PY
)
SHAPES="images:1x${CAMERAS}x${SIZE}x${SIZE}x3,state:1x${STATE},words:1x${WORDS}"
[ "$SENTENCE" != 0 ] && SHAPES="$SHAPES,sentence:1x${SENTENCE}"

"$TRTEXEC" --onnx="$EXPORT/policy.onnx" --saveEngine="$ENGINE" --fp16 \
  --shapes="$SHAPES" --memPoolSize=workspace:1024 --builderOptimizationLevel=3 \
  --warmUp=500 --iterations=200 --avgRuns=50 --useCudaGraph
echo "engine: $ENGINE"
