#!/bin/sh
# Installs Debian's chromium for the dashboard's browser tests (tests/dashboard), as root or
# through passwordless sudo. Where neither is possible it says so and the tests are skipped
# (CI sets AGENTGUARD_REQUIRE_BROWSER=1, which turns that into a failure).
set -eu
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run="sudo -n"
else
  echo "chromium is not installed and this user cannot install it: the browser tests will be skipped" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: install chromium yourself for the browser tests" >&2
  exit 0
fi
echo "installing Debian's chromium for the browser tests…" >&2
export DEBIAN_FRONTEND=noninteractive
$run apt-get update -qq >/dev/null || true
$run apt-get install -y -qq chromium >/dev/null
