#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs on a lent GPU machine into .gpu-check/ (git-ignored), under the
# device tool's 64 MiB carry limit: the built CLI and core, the production node_modules for linux-x64
# (zstd), this machine's node binary (zstd), Debian's Vulkan loader (libvulkan1 .deb) and a slice of
# the faces96 training CSV. Run here after `npx turbo run build`; then run gpu-check.sh there with
# carry [".gpu-check"]. Needs: zstd, apt-get (for the .deb), x86-64 Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${KEYPOINTS_GPU_DATA_ROWS:-800}"
data="${KEYPOINTS_GPU_DATA:-../shared/data/faces96/train.csv.gz}"
rm -rf .gpu-check && mkdir -p .gpu-check
[ -f packages/cli/dist/keypoints.js ] || { echo "gpu-pack: build first (npx turbo run build)" >&2; exit 1; }
# Production dependencies only, without other platforms' Dawn builds, source maps and browser bundles.
npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$PWD/||" | grep '^node_modules/' | sort -u > .gpu-check/deps.txt
tar cf - --exclude='webgpu/dist/darwin-*' --exclude='webgpu/dist/win32-*' --exclude='webgpu/dist/linux-arm64' --exclude='webgpu/build' \
  --exclude='*.map' --exclude='*.min.js' --exclude='*.es2017.js' --exclude='*.fesm.js' --exclude='*.esm.js' \
  -T .gpu-check/deps.txt packages/core/dist packages/cli/dist | zstd -19 -T0 -q -o .gpu-check/bundle.tar.zst
command -v node >/dev/null && zstd -19 -T0 -q -c "$(readlink -f "$(command -v node)")" > .gpu-check/node.zst
(cd .gpu-check && apt-get download libvulkan1 >/dev/null 2>&1) || echo "gpu-pack: could not download libvulkan1 (the GPU machine then needs its own Vulkan loader)" >&2
if [ -f "$data" ]; then
  # The header and the first $rows faces: a fixed slice, so runs on different machines compare.
  zcat "$data" | head -n $((rows + 1)) | gzip -9 > .gpu-check/train.csv.gz
fi
rm -f .gpu-check/deps.txt
du -b .gpu-check/* | awk '{t += $1; print} END {printf "gpu-pack: %.1f MiB in .gpu-check (the carry limit is 64 MiB with the tracked files)\n", t / 1048576}'
