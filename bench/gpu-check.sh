#!/usr/bin/env bash
# Measures the WebGPU backend on a lent GPU machine and writes JSON to $OUT (default ./gpu-check-out):
#   backends.json   `keypoints backends --json`: the adapter Dawn found (and why others were passed over)
#   bench-seed.jsonl the bench's rows for the seed network: wasm (batch 64), webgpu at batch 64, webgpu at the GPU batch
#   train-default.json summary.json of a default-preset training run on webgpu (time limit below)
#   env.txt         driver, ICD and loader found
# Requirements there: x86-64 Linux with the NVIDIA driver (its Vulkan ICD: nvidia_icd.json under
# /usr/local/nvidia/share/vulkan/icd.d/, /usr/share/vulkan/icd.d/ or /etc/vulkan/icd.d/; in a container
# NVIDIA_DRIVER_CAPABILITIES must include graphics), the Vulkan loader libvulkan.so.1, Node ≥ 20 and
# the built repo with node_modules. Whatever is missing is taken from .gpu-check/ (bench/gpu-pack.sh).
# Run from the repo root: bash bench/gpu-check.sh   (about 5 minutes; KEYPOINTS_GPU_TRAIN_MINUTES sets the run's limit)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
pack=.gpu-check
log() { echo "gpu-check: $*" | tee -a "$OUT/env.txt" >&2; }

# Node: on PATH, else the packed binary.
if ! command -v node >/dev/null; then
  if [ -f $pack/node.zst ]; then
    mkdir -p /tmp/kp-node/bin && zstd -d -q -f $pack/node.zst -o /tmp/kp-node/bin/node && chmod +x /tmp/kp-node/bin/node
    export PATH="/tmp/kp-node/bin:$PATH"
  else
    log "no node on PATH and no $pack/node.zst: install Node >= 20 or run bench/gpu-pack.sh here first"; exit 1
  fi
fi
# The repo's runtime: node_modules and the built CLI, else the packed ones.
if [ ! -d node_modules/webgpu ] || [ ! -f packages/cli/dist/keypoints.js ]; then
  [ -f $pack/bundle.tar.zst ] || { log "no node_modules/webgpu or built CLI, and no $pack/bundle.tar.zst"; exit 1; }
  zstd -d -q -c $pack/bundle.tar.zst | tar xf -
fi
# The Vulkan loader.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  for f in $pack/libvulkan1*.deb; do [ -f "$f" ] && dpkg -x "$f" / && ldconfig; done
fi
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || log "no Vulkan loader (libvulkan.so.1): install libvulkan1"
# The NVIDIA Vulkan driver (ICD): Dawn reaches the GPU through it.
icd=""
for d in /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
  for f in "$d"/nvidia*.json; do [ -f "$f" ] && { icd="$f"; break 2; }; done
done
if [ -n "$icd" ]; then export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"; else log "no NVIDIA Vulkan ICD json found"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/kp-xdg}"; mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
{ echo "node $(node --version)"; echo "icd ${icd:-none}"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2; } >> "$OUT/env.txt"

kp() { node packages/cli/dist/keypoints.js "$@"; }
kp backends --json > "$OUT/backends.json" 2>> "$OUT/env.txt"; cat "$OUT/backends.json" >&2
# Seed network: wasm and webgpu at the preset's batch (64), webgpu at the GPU batch (train/gpu-batch.ts).
timeout 240 node packages/cli/dist/keypoints.js bench --networks seed --backends wasm,webgpu,webgpu@gpu --steps 20 --no-pytorch --json > "$OUT/bench-seed.jsonl" 2>> "$OUT/env.txt"
echo "bench exit $?" >> "$OUT/env.txt"; cat "$OUT/bench-seed.jsonl" >&2
# The default preset on webgpu (GPU batch, √-scaled learning rate) on the faces96 slice or the full set.
data=""
for f in ../shared/data/faces96/train.csv.gz shared/data/faces96/train.csv.gz $pack/train.csv.gz; do [ -f "$f" ] && { data="$f"; break; }; done
minutes="${KEYPOINTS_GPU_TRAIN_MINUTES:-2}"
rm -rf /tmp/kp-gpu-run
timeout $((minutes * 60 + 120)) node packages/cli/dist/keypoints.js train --preset default --backend webgpu --time-limit "$minutes" ${data:+--data "$data"} --out /tmp/kp-gpu-run > "$OUT/train-default.log" 2>&1
echo "train exit $? (data: ${data:-synthetic})" >> "$OUT/env.txt"
cp /tmp/kp-gpu-run/summary.json "$OUT/train-default.json" 2>/dev/null || log "no summary.json from the training run (see train-default.log)"
