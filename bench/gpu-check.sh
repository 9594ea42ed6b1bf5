#!/usr/bin/env bash
# Measures the WebGPU backend on a GPU machine and writes to $OUT (default ./gpu-check-out):
#   env.txt        node, Vulkan loader and driver (ICD), nvidia-smi, and each step's exit code
#   backends.json  `keypoints backends --json`: the adapter Dawn found, and why others were passed over
#   bench.jsonl    bench records of the seed network: wasm (batch 64), webgpu at 64, webgpu at the GPU batch
#   train.log, summary.json, metrics.jsonl   a default-preset training run on webgpu under a time limit
#   report.md      the table to quote (bench/gpu-report.mjs), also printed at the end
# What the machine lacks is taken from .gpu-check/ (bench/gpu-pack.sh): Node, the built CLI with its
# node_modules (Dawn included), the Vulkan loader, the faces96 data. No network is needed.
# Run from the repo root, as root where the Vulkan loader must be unpacked: bash bench/gpu-check.sh
# Settings (env): KEYPOINTS_GPU_NETWORKS (seed), KEYPOINTS_GPU_BACKENDS (wasm,webgpu,webgpu@gpu),
# KEYPOINTS_GPU_STEPS (20), KEYPOINTS_GPU_TRAIN_PRESET (default), KEYPOINTS_GPU_TRAIN_MINUTES (2),
# KEYPOINTS_GPU_TRAIN_LIMIT (rows; all), KEYPOINTS_GPU_BENCH_SECONDS (210, shared by the bench rows),
# KEYPOINTS_GPU_TRAIN_SECONDS (the training step's hard limit; the time limit + 90 s),
# KEYPOINTS_GPU_CHECK_SOFTWARE=1 (rehearse on SwiftShader).
# About 6 minutes with the defaults; each step has its own time limit (then SIGTERM, and SIGKILL soon
# after: a trainer stopping on SIGTERM first finishes its batch and saves a checkpoint).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
pack=$PWD/.gpu-check
log() { echo "gpu-check: $*" | tee -a "$OUT/env.txt" >&2; }
unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
networks="${KEYPOINTS_GPU_NETWORKS:-seed}"
backends="${KEYPOINTS_GPU_BACKENDS:-wasm,webgpu,webgpu@gpu}"
steps="${KEYPOINTS_GPU_STEPS:-20}"
preset="${KEYPOINTS_GPU_TRAIN_PRESET:-default}"
minutes="${KEYPOINTS_GPU_TRAIN_MINUTES:-2}"
limit="${KEYPOINTS_GPU_TRAIN_LIMIT:-}"
t0=$(date +%s)
log "start $(date -u +%FT%TZ) on $(uname -m), $(nproc) cores"

# Node: the packed binary (the same Node as the figures it is compared with), else the one on PATH.
# Unpacked beside and renamed: a node still running from an earlier try keeps its file (no ETXTBSY).
if [ -f "$pack/node.xz" ]; then
  mkdir -p "$pack/bin" && unxz "$pack/node.xz" > "$pack/bin/node.new" && chmod +x "$pack/bin/node.new" && mv -f "$pack/bin/node.new" "$pack/bin/node" \
    && export PATH="$pack/bin:$PATH" || log "could not unpack $pack/node.xz; trying the node on PATH"
fi
command -v node >/dev/null || { log "no node: run bench/gpu-pack.sh where Node is, and carry .gpu-check"; exit 1; }
# The built CLI and its node_modules.
if [ -f "$pack/bundle.tar.xz" ]; then unxz "$pack/bundle.tar.xz" | tar xf - || { log "could not unpack $pack/bundle.tar.xz"; exit 1; }; fi
[ -f packages/cli/dist/keypoints.js ] && [ -d node_modules/webgpu ] || { log "no built CLI or node_modules/webgpu: npm ci && npm run build, or carry .gpu-check"; exit 1; }
# The Vulkan loader (libvulkan.so.1) and glvnd's libGLdispatch, which NVIDIA's Vulkan driver links to.
# (grep without -q: -q stops reading early, and under pipefail ldconfig's SIGPIPE then reads as "missing".)
# A rehearsal never writes into /: its machine's own loader is the one to use.
if [ "${KEYPOINTS_GPU_CHECK_SOFTWARE:-}" != 1 ] && ! ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; then
  for f in "$pack"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" / && log "unpacked $(basename "$f")"; done
  ldconfig 2>/dev/null
