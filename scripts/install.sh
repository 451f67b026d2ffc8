#!/usr/bin/env bash
# Installs everything dailypapers and its tests need: the package with its test extras (pip), axe-core for the
# browser tests' accessibility checks (npm, into tools/axe) and, when run as root on Debian, Chromium, wrk, npm
# and HAProxy.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)  # the several-machines test's load balancer
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi

# The CPU build of PyTorch first: with it installed, the package's torch requirement is already met.
python3 -m pip install --quiet --disable-pip-version-check 'torch==2.13.0'
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
# axe-core, at the version tools/axe/package-lock.json pins (the tests read tools/axe/node_modules).
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix tools/axe --no-audit --no-fund --silent
else
  echo "npm not found: the browser tests' accessibility checks will be skipped (CI fails them)" >&2
fi
echo "dailypapers installed: run 'dailypapers demo' and open http://127.0.0.1:8000/"
