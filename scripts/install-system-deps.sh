#!/usr/bin/env bash
# Installs the Debian packages the test suite drives, when they are missing.
# As root it uses apt-get; otherwise it says what is missing and carries on,
# and the tests that need a missing program are skipped with that reason
# (under CI=true they fail instead).
set -euo pipefail

# program -> Debian package
declare -A PACKAGES=(
  [java]=default-jre-headless
  [npm]=npm
  [chromium]=chromium
  [nginx]=nginx
  [redis-server]=redis-server
  # The server's binaries live in /usr/lib/postgresql/<version>/bin, off PATH;
  # pg_ctlcluster comes with the server package (postgresql-common).
  [pg_ctlcluster]=postgresql
  [systemd-analyze]=systemd
  [openssl]=openssl
  [sqlite3]=sqlite3
  # The benchmarks' load generator, and the instruction counter of
  # bench.vote_instructions (tests/test_bench_smoke.py runs both).
  [wrk]=wrk
  [valgrind]=valgrind
)

missing=()
for program in "${!PACKAGES[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${PACKAGES[$program]}")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "NOTE: not root, so not installing: ${missing[*]}. Tests that need them will be skipped." >&2
  exit 0
fi

echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
