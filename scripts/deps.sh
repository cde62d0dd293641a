#!/usr/bin/env bash
# Installs every build, run and test dependency from Debian's packages.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

PKGS=(
  gcc make pkg-config clang-format
  libraft-dev libuv1-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev
  libmariadb-dev libcurl4-openssl-dev libcmocka-dev
  mariadb-server mariadb-client
  python3-pytest python3-pymysql python3-requests
  chromium chromium-driver python3-selenium
  procps curl wrk
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting a system-wide mariadbd: tests run their own.
added_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  added_policy=1
fi
cleanup() { [ "$added_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
