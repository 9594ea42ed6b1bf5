#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs on a GPU machine that has no network and no Node into
# .gpu-check/ (git-ignored), under the device tool's 64 MiB limit for everything that travels
# (the tracked files, ~3 MiB, count too). xz, because the far side may lack zstd; gpu-check.sh
# unpacks with xz or, failing that, Python's lzma.
#   node.xz          this machine's node binary, stripped of its debug info (x86-64 Linux, glibc)
#   bundle.tar.xz    packages/{core,cli}/dist and the CLI's production node_modules: linux-x64 Dawn
#                    only, no source maps or browser bundles, face-api's landmark and small detector
#                    weights only, the two DejaVu fonts the curves use
#   debs/*.deb       the Vulkan loader and glvnd's dispatch library (NVIDIA's Vulkan driver needs both)
#   faces/           faces96 train.csv, whole (the docs' wasm figures were measured on all of it), split by
#                    bench/gpu-faces.mjs: pixels.u8.xz (the Image column as bytes), labels.txt.xz (the rest)
#                    and sha256; gpu-check.sh rebuilds the same CSV byte for byte. As text it packs to
#                    30.2 MiB at xz -1, as bytes to 15.5 MiB at xz -9 with the delta filter.
# Run here after `npm run build`. Needs: xz, strip, apt-get download (for the .debs), x86-64 Linux.
# KEYPOINTS_GPU_DATA: another training CSV (.csv.gz); KEYPOINTS_GPU_DATA_ROWS: only its first N rows;
# KEYPOINTS_GPU_XZ_LEVEL: xz level (9).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -m)" = x86_64 ] || { echo "gpu-pack: the GPU machine is x86-64; pack on an x86-64 Linux machine" >&2; exit 1; }
[ -f packages/cli/dist/keypoints.js ] && [ -f packages/core/dist/index.js ] || { echo "gpu-pack: build first (npm run build)" >&2; exit 1; }
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "gpu-pack: node_modules/webgpu (Dawn) is missing: npm ci" >&2; exit 1; }
data="${KEYPOINTS_GPU_DATA:-../shared/data/faces96/train.csv.gz}"
rows="${KEYPOINTS_GPU_DATA_ROWS:-}"
# xz level: 9 packs smallest. 1 is quicker but larger: with the whole faces96 set it made 71.3 MiB, over the limit.
level="${KEYPOINTS_GPU_XZ_LEVEL:-9}"
pack=.gpu-check
rm -rf $pack && mkdir -p $pack/debs
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT

# The CLI's production dependency tree (not the docs' or the extension's).
npm ls --omit=dev --all --parseable -w @keypoints/cli 2>/dev/null | sed "s|^$PWD/||" | grep '^node_modules/' | sort -u > "$tmp/deps"
grep -qx 'node_modules/webgpu' "$tmp/deps" || { echo "gpu-pack: webgpu is not in the CLI's dependency tree (npm ci without optional dependencies?)" >&2; exit 1; }
tar cf - \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/webgpu/build' \
  --exclude='*.map' --exclude='*.min.js' --exclude='*.es2017.js' --exclude='*.fesm.js' --exclude='*.esm.js' --exclude='*.d.ts' \
  --exclude='node_modules/@types' --exclude='node_modules/@webgpu/types' --exclude='node_modules/webgpu/node_modules/@webgpu/types' \
  --exclude='node_modules/@vladmandic/face-api/demo' --exclude='node_modules/@vladmandic/face-api/dist' --exclude='node_modules/@vladmandic/face-api/src' \
  --exclude='node_modules/@vladmandic/face-api/model/age_gender*' --exclude='node_modules/@vladmandic/face-api/model/face_expression*' \
  --exclude='node_modules/@vladmandic/face-api/model/face_recognition*' --exclude='node_modules/@vladmandic/face-api/model/ssd_mobilenetv1*' \
  --exclude='node_modules/@vladmandic/face-api/model/face_landmark_68_tiny*' \
  --exclude='node_modules/dejavu-fonts-ttf/ttf/*Condensed*' --exclude='node_modules/dejavu-fonts-ttf/ttf/*Oblique*' --exclude='node_modules/dejavu-fonts-ttf/ttf/*ExtraLight*' \
  --exclude='node_modules/dejavu-fonts-ttf/ttf/DejaVuSerif*' --exclude='node_modules/dejavu-fonts-ttf/ttf/DejaVuMath*' --exclude='node_modules/dejavu-fonts-ttf/ttf/DejaVuSansMono*' \
  --exclude='node_modules/dejavu-fonts-ttf/status.txt' --exclude='node_modules/dejavu-fonts-ttf/fontconfig' \
  -T "$tmp/deps" packages/core/package.json packages/core/dist packages/cli/package.json packages/cli/dist packages/cli/bin \
  | xz -$level -T0 > $pack/bundle.tar.xz
# The two fonts the curves use (report/svg.ts) must have survived the exclusions.
xz -dc $pack/bundle.tar.xz | tar tf - > "$tmp/list"
for f in DejaVuSans.ttf DejaVuSans-Bold.ttf; do
  grep -q "dejavu-fonts-ttf/ttf/$f\$" "$tmp/list" || { echo "gpu-pack: $f left out of the bundle" >&2; exit 1; }
done

strip -o "$tmp/node" "$(readlink -f "$(command -v node)")"
xz -$level -T0 -c "$tmp/node" > $pack/node.xz
(cd $pack/debs && apt-get download libvulkan1 libglvnd0 >/dev/null) || echo "gpu-pack: could not download libvulkan1/libglvnd0 (the GPU machine then needs its own Vulkan loader)" >&2

if [ -f "$data" ]; then
  # A fixed file (or its first N faces): runs on different machines then train on the same faces.
  # The pixels as bytes, not decimal text: a third smaller once packed (see the header).
  mkdir -p $pack/faces "$tmp/faces"
  node bench/gpu-faces.mjs split "$data" "$tmp/faces" $rows
  # xz's delta filter at one image row (96 bytes): each pixel stored as its difference from the pixel
  # above, which is small on a face; 15.5 MiB at xz -9 against 19.2 MiB without it.
  xz --delta=dist=96 --lzma2=preset=$level -T0 -c "$tmp/faces/pixels.u8" > $pack/faces/pixels.u8.xz
  xz -$level -T0 -c "$tmp/faces/labels.txt" > $pack/faces/labels.txt.xz
  cp "$tmp/faces/sha256" $pack/faces/sha256
else
  echo "gpu-pack: no $data: the GPU check will train on the synthetic set" >&2
fi
# What travels: every file the device tool sends (tracked, and untracked ones git does not ignore) and .gpu-check.
mib() { printf '%.1f MiB' "$(echo "$1 / 1048576" | bc -l)"; }
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
for f in $(find $pack -type f | sort); do echo "gpu-pack: $(mib "$(stat -c %s "$f")")  $f" >&2; done
carried=$(find $pack -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
total=$((tree + carried))
echo "gpu-pack: $(mib "$total") travel (.gpu-check $(mib "$carried"), the working tree's files $(mib "$tree")); the device tool's limit is 64 MiB" >&2
[ "$total" -lt $((64 * 1048576)) ] || { echo "gpu-pack: $(mib "$total") is over the device tool's 64 MiB: set KEYPOINTS_GPU_DATA_ROWS to carry fewer faces$([ "$level" = 9 ] || echo ', or leave KEYPOINTS_GPU_XZ_LEVEL at 9')" >&2; exit 1; }
