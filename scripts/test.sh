#!/usr/bin/env bash
# The test command: installs what the tests need (Debian packages, npm packages), builds,
# starts the signed test world once, and runs every test. Run as root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent

# One signed world for the whole run (each test file reuses it; see test/world/). A world left running
# from earlier is restarted: its upstream's cache has aged, and the cache tests count on full TTLs.
node dist/test/world/cli.js stop >/dev/null 2>&1 || true
node dist/test/world/cli.js start
trap 'node dist/test/world/cli.js stop || true' EXIT

node scripts/run-tests.mjs "$@"
