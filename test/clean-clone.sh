#!/usr/bin/env bash
# The newcomer's first steps on a clean clone, as .ci/run's last check: clone this repository's
# HEAD into a temp folder, `npm ci`, build, `npx --no-install keypoints --version` (the bin must be
# linked by `npm ci`), then the e2e tool set-up through `npm run` into an EMPTY cache
# (KEYPOINTS_E2E_CACHE), so a machine that never ran the e2e tests is what is tested.
# --full-e2e runs the whole `npm run test:e2e` on that empty cache instead of the set-up alone.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/kp-clean-clone.XXXX)
trap 'rm -rf "$TMP"' EXIT
git clone -q "$SRC" "$TMP/clone"
cd "$TMP/clone"
echo "clean clone of $(git rev-parse --short HEAD) in $TMP/clone"
npm ci --no-audit --no-fund
npm run build
v=$(npx --no-install keypoints --version)
echo "npx --no-install keypoints --version: $v"
export KEYPOINTS_E2E_CACHE=$TMP/e2e-cache
mkdir -p "$KEYPOINTS_E2E_CACHE"
if [ "${1:-}" = "--full-e2e" ]; then npm run test:e2e; else npm run test:e2e:setup; fi
[ -f "$KEYPOINTS_E2E_CACHE/.ready-v1" ] || { echo "e2e set-up did not finish in $KEYPOINTS_E2E_CACHE"; exit 1; }
echo "clean clone: npm ci, build, npx keypoints, e2e set-up on an empty cache: ok"