fi
ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null || log "no Vulkan loader (libvulkan.so.1): Dawn will find no adapter"
# The Vulkan driver (ICD) Dawn reaches the GPU through: NVIDIA's, or SwiftShader for a rehearsal.
icd=""
if [ "${KEYPOINTS_GPU_CHECK_SOFTWARE:-}" = 1 ]; then
  icd=/usr/lib/chromium/vk_swiftshader_icd.json
  export KEYPOINTS_WEBGPU_ALLOW_SOFTWARE=1
  log "rehearsal on SwiftShader (software): figures say nothing about a GPU"
else
  for d in /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
    for f in "$d"/nvidia*.json; do [ -f "$f" ] && { icd="$f"; break 2; }; done
  done
fi
if [ -n "$icd" ]; then export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"; else log "no NVIDIA Vulkan driver json found; the loader's own search decides"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/kp-xdg-$$}"; mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
{
  echo "node $(node --version) ($(command -v node))"
  echo "icd ${icd:-none}"
  ldconfig -p 2>/dev/null | grep -i 'libvulkan\|libGLX_nvidia\|libGLdispatch' | sed 's/^/lib /'
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2
  echo "unpacked in $(( $(date +%s) - t0 )) s"
} >> "$OUT/env.txt"

kp() { node packages/cli/dist/keypoints.js "$@"; }
timeout -k 10 60 node packages/cli/dist/keypoints.js backends --json > "$OUT/backends.json" 2>> "$OUT/env.txt"
echo "backends exit $?" >> "$OUT/env.txt"
cat "$OUT/backends.json" >&2
# The bench: each measurement in its own process, 3 warm-up steps, then $steps timed ones.
# One bench call per backend, each with its share of the time: a row that hangs or fails loses only itself.
rows=(${backends//,/ })
share=$(( ${KEYPOINTS_GPU_BENCH_SECONDS:-210} / ${#rows[@]} ))
: > "$OUT/bench.jsonl"
for b in "${rows[@]}"; do
  timeout -k 10 "$share" node packages/cli/dist/keypoints.js bench --networks "$networks" --backends "$b" --steps "$steps" --no-pytorch --json >> "$OUT/bench.jsonl" 2>> "$OUT/env.txt"
  echo "bench $b exit $? after $(( $(date +%s) - t0 )) s" >> "$OUT/env.txt"
done

# The training run: faces96 when carried (else the synthetic set), the GPU batch and its scaled learning rate.
data=""
if [ -f "$pack/faces/pixels.u8.xz" ]; then
  # gpu-pack.sh carried the pixels as bytes; gpu-faces.mjs rebuilds the CSV and checks its SHA-256.
  unxz "$pack/faces/pixels.u8.xz" > "$pack/faces/pixels.u8" && unxz "$pack/faces/labels.txt.xz" > "$pack/faces/labels.txt" \
    && node bench/gpu-faces.mjs join "$pack/faces" "$pack/train.csv" 2>> "$OUT/env.txt" && data="$pack/train.csv" \
    || log "could not rebuild faces96's train.csv from $pack/faces: training on the synthetic set"
  echo "faces rebuilt after $(( $(date +%s) - t0 )) s" >> "$OUT/env.txt"
elif [ -f ../shared/data/faces96/train.csv.gz ]; then data=../shared/data/faces96/train.csv.gz; fi
run=$(mktemp -d)/run
# The run's hard limit: its time limit and 90 s for loading the data and compiling the GPU's pipelines.
train_s="${KEYPOINTS_GPU_TRAIN_SECONDS:-$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 + 90 }')}"
timeout -k 20 "$train_s" node packages/cli/dist/keypoints.js train --preset "$preset" --backend webgpu --time-limit "$minutes" --seed 1 \
  ${data:+--data "$data"} ${limit:+--limit "$limit"} --out "$run" > "$OUT/train.log" 2>&1
echo "train exit $? after $(( $(date +%s) - t0 )) s (data: ${data:-synthetic}${limit:+, first $limit rows})" >> "$OUT/env.txt"
cp "$run/summary.json" "$OUT/summary.json" 2>/dev/null || log "no summary.json from the training run (see train.log)"
cp "$run/metrics.jsonl" "$OUT/metrics.jsonl" 2>/dev/null
node bench/gpu-report.mjs "$OUT" > "$OUT/report.md" 2>> "$OUT/env.txt"
tail -n 25 "$OUT/env.txt" >&2
cat "$OUT/report.md"
