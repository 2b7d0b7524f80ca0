#!/usr/bin/env bash
# Installs what the benchmarks drive: wrk (load generator) and valgrind
# (instruction counts) from Debian, py-spy (profiler) from PyPI, Lighthouse
# from npm (pinned in bench/package.json). As root it uses apt-get; otherwise
# it says what is missing and carries on (the benchmark that needs it will
# then say so).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A PACKAGES=([wrk]=wrk [valgrind]=valgrind [chromium]=chromium [node]=nodejs [npm]=npm)
missing=()
for program in "${!PACKAGES[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${PACKAGES[$program]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "NOTE: not root, so not installing: ${missing[*]}" >&2
  fi
fi

if [ -x .venv/bin/pip ] && [ ! -x .venv/bin/py-spy ]; then
  .venv/bin/pip install --quiet -e '.[bench]'
fi

if command -v npm >/dev/null 2>&1 && [ ! -x bench/node_modules/.bin/lighthouse ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi
