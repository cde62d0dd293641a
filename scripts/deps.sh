#!/usr/bin/env bash
# Installs every build, run and test dependency from Debian's packages.
# Idempotent: when everything is present it only runs dpkg-query and exits 0.
#
# Seams (tests/integration/test_deps.py; `make fuzz` installs clang with DEPS_PKGS):
#   DEPS_POLICY_RC  the policy-rc.d path (default /usr/sbin/policy-rc.d)
#   DEPS_PKGS       a space-separated package list replacing the built-in one
set -euo pipefail

PKGS=(
  gcc make pkg-config clang-format
  libraft-dev libuv1-dev libmicrohttpd-dev libgnutls28-dev libjansson-dev libsqlite3-dev
  libmariadb-dev libcurl4-openssl-dev libcmocka-dev libssl-dev
  mariadb-server mariadb-client
  python3-pytest python3-pymysql python3-requests
  chromium chromium-driver python3-selenium
  procps curl wrk openssl systemd dpkg-dev adduser
  etcd-server etcd-client zookeeper libzookeeper-mt-dev
)
if [ -n "${DEPS_PKGS:-}" ]; then
  read -r -a PKGS <<<"$DEPS_PKGS"
fi
POLICY_RC="${DEPS_POLICY_RC:-/usr/sbin/policy-rc.d}"

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting a system-wide mariadbd: tests run their own.
# A policy file that was already there is left exactly as it was.
added_policy=0
cleanup() {
  if [ "$added_policy" = 1 ]; then
    $SUDO rm -f "$POLICY_RC"
  fi
  return 0
}
trap cleanup EXIT
if [ ! -e "$POLICY_RC" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY_RC" >/dev/null
  $SUDO chmod +x "$POLICY_RC"
  added_policy=1
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# Check rather than trust apt's status: every package must now be installed.
still=()
for p in "${missing[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    still+=("$p")
  fi
done
if [ ${#still[@]} -ne 0 ]; then
  echo "deps: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "deps: done"
