#!/usr/bin/env bash
# Entry point on the borrowed GPU machine (the `device` tool; /work/.library/device/README.md): it has
# torch, transformers and onnxruntime but no MuJoCo, LeRobot or EGL loader, and no network. Carried in:
# .gl/ (Debian's libglvnd/EGL packages), .whl/ (wheels: bench/gpu/wheels.txt) and .whl/sentences.npz
# (MiniLM embeddings of every suite instruction: the 90 MB encoder does not fit the 64 MB transfer).
# Then RECIPE (recipes/gpu_baselines_tabletop.sh unless set: it trains and evaluates ACT and Diffusion Policy
# beside the shipped policy; recipes/gpu_stream_tabletop.sh trains the shipped policy on)
# with the settings passed in the environment; what it keeps comes back in $OUT as keep.tgz.part00, 01, ...
# (cat them, then tar -xzf).
set -uo pipefail
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PY=python3 MUJOCO_GL=egl VLA_SENTENCE_EMBEDDINGS="$PWD/.whl/sentences.npz"
egl_vendor=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl_vendor" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl_vendor"
export PYTHONUNBUFFERED=1 WORK=/tmp/vla_gpu KEEP=/tmp/vla_gpu/keep
mkdir -p "$KEEP"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
echo "cores $(nproc)"; free -g | head -2
python3 -c "import mujoco, torch, transformers; print('mujoco', mujoco.__version__, 'torch', torch.__version__, \
'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" || exit 1
python3 -c "import sim; from sim.env import TabletopEnv; o, _ = TabletopEnv().reset(seed=0); \
print('render ok, front mean', o['pixels']['front'].mean())" || exit 1
# The recipe stops in time for the packing below (the tool's call limit is 600 s).
timeout "${RECIPE_SECONDS:-420}" bash "${RECIPE:-recipes/gpu_baselines_tabletop.sh}" 2>&1 | tee "$KEEP/run.log"
status=${PIPESTATUS[0]}
# A recipe stopped by the timeout before it copied its checkpoint: keep the newest one saved (no optimizer).
last="$WORK/runs/nano/checkpoints/last"
if [ ! -f "$KEEP/nano_checkpoint/model.safetensors" ] && [ -f "$last/model.safetensors" ]; then
  bash bench/gpu/keep_checkpoint.sh "$last" "$KEEP/nano_checkpoint"
fi
# nano's GPU speed figures (up to 30 s; BENCH_POLICY=0 skips them, e.g. for the baselines' calls).
if [ "${BENCH_POLICY:-1}" = 1 ]; then
  timeout 30 python3 -m vla bench policy --device cuda --batch-size 128 --train-steps 30 --infer-calls 200 \
    --json "$KEEP/bench_policy_cuda.json" 2>&1 | tail -n 4
fi
# Everything kept, as at most 8 files of at most 16 MB (the tool's limits): one archive, split.
tar -C "$KEEP" -czf /tmp/keep.tgz . && split -b 15M -d /tmp/keep.tgz "${OUT:-/tmp/out}/keep.tgz.part"
ls -la "${OUT:-/tmp/out}"
exit "$status"
